/**
 * `rmcp-mux check --config PATH`: validate a config and print what would run.
 * With --json it prints the resolved config, env values masked like every other output. The daemon runs
 * `check --json --reveal-env` in a child process (it needs the values to start the servers), so that arktype
 * (~120 ms and ~46 MB to load) never stays resident in the long-lived daemon.
 */
import { defineCommand } from "citty";
import type { ServerConfig } from "../../config/schema.ts";
import { cliErrors } from "../resolve.ts";

/** What `check --json` shows of env: the names, each value replaced by "***" (as in rewire's diffs). */
export function maskEnv(servers: ServerConfig[]): ServerConfig[] {
  return servers.map((s) => ({ ...s, env: Object.fromEntries(Object.keys(s.env).map((k) => [k, "***"])) }));
}

export default defineCommand({
  meta: { name: "check", description: "Validate a mux.toml and show the servers it would run" },
  args: {
    config: { type: "string", required: true, description: "Path to mux.toml (or .json)", valueHint: "PATH" },
    only: { type: "string", description: "Only these servers (comma-separated)", valueHint: "a,b" },
    except: { type: "string", description: "All servers except these (comma-separated)", valueHint: "c" },
    json: { type: "boolean", description: "Print the resolved config as JSON (env values shown as \"***\")" },
    http: { type: "string", description: "Check as if the daemon ran with --http ADDR", valueHint: "HOST:PORT" },
    "reveal-env": { type: "boolean", description: "With --json, print the env values too (the daemon reads them this way; keep the output private)" },
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const { loadConfig, selectServers } = await import("../../config/load.ts");
      const cfg = await loadConfig(args.config, args.http === undefined ? {} : { http: args.http });
      const servers = selectServers(cfg.servers, args.only, args.except, cfg.file);
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ ...cfg, servers: args["reveal-env"] ? servers : maskEnv(servers) })}\n`);
        return 0;
      }
      process.stdout.write(`ok: ${cfg.file}: ${servers.length} server(s), control socket ${cfg.statusSocket}\n`);
      for (const s of servers) {
        process.stdout.write(`  ${s.name.padEnd(16)} ${s.socket}  ←  ${[s.cmd, ...s.args].join(" ")}${s.lazy_start ? "  (lazy)" : ""}\n`);
      }
      if (cfg.http !== null) {
        const h = cfg.http;
        const host = h.hostname.includes(":") ? `[${h.hostname}]` : h.hostname;
        process.stdout.write(`  http: http://${host}:${h.port}/mcp/NAME, token in ${h.tokenFile}\n`);
      }
      return 0;
    });
  },
});
