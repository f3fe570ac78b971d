/**
 * `rmcp-mux wizard`: scan, pick servers, pick a socket folder, pick hosts to rewire, read a summary, then write the
 * config — and rewire only after a second, explicit yes. `--yes` runs the same steps from flags, for scripts.
 */
import { defineCommand } from "citty";
import { createInterface } from "node:readline";
import path from "node:path";
import { expandHome } from "../../config/paths.ts";
import { CONTEXT_ARGS, defaultManifest, defaultProxy, defaultSocketDir, hostContext, tildify } from "../../hosts/context.ts";
import { readManifest, rewireFile, writeManifest } from "../../hosts/apply.ts";
import { discover } from "../../hosts/discover.ts";
import { serverKey } from "../../hosts/entry.ts";
import { HOSTS } from "../../hosts/index.ts";
import type { HostContext, HostFileResult } from "../../hosts/types.ts";
import { planServers } from "../../onboard/merge.ts";
import { askSocketDir, ask, hostRows, InputEnded, type Io, isYes, pick, serverRows, summary } from "../../onboard/wizard-ui.ts";
import { cliErrors, UsageError } from "../resolve.ts";
import { describeOutcome } from "./rewire.ts";

export type { Io };

export interface WizardOptions {
  ctx: HostContext;
  config: string;
  socketDir?: string | undefined;
  proxy: string;
  yes: boolean;
  servers?: string[] | undefined;
  rewire?: string[] | undefined;
}

export async function runWizard(o: WizardOptions, io: Io): Promise<number> {
  const home = o.ctx.home;
  const show = (p: string) => tildify(p, home);

  const results = await discover(o.ctx);
  const existing = await readManifest(o.config);
  const entries = results.flatMap((r) => r.entries);
  let socketDir = path.resolve(expandHome(o.socketDir ?? defaultSocketDir(home)));
  let planned = planServers(entries, socketDir, existing?.servers);
  io.say(`rmcp-mux wizard: run each MCP server once and share it with every host.\nConfig: ${show(o.config)}${existing ? ` (exists, ${existing.servers.length} server(s))` : " (new)"}`);
  io.say(`Host configs found: ${results.length ? results.map((r) => `${r.host.id} ${show(r.spec.path)}`).join(", ") : "none"}`);
  for (const r of results) if (r.error) io.say(`  ! ${show(r.spec.path)}: ${r.error} (skipped)`);

  let fresh = planned.filter((s) => !s.existing);
  if (fresh.length === 0 && !existing) {
    io.say(`No stdio MCP servers found under ${home}; nothing to do.`);
    return 0;
  }
  let chosen = fresh.map(() => true);
  if (o.yes && o.servers) {
    const unknown = o.servers.filter((n) => !fresh.some((s) => s.name === n));
    if (unknown.length) throw new UsageError(`--servers names unknown server(s) ${unknown.join(", ")}; found: ${fresh.map((s) => s.name).join(", ")}`);
    chosen = fresh.map((s) => o.servers!.includes(s.name));
  } else if (!o.yes && fresh.length) {
    chosen = await pick(io, "Servers found ([x] = run it under rmcp-mux):", serverRows(fresh), chosen);
  }

  if (!o.yes && chosen.some(Boolean)) {
    socketDir = await askSocketDir(io, socketDir, fresh, show);
    planned = planServers(entries, socketDir, existing?.servers);
    fresh = planned.filter((s) => !s.existing);
  }
  const added = fresh.filter((_, i) => chosen[i]);

  // Hosts worth offering: files with at least one stdio entry the config will serve.
  const served = new Set([...(existing?.servers ?? []).map(serverKey), ...added.map((s) => s.key)]);
  const candidates = results.filter((r) => !r.error && r.entries.some((e) => e.kind === "stdio" && served.has(serverKey(e))));
  let rewire: HostFileResult[] = [];
  if (o.yes) {
    const bad = (o.rewire ?? []).filter((id) => !HOSTS.some((h) => h.id === id));
    if (bad.length) throw new UsageError(`--rewire names unknown host(s) ${bad.join(", ")}; hosts: ${HOSTS.map((h) => h.id).join(", ")}`);
    rewire = candidates.filter((r) => o.rewire?.includes(r.host.id));
    for (const id of o.rewire ?? []) if (!rewire.some((r) => r.host.id === id)) io.say(`${id}: no config file with servers from this config; nothing to rewire.`);
  } else if (candidates.length) {
    const title = "Hosts to rewire ([x] = replace those entries with rmcp-mux-proxy; a backup is kept):";
    const picked = await pick(io, title, hostRows(candidates, served, show), candidates.map(() => false));
    rewire = candidates.filter((_, i) => picked[i]);
  }

  io.say(
    `\n${summary({
      config: show(o.config),
      configExists: existing !== undefined,
      added: added.map((s) => s.name),
      kept: planned.filter((s) => s.existing).map((s) => s.name),
      socketDir: show(socketDir),
      rewire: rewire.map((r) => `${r.host.id} (${show(r.spec.path)})`),
      proxy: o.proxy,
    })}`,
  );
  if (added.length === 0 && !existing) {
    io.say("No servers selected; nothing written.");
    return 0;
  }
  if (!o.yes && !isYes(await ask(io, "\nWrite the config? [y/N] "))) {
    io.say("Nothing written.");
    return 0;
  }
  const keep = new Set(added);
  const { written } = await writeManifest(o.config, planned.filter((s) => s.existing || keep.has(s)), existing, home, "rmcp-mux wizard");
  io.say(written ? `Wrote ${show(o.config)} (${added.length} new server(s), mode 0600).` : `${show(o.config)} already had everything; unchanged.`);

  let failed = false;
  let rewired = 0;
  if (rewire.length) {
    const go = o.yes || isYes(await io.ask(`\nRewire ${rewire.length} host file(s) now? A backup is written next to each. [y/N] `));
    if (!go) io.say(`Host files left unchanged. Later: rmcp-mux rewire --host NAME --config ${show(o.config)}`);
    else {
      const state = (await readManifest(o.config))!;
      for (const r of rewire) {
        const out = await rewireFile(r.host, r.spec, state.servers, o.proxy, { dryRun: false, manifestLabel: show(o.config), manifest: o.config });
        if (out.error) io.say(`! ${show(out.file)}: ${out.error}`);
        else io.say(describeOutcome(out, home, false).trimEnd());
        failed ||= Boolean(out.error);
        rewired += out.plan?.changes.length ?? 0;
      }
    }
  }
  io.say(`\nNext: start the daemon with  rmcp-mux --config ${show(o.config)}${rewired ? "\nthen restart the rewired hosts so they pick up the proxy entries." : ""}`);
  return failed ? 1 : 0;
}

function terminalIo(): Io & { close(): void } {
  const tty = Boolean(process.stdin.isTTY);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  // Lines are queued, not handed to rl.question: piped answers can arrive before their questions are asked.
  const lines: string[] = [];
  let waiter: ((l: string | null) => void) | undefined;
  let closed = false;
  rl.on("line", (l) => (waiter ? (waiter(l), (waiter = undefined)) : lines.push(l)));
  rl.on("close", () => {
    closed = true;
    waiter?.(null);
  });
  rl.on("SIGINT", () => {
    process.stdout.write("\nrmcp-mux wizard: interrupted\n");
    process.exit(130);
  });
  return {
    async ask(prompt) {
      if (closed) process.stdout.write(prompt);
      else {
        rl.setPrompt(prompt);
        rl.prompt();
      }
      const line = lines.length ? lines.shift()! : closed ? null : await new Promise<string | null>((r) => (waiter = r));
      // A terminal echoes what was typed; piped answers are echoed so the transcript reads like a session.
      if (!tty) process.stdout.write(`${line ?? ""}\n`);
      return line;
    },
    say: (t) => void process.stdout.write(`${t}\n`),
    close: () => rl.close(),
  };
}

const list = (s: string | undefined) => s?.split(",").map((x) => x.trim()).filter(Boolean);

export default defineCommand({
  meta: { name: "wizard", description: "Interactively adopt rmcp-mux: pick servers and hosts, write mux.toml, rewire" },
  args: {
    config: { type: "string", description: "The mux.toml to write or extend (default ~/.rmcp-servers/rmcp-mux/mux.toml)", valueHint: "PATH" },
    "socket-dir": { type: "string", description: "Folder for sockets (default ~/.rmcp-servers/rmcp-mux/sockets)", valueHint: "DIR" },
    proxy: { type: "string", description: "rmcp-mux-proxy for rewired entries (default: next to rmcp-mux, on PATH, or ~/.local/bin)", valueHint: "PATH" },
    yes: { type: "boolean", description: "No questions: write the config (and rewire the --rewire hosts) from flags" },
    servers: { type: "string", description: "With --yes: only these servers (default: all found)", valueHint: "a,b" },
    rewire: { type: "string", description: "With --yes: rewire these hosts (default: none)", valueHint: "host,host" },
    ...CONTEXT_ARGS,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const ctx: HostContext = hostContext(args);
      const io = args.yes ? { ask: async () => null, say: (t: string) => void process.stdout.write(`${t}\n`), close() {} } : terminalIo();
      try {
        return await runWizard(
          {
            ctx,
            config: path.resolve(expandHome(args.config ?? defaultManifest(ctx.home))),
            socketDir: args["socket-dir"],
            proxy: args.proxy ? path.resolve(expandHome(args.proxy)) : defaultProxy(ctx.home),
            yes: Boolean(args.yes),
            servers: list(args.servers),
            rewire: list(args.rewire),
          },
          io,
        );
      } catch (e) {
        if (!(e instanceof InputEnded)) throw e;
        process.stderr.write(`\nrmcp-mux wizard: ${e.message}\n`);
        return 1;
      } finally {
        io.close();
      }
    });
  },
});
