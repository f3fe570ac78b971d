/**
 * `rmcp-mux rewire --host NAME`: point a host's stdio servers at rmcp-mux (proxy entries on the sockets from
 * mux.toml, or with `--transport http` URL entries on its HTTP front), with a timestamped backup and a record of each changed entry first; `--dry-run` shows the diff;
 * `--restore` undoes exactly the recorded entries that are still as rewire wrote them.
 */
import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import path from "node:path";
import { expandHome } from "../../config/paths.ts";
import { CONTEXT_ARGS, defaultManifest, defaultProxy, hostContext, tildify } from "../../hosts/context.ts";
import { HOSTS, hostById } from "../../hosts/index.ts";
import type { HostContext, HostDef, HostFileSpec } from "../../hosts/types.ts";
import type { ManifestState, RewireOutcome } from "../../hosts/apply.ts";
import type { HttpTarget } from "../../onboard/rewire.ts";
import { clientBase } from "../../config/http.ts";
import { cliErrors, UsageError } from "../resolve.ts";

/**
 * The host's files to act on: the one given with --path, else those of its location table that exist, each once
 * (run from $HOME, a host's user and project files are the same path).
 */
export function hostFiles(host: HostDef, ctx: HostContext, given?: string): HostFileSpec[] {
  if (given) return [{ path: path.resolve(expandHome(given)), scope: "user" }];
  const found = host.files(ctx).filter((f, i, all) => existsSync(f.path) && all.findIndex((g) => g.path === f.path) === i);
  if (found.length === 0) {
    const tried = host.files(ctx).map((f) => tildify(f.path, ctx.home)).join(", ");
    throw new UsageError(`no ${host.label} config found (looked for ${tried}); name one with --path FILE`);
  }
  return found;
}

/** One file's result as lines for a person: what changed, what was kept and why. */
export function describeOutcome(o: RewireOutcome, home: string, dryRun: boolean): string {
  const file = tildify(o.file, home);
  if (o.error) return "";
  const p = o.plan!;
  const lines: string[] = [];
  const label = (e: { name: string; scope: string }) => (e.scope.startsWith("project ") ? `${e.name} (${e.scope})` : e.name);
  if (p.changes.length === 0) lines.push(`${file}: nothing to rewire${p.alreadyWired.length ? ` (${p.alreadyWired.length} already use rmcp-mux)` : ""}`);
  else if (dryRun) lines.push(`${file}: would rewire ${p.changes.map((c) => label(c.entry)).join(", ")} (dry run, nothing written)`);
  else lines.push(`${file}: rewired ${p.changes.map((c) => label(c.entry)).join(", ")}; backup: ${tildify(o.backup!, home)}`);
  for (const s of p.skipped) lines.push(`  kept ${label(s.entry)}: ${s.reason}`);
  if (p.remote.length) lines.push(`  left as is (remote): ${p.remote.map(label).join(", ")}`);
  return `${lines.join("\n")}\n`;
}

export default defineCommand({
  meta: { name: "rewire", description: "Point a host's stdio servers at rmcp-mux (backup first; --dry-run shows the diff)" },
  args: {
    host: { type: "string", description: `Which host: ${HOSTS.map((h) => h.id).join(", ")}`, valueHint: "NAME" },
    path: { type: "string", description: "The host's config file (default: its usual location)", valueHint: "FILE" },
    config: { type: "string", description: "The mux.toml whose sockets to use (default ~/.rmcp-servers/rmcp-mux/mux.toml)", valueHint: "PATH" },
    proxy: { type: "string", description: "rmcp-mux-proxy to run (default: next to rmcp-mux, on PATH, or ~/.local/bin)", valueHint: "PATH" },
    transport: { type: "string", description: 'How the host reaches rmcp-mux: "proxy" (default, stdio) or "http" (a URL on the daemon\'s [http] front)', valueHint: "proxy|http" },
    "dry-run": { type: "boolean", description: "Print a unified diff (env values masked) and write nothing" },
    restore: { type: "boolean", description: "Undo the entries rewire changed (entries changed since are refused; the rest stays)" },
    ...CONTEXT_ARGS,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const host = args.host ? hostById(args.host) : undefined;
      if (!host) throw new UsageError(`--host must be one of ${HOSTS.map((h) => h.id).join(", ")}${args.host ? ` (was "${args.host}")` : ""}`);
      const transport = args.transport ?? "proxy";
      if (transport !== "proxy" && transport !== "http") throw new UsageError(`--transport must be "proxy" or "http" (was "${transport}")`);
      if (transport === "http" && host.httpEntry === undefined) {
        process.stderr.write(
          `rmcp-mux rewire: ${host.label} takes no URL entries (${host.id === "claude-desktop" ? "its local config is stdio only" : "none that rmcp-mux knows how to write"}), so it keeps the proxy: ` +
            `run rmcp-mux rewire --host ${host.id} without --transport http\n`,
        );
        return 2;
      }
      const ctx: HostContext = hostContext(args);
      const files = hostFiles(host, ctx, args.path);
      if (args.restore) return restore(host, files, ctx.home, Boolean(args["dry-run"]));
      const { readManifest, rewireFile } = await import("../../hosts/apply.ts");
      const manifest = path.resolve(expandHome(args.config ?? defaultManifest(ctx.home)));
      const state = await readManifest(manifest);
      if (!state) throw new UsageError(`no mux.toml at ${manifest}; write one first: rmcp-mux scan --manifest ${manifest} (or rmcp-mux wizard)`);
      const proxy = args.proxy ? path.resolve(expandHome(args.proxy)) : defaultProxy(ctx.home);
      const http = transport === "http" ? await httpTarget(state, tildify(manifest, ctx.home)) : undefined;
      if (!http && !existsSync(proxy)) process.stderr.write(`rmcp-mux rewire: warning: ${proxy} does not exist yet; install rmcp-mux-proxy there before restarting ${host.label}\n`);
      let failed = false;
      for (const spec of files) {
        const dryRun = Boolean(args["dry-run"]);
        const o = await rewireFile(host, spec, state.servers, proxy, { dryRun, manifestLabel: tildify(manifest, ctx.home), manifest, ...(http ? { http } : {}) });
        if (o.error) {
          failed = true;
          process.stderr.write(`rmcp-mux rewire: ${o.file}: ${o.error}\n`);
          continue;
        }
        if (dryRun) process.stdout.write(o.diff);
        process.stdout.write(describeOutcome(o, ctx.home, dryRun));
      }
      return failed ? 1 : 0;
    });
  },
});

/** Where `--transport http` entries point: the manifest's [http] front, with its token (made when missing). */
async function httpTarget(state: ManifestState, label: string): Promise<HttpTarget> {
  const h = state.http;
  if (h === null)
    throw new UsageError(`${label} has no [http] listen: add\n[http]\nlisten = "127.0.0.1:7337"\nto it, restart the daemon, and run this again`);
  if (h.port === 0) throw new UsageError(`${label}: [http] listen has port 0 (a new port each start); name a fixed port for hosts to use`);
  const { ensureToken } = await import("../../runtime/links/http-token.ts");
  return { base: clientBase(h), token: ensureToken(h.tokenFile) };
}

async function restore(host: HostDef, files: HostFileSpec[], home: string, dryRun: boolean): Promise<number> {
  const { restoreFile } = await import("../../hosts/apply.ts");
  let failed = false;
  for (const f of files) {
    const o = await restoreFile(host, f, { dryRun });
    const file = tildify(f.path, home);
    if (o.error) {
      failed = true;
      process.stderr.write(`rmcp-mux rewire: ${f.path}: ${o.error}\n`);
      continue;
    }
    const p = o.plan!;
    if (dryRun) process.stdout.write(o.diff);
    const lines: string[] = [];
    if (p.restored.length === 0) lines.push(`${file}: nothing to restore${p.already.length ? ` (${p.already.join(", ")} already as before the rewire)` : ""}`);
    else if (dryRun) lines.push(`${file}: would restore ${p.restored.join(", ")} (dry run, nothing written)`);
    else lines.push(`${file}: restored ${p.restored.join(", ")}${o.saved ? `; the version before this restore is in ${tildify(o.saved, home)}` : ""}`);
    for (const r of p.refused) lines.push(`  refused ${r.entry}: ${r.reason}`);
    if (p.refused.length) {
      failed = true;
      lines.push("  Put those entries back by hand if you want them as before the rewire; everything else in the file was left as it is now.");
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return failed ? 1 : 0;
}
