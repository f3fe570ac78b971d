/**
 * `rmcp-mux rewire --host NAME`: point a host's stdio servers at rmcp-mux (proxy entries on the sockets from
 * mux.toml), with a timestamped backup first; `--dry-run` shows the diff; `--restore` puts the newest backup back.
 */
import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import path from "node:path";
import { expandHome } from "../../config/paths.ts";
import { CONTEXT_ARGS, defaultManifest, defaultProxy, hostContext, tildify } from "../../hosts/context.ts";
import { HOSTS, hostById } from "../../hosts/index.ts";
import type { HostContext, HostDef, HostFileSpec } from "../../hosts/types.ts";
import type { RewireOutcome } from "../../hosts/apply.ts";
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
    "dry-run": { type: "boolean", description: "Print a unified diff (env values masked) and write nothing" },
    restore: { type: "boolean", description: "Put the newest backup of the host's file back" },
    ...CONTEXT_ARGS,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const host = args.host ? hostById(args.host) : undefined;
      if (!host) throw new UsageError(`--host must be one of ${HOSTS.map((h) => h.id).join(", ")}${args.host ? ` (was "${args.host}")` : ""}`);
      const ctx: HostContext = hostContext(args);
      const files = hostFiles(host, ctx, args.path);
      if (args.restore) return restore(files, ctx.home);
      const { readManifest, rewireFile } = await import("../../hosts/apply.ts");
      const manifest = path.resolve(expandHome(args.config ?? defaultManifest(ctx.home)));
      const state = await readManifest(manifest);
      if (!state) throw new UsageError(`no mux.toml at ${manifest}; write one first: rmcp-mux scan --manifest ${manifest} (or rmcp-mux wizard)`);
      const proxy = args.proxy ? path.resolve(expandHome(args.proxy)) : defaultProxy(ctx.home);
      if (!existsSync(proxy)) process.stderr.write(`rmcp-mux rewire: warning: ${proxy} does not exist yet; install rmcp-mux-proxy there before restarting ${host.label}\n`);
      let failed = false;
      for (const spec of files) {
        const dryRun = Boolean(args["dry-run"]);
        const o = await rewireFile(host, spec, state.servers, proxy, { dryRun, manifestLabel: tildify(manifest, ctx.home) });
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

async function restore(files: HostFileSpec[], home: string): Promise<number> {
  const { restoreLatest } = await import("../../hosts/files.ts");
  let missing = false;
  for (const f of files) {
    const r = await restoreLatest(f.path);
    if (!r) {
      missing = true;
      process.stderr.write(`rmcp-mux rewire: no rmcp-mux backup of ${f.path} to restore\n`);
    } else
      process.stdout.write(
        `${tildify(f.path, home)}: restored from ${tildify(r.backup, home)}${r.saved ? ` (the replaced version is in ${tildify(r.saved, home)})` : " (it was already identical)"}\n`,
      );
  }
  return missing ? 1 : 0;
}
