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
import { atomicWrite, backupFile } from "./files.ts";
import { formatOf } from "./format.ts";
import type { HostDef, HostFileSpec } from "./types.ts";

export interface ManifestState {
  file: string;
  text: string;
  servers: ExistingServer[];
}

/** The manifest as our own loader sees it; undefined when there is none yet. Throws ConfigError when it is invalid. */
export async function readManifest(file: string): Promise<ManifestState | undefined> {
  if (!existsSync(file)) return undefined;
  const text = await readFile(file, "utf8");
  const cfg = await parseConfigText(text, file, "toml");
  return { file, text, servers: cfg.servers.map((s) => ({ name: s.name, cmd: s.cmd, args: s.args, cwd: s.cwd, env: s.env, socket: s.socket })) };
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
  opts: { dryRun: boolean; manifestLabel: string },
): Promise<RewireOutcome> {
  const out: RewireOutcome = { host, file: spec.path, diff: "" };
  const read = await readHostFile(host, spec);
  if (!read) return { ...out, error: "file not found" };
  if (read.error || read.text === undefined) return { ...out, error: `${read.error ?? "unreadable"}; the file was left untouched` };
  try {
    out.plan = planRewire(host, { text: read.text, entries: read.entries }, servers, proxy, opts.manifestLabel);
  } catch (e) {
    return { ...out, error: (e as Error).message };
  }
  const fmt = formatOf(host.format);
  out.diff = unifiedDiff(fmt.maskSecrets(out.plan.before), fmt.maskSecrets(out.plan.after), spec.path, `${spec.path} (rewired)`);
  if (opts.dryRun || out.plan.after === out.plan.before) return out;
  // Hosts rewrite their own files (Claude Code saves ~/.claude.json often): never write over a newer version.
  if ((await readFile(spec.path, "utf8")) !== read.text) return { ...out, error: "the file changed while it was being rewired; run again" };
  out.backup = await backupFile(spec.path);
  await atomicWrite(spec.path, out.plan.after);
  return out;
}
