/** `rmcp-mux proxy --socket PATH`: the same bridge as the rmcp-mux-proxy binary. */
import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "proxy", description: "Bridge stdin/stdout to a server's socket (what MCP hosts run)" },
  args: {
    socket: { type: "string", required: true, description: "The server's socket path", valueHint: "PATH" },
    config: { type: "string", description: "The mux.toml serving it: start `rmcp-mux --config PATH` when nothing answers", valueHint: "PATH" },
    "retry-ms": { type: "string", description: "Keep trying to connect for N ms (default 5000)" },
    "drain-ms": { type: "string", description: "After stdin ends, wait up to N ms for open requests (default 30000)" },
  },
  async run({ rawArgs }) {
    const { proxyMain } = await import("../../proxy/main.ts");
    process.exit(await proxyMain(rawArgs));
  },
});
