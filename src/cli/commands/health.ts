/** `rmcp-mux health`: a real MCP round trip (initialize + ping) through one server's socket. */
import { defineCommand } from "citty";
import { checkHealth } from "../../control/health.ts";
import { expandHome } from "../../config/paths.ts";
import { cliErrors, UsageError } from "../resolve.ts";

async function socketOf(args: { socket?: string; config?: string; service?: string }): Promise<string> {
  if (args.socket) return expandHome(args.socket);
  if (args.config && args.service) {
    const { loadConfig } = await import("../../config/load.ts");
    const cfg = await loadConfig(args.config);
    const server = cfg.servers.find((s) => s.name === args.service);
    if (!server) throw new UsageError(`no server "${args.service}" in ${cfg.file}; servers: ${cfg.servers.map((s) => s.name).join(", ")}`);
    return server.socket;
  }
  throw new UsageError("say which server: --socket PATH, or --config PATH --service NAME");
}

export default defineCommand({
  meta: { name: "health", description: "Check that a server answers through its socket (initialize + ping)" },
  args: {
    socket: { type: "string", description: "The server's socket", valueHint: "PATH" },
    config: { type: "string", description: "A mux.toml, with --service", valueHint: "PATH" },
    service: { type: "string", description: "The server's name in the config", valueHint: "NAME" },
    "timeout-ms": { type: "string", description: "How long to wait for each answer (default 10000)" },
  },
  async run({ args }) {
    process.exitCode = await cliErrors(async () => {
      const socket = await socketOf(args);
      const r = await checkHealth(socket, Number(args["timeout-ms"] ?? 10_000));
      const who = r.serverInfo?.name ? `${r.serverInfo.name}${r.serverInfo.version ? ` ${r.serverInfo.version}` : ""}` : "server";
      process.stdout.write(`ok: ${who} answered ping in ${r.pingMs} ms (initialize ${r.initializeMs} ms) via ${socket}\n`);
      return 0;
    });
  },
});
