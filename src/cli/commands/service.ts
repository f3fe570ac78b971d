/**
 * `rmcp-mux service install|uninstall|status`: run the daemon as a systemd user unit (Linux) or a launchd agent
 * (macOS), restarted when it fails. Templates: tools/systemd/rmcp-mux.service.in, tools/launchd/rmcp-mux.plist.in.
 */
import os from "node:os";
import path from "node:path";
import { defineCommand } from "citty";
import { expandHome, homeDir } from "../../config/paths.ts";
import { describePlan, executePlan, planInstall, planUninstall, shellLine } from "../../service/actions.ts";
import { buildSpec, locate, parsePlatform, type ServiceLocation } from "../../service/platform.ts";
import { renderLaunchdPlist, renderSystemdUnit } from "../../service/render.ts";
import { cliErrors, UsageError } from "../resolve.ts";
import { isCompiled, selfCommand } from "../self.ts";

const common = {
  name: { type: "string", description: 'The service\'s name, so several daemons can coexist (default "rmcp-mux")', valueHint: "NAME" },
  "dry-run": { type: "boolean", description: "Print the unit file and the commands instead of writing and running them" },
  platform: { type: "string", description: "systemd or launchd (default: this machine's; another one only makes sense with --dry-run)" },
} as const;

const out = (line: string) => process.stdout.write(`${line}\n`);

function locationOf(args: { name?: string; platform?: string }): ServiceLocation {
  return locate(parsePlatform(args.platform), args.name ?? "rmcp-mux", { home: homeDir(), xdgConfigHome: process.env.XDG_CONFIG_HOME });
}

/** This program, absolute: the compiled binary, or bun + the entry script. */
function daemonProgram(): string[] {
  const [exe, ...rest] = selfCommand();
  const program = [path.resolve(exe as string), ...rest.map((p) => path.resolve(p))];
  const script = program[1];
  if (!isCompiled() && script !== undefined && script.startsWith(path.resolve(os.tmpdir()) + path.sep))
    process.stderr.write(`rmcp-mux: warning: the service would run ${script}, which is in a temporary folder (bunx?); install rmcp-mux for good first\n`);
  return program;
}

const install = defineCommand({
  meta: { name: "install", description: "Write the unit (or agent) that runs `rmcp-mux --config PATH`, enable and start it" },
  args: {
    config: { type: "string", description: "The mux.toml the service runs (required)", valueHint: "PATH" },
    ...common,
    start: { type: "boolean", default: true, description: "Reload, enable and (re)start it", negativeDescription: "Only write the file: no systemctl or launchctl" },
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      if (!args.config) throw new UsageError("service install needs --config PATH (the mux.toml the service runs)");
      const loc = locationOf(args);
      const configPath = path.resolve(expandHome(args.config));
      // A config the daemon would refuse makes a unit that fails in a loop: refuse it here instead.
      const { loadConfig } = await import("../../config/load.ts");
      const cfg = await loadConfig(configPath);
      const spec = buildSpec({
        location: loc,
        command: daemonProgram(),
        configPath,
        pathEnv: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        shutdownGraceMs: cfg.servers.map((s) => s.shutdown_grace_ms),
      });
      const content = loc.platform === "systemd" ? renderSystemdUnit(spec) : renderLaunchdPlist(spec);
      const plan = planInstall(loc, content, { start: args.start !== false });
      if (args["dry-run"]) {
        process.stdout.write(describePlan(plan, "install"));
        return 0;
      }
      out(`service ${loc.name} runs: ${shellLine([...spec.command, "--config", spec.configPath])}`);
      return executePlan(plan, out);
    });
  },
});

const uninstall = defineCommand({
  meta: { name: "uninstall", description: "Stop the service and remove its unit (or agent)" },
  args: common,
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const plan = planUninstall(locationOf(args));
      if (args["dry-run"]) {
        process.stdout.write(describePlan(plan, "uninstall"));
        return 0;
      }
      return executePlan(plan, out);
    });
  },
});

const status = defineCommand({
  meta: {
    name: "status",
    description: "Is the unit installed, loaded, running, and does the daemon answer? (exit 0: yes; 1: installed, daemon silent; 3: not installed)",
  },
  args: {
    config: { type: "string", description: "The daemon's mux.toml (default: the one the installed unit runs)", valueHint: "PATH" },
    ...common,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const { serviceStatus } = await import("../../service/status.ts");
      const config = args.config ? path.resolve(expandHome(args.config)) : undefined;
      return serviceStatus(locationOf(args), { config, dryRun: Boolean(args["dry-run"]) }, out);
    });
  },
});

export default defineCommand({
  meta: { name: "service", description: "Run the daemon as a systemd user unit (Linux) or a launchd agent (macOS)" },
  subCommands: { install, uninstall, status },
});
