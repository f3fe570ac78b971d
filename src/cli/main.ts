#!/usr/bin/env bun
/**
 * rmcp-mux: `rmcp-mux --config mux.toml` runs the daemon; subcommands are loaded only when named,
 * so `--help` and the light commands never pay for what the daemon imports.
 */
import { defineCommand, runMain } from "citty";
import { COMMIT, VERSION } from "../version.ts";
import { daemonArgs } from "./commands/daemon-args.ts";

const subCommands = {
  proxy: () => import("./commands/proxy.ts").then((m) => m.default),
  "daemon-status": () => import("./commands/daemon-status.ts").then((m) => m.default),
  reload: () => import("./commands/reload.ts").then((m) => m.default),
  health: () => import("./commands/health.ts").then((m) => m.default),
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

// `--version` / `-v` alone: the version and the git commit baked in by build.ts (citty would print only the version).
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) console.log(`rmcp-mux ${VERSION} (${COMMIT})`);
else await runMain(main);
