/**
 * Using rmcp-mux as a library: one MCP server shared over a socket, health-checked, then stopped.
 *
 *   bun examples/library.ts <socket path> <command> [args...]
 */
import { checkHealth, MuxConfig, spawnMuxServer } from "../src/index.ts";

const [socket, cmd, ...args] = process.argv.slice(2);
if (!socket || !cmd) {
  console.error("usage: bun examples/library.ts <socket path> <command> [args...]");
  process.exit(2);
}

const handle = await spawnMuxServer(
  new MuxConfig(socket, cmd).withArgs(args).withServiceName("example").withMaxClients(10).withRequestTimeout(60_000),
);
const health = await checkHealth(handle.socket);
console.log(`${health.serverInfo?.name ?? "server"} answered ping in ${health.pingMs} ms`);
console.log(`state: ${handle.status().state}, pid ${handle.status().pid}`);
await handle.stop();
await handle.wait();
console.log("stopped");
