#!/usr/bin/env bun
/**
 * rmcp-mux: `rmcp-mux --config mux.toml` runs the daemon; subcommands are loaded only when named,
 * so `--help` and the light commands never pay for what the daemon imports.
 */
import { defineCommand, renderUsage, runMain } from "citty";
import { COMMIT, VERSION } from "../version.ts";
import { daemonArgs } from "./commands/daemon-args.ts";

const subCommands = {
  proxy: () => import("./commands/proxy.ts").then((m) => m.default),
  "daemon-status": () => import("./commands/daemon-status.ts").then((m) => m.default),
  reload: () => import("./commands/reload.ts").then((m) => m.default),
  health: () => import("./commands/health.ts").then((m) => m.default),
  "http-token": () => import("./commands/http-token.ts").then((m) => m.default),
  scan: () => import("./commands/scan.ts").then((m) => m.default),
  rewire: () => import("./commands/rewire.ts").then((m) => m.default),
  wizard: () => import("./commands/wizard.ts").then((m) => m.default),
  check: () => import("./commands/check.ts").then((m) => m.default),
  dashboard: () => import("./commands/dashboard.ts").then((m) => m.default),
  service: () => import("./commands/service.ts").then((m) => m.default),
  uninstall: () => import("./commands/uninstall.ts").then((m) => m.default),
};

const main = defineCommand({
  meta: { name: "rmcp-mux", version: VERSION, description: "Run MCP servers once, share them with every MCP host over Unix sockets" },
  args: daemonArgs,
  subCommands,
  async run({ args }) {
    // citty runs the parent's run after a subcommand too: a positional means one already ran.
    if (args._.length > 0) return;
    const talksToDaemon = args["show-status"] || args["restart-service"];
    if (!args.config && !(talksToDaemon && args["status-socket"])) {
      process.stderr.write("rmcp-mux: --config PATH is required (see rmcp-mux --help)\n");
      process.exit(2);
    }
    const { runDaemonCommand } = await import("./commands/daemon.ts");
    process.exitCode = await runDaemonCommand(args);
  },
});

// A reader that stops early (`rmcp-mux check … | head -1`) is not an error: stop quietly, as other tools do.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

/** ANSI styling only for a person at a terminal who has not asked for none (https://no-color.org). */
const useColour = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

// `--version` / `-v` alone: the version and the git commit baked in by build.ts (citty would print only the version).
let argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) console.log(`rmcp-mux ${VERSION} (${COMMIT})`);
else {
  const { checkArgs } = await import("./strict-args.ts");
  const { command, unknown } = await checkArgs(main, argv);
  // The original's README spells the status flag `--status`.
  if (command.length === 0) argv = argv.map((a) => (a === "--status" ? "--show-status" : a));
  const named = ["rmcp-mux", ...command].join(" ");
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  if (unknown && !wantsHelp && !(command.length === 0 && unknown.token === "--status")) {
    process.stderr.write(`${named}: unknown ${unknown.kind} ${unknown.token} (see ${named} --help)\n`);
    process.exit(2);
  }
  await runMain(main, {
    rawArgs: argv,
    showUsage: async (cmd, parent) => {
      const text = await renderUsage(cmd, parent);
      process.stdout.write(`${useColour() ? text : plain(text)}\n\n`);
    },
  });
}
