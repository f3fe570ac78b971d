/**
 * The file-touching half of onboarding, shared by scan, rewire and the wizard: reading and extending mux.toml,
 * and rewiring one host file (backup first, atomic write, never over a file that changed under us).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseConfigText } from "../config/load.ts";
import { unifiedDiff } from "../onboard/diff.ts";
import { appendServers, renderManifest } from "../onboard/manifest.ts";
import type { ExistingServer, PlannedServer } from "../onboard/merge.ts";
import { planRewire, type RewirePlan } from "../onboard/rewire.ts";
import { readHostFile } from "./discover.ts";
import { planRestore, type RestorePlan, type RewireRecord, sha256 } from "../onboard/restore.ts";
import { atomicWrite, backupFile, doneRecordOf, listBackups, markRecordDone, recordOf, writeRecord } from "./files.ts";
import { formatOf } from "./format.ts";
import type { HostDef, HostFileSpec } from "./types.ts";
import type { HttpConfig } from "../config/http.ts";
import type { HttpTarget } from "../onboard/rewire.ts";

export interface ManifestState {
  file: string;
  text: string;
  servers: ExistingServer[];
  /** Its [http] settings when it sets `listen` (what `--transport http` entries point at). */
  http: HttpConfig | null;
}

/** The manifest as our own loader sees it; undefined when there is none yet. Throws ConfigError when it is invalid. */
export async function readManifest(file: string): Promise<ManifestState | undefined> {
  if (!existsSync(file)) return undefined;
  const text = await readFile(file, "utf8");
  const cfg = await parseConfigText(text, file, "toml");
  const servers = cfg.servers.map((s) => ({ name: s.name, cmd: s.cmd, args: s.args, cwd: s.cwd, env: s.env, socket: s.socket }));
  return { file, text, servers, http: cfg.http };
}

/**
 * Write the manifest: a new file, or the existing one with tables for the servers it lacks appended. The text is
 * validated by the daemon's own config loader first, so a file the daemon would refuse is never written.
 */
export async function writeManifest(
  file: string,
  planned: readonly PlannedServer[],
  existing: ManifestState | undefined,
  home: string,
  by: string,
): Promise<{ written: boolean; added: PlannedServer[] }> {
  const added = planned.filter((s) => !s.existing);
  if (existing && added.length === 0) return { written: false, added };
  const text = existing ? appendServers(existing.text, added, home) : renderManifest(added, file, home, by);
  await parseConfigText(text, file, "toml");
  await atomicWrite(file, text, 0o600);
  return { written: true, added };
}

export interface RewireOutcome {
  host: HostDef;
  file: string;
  plan?: RewirePlan;
  /** With env and header values masked. */
  diff: string;
  backup?: string;
  error?: string;
}

export async function rewireFile(
  host: HostDef,
  spec: HostFileSpec,
  servers: readonly ExistingServer[],
  proxy: string,
  opts: { dryRun: boolean; manifestLabel: string; manifest?: string; http?: HttpTarget },
): Promise<RewireOutcome> {
  const out: RewireOutcome = { host, file: spec.path, diff: "" };
  const read = await readHostFile(host, spec);
  if (!read) return { ...out, error: "file not found" };
  if (read.error || read.text === undefined) return { ...out, error: `${read.error ?? "unreadable"}; the file was left untouched` };
  try {
    out.plan = planRewire(host, { text: read.text, entries: read.entries }, servers, proxy, opts.manifestLabel, opts.manifest, opts.http);
  } catch (e) {
    return { ...out, error: (e as Error).message };
  }
  const fmt = formatOf(host.format);
  out.diff = unifiedDiff(fmt.maskSecrets(out.plan.before), fmt.maskSecrets(out.plan.after), spec.path, `${spec.path} (rewired)`);
  if (opts.dryRun || out.plan.after === out.plan.before) return out;
  // Hosts rewrite their own files (Claude Code saves ~/.claude.json often): never write over a newer version.
  if ((await readFile(spec.path, "utf8")) !== read.text) return { ...out, error: "the file changed while it was being rewired; run again" };
  out.backup = await backupFile(spec.path);
  const record: RewireRecord = {
    version: 1,
    host: host.id,
    file: spec.path,
    afterSha256: sha256(out.plan.after),
    entries: out.plan.changes.map((c) => ({ container: c.entry.container, name: c.entry.name, original: c.entry.raw, written: c.written })),
  };
  // The record first: a rewire whose record is missing could not be undone entry by entry.
  await writeRecord(out.backup, record);
  await atomicWrite(spec.path, out.plan.after);
  return out;
}

export interface RestoreOutcome {
  file: string;
  plan?: RestorePlan;
  /** With env and header values masked. */
  diff: string;
  /** Where the file as it was before this restore was saved. */
  saved?: string;
  error?: string;
}

/**
 * Undo the rewires recorded for one host file, newest first, entry by entry (see onboard/restore.ts). With
 * `dryRun` nothing is written: not the file, not a backup, not the records.
 */
export async function restoreFile(host: HostDef, spec: HostFileSpec, opts: { dryRun: boolean }): Promise<RestoreOutcome> {
  const out: RestoreOutcome = { file: spec.path, diff: "" };
  const backups = (await listBackups(spec.path)).reverse();
  const active = backups.filter((b) => existsSync(recordOf(b)));
  if (backups.length === 0) return { ...out, error: "no rmcp-mux backup to restore" };
  if (active.length === 0) {
    const legacy = backups.filter((b) => !existsSync(doneRecordOf(b)));
    if (legacy.length === 0) return { ...out, plan: planRestore(formatOf(host.format), "", []) };
    return {
      ...out,
      error: `its backups come from an rmcp-mux that did not record which entries it changed, so they cannot be undone one by one; the newest is ${legacy[0]}: copy it back by hand to get the whole file as it was then`,
    };
  }
  const read = await readHostFile(host, spec);
  if (!read || read.error || read.text === undefined) return { ...out, error: `${read?.error ?? "file not found"}; the file was left untouched` };
  const records = await Promise.all(
    active.map(async (b) => ({
      backup: b,
      record: JSON.parse(await readFile(recordOf(b), "utf8")) as RewireRecord,
      backupText: await readFile(b, "utf8").catch(() => undefined),
    })),
  );
  const fmt = formatOf(host.format);
  try {
    out.plan = planRestore(fmt, read.text, records);
  } catch (e) {
    return { ...out, error: (e as Error).message };
  }
  out.diff = unifiedDiff(fmt.maskSecrets(out.plan.before), fmt.maskSecrets(out.plan.after), spec.path, `${spec.path} (restored)`);
  if (opts.dryRun) return out;
  if (out.plan.after !== out.plan.before) {
    if ((await readFile(spec.path, "utf8")) !== read.text) return { ...out, error: "the file changed while it was being restored; run again" };
    out.saved = await backupFile(spec.path, new Date(), ".pre-restore.bak");
    await atomicWrite(spec.path, out.plan.after);
  }
  const done = new Set(out.plan.done);
  for (const r of records) if (done.has(r.record)) await markRecordDone(r.backup);
  return out;
}
