/**
 * The official SDK Client, over StdioClientTransport running our proxy (`bun src/proxy/main.ts --socket <path>`),
 * against a daemon whose server is @modelcontextprotocol/server-everything (run under bun).
 */
import { describe, expect, test } from "bun:test";
import { startDaemon, writeConfig } from "./harness.ts";
import { connectSdkClient, EVERYTHING_SERVER, useSdkSuite } from "./wire.ts";

// Clients closed, wire checked (every message valid per the SDK's schemas) and daemons cleaned up after each test.
useSdkSuite();

async function startEverything() {
  // server-everything under bun was checked to answer initialize/tools/call; its banner goes to stderr
  const cfg = writeConfig(undefined, { everything: { ...EVERYTHING_SERVER, request_timeout_ms: 15_000 } });
  const daemon = await startDaemon(cfg.configPath);
  return { cfg, daemon };
}

const sdkClient = (socket: string, name: string) => connectSdkClient(socket, name);

const textOf = (r: any): string => r.content?.[0]?.text;

describe("official SDK client through the proxy", () => {
  test(
    "tools/list and tools/call echo",
    async () => {
      const { cfg } = await startEverything();
      const { client } = await sdkClient(cfg.sockets.everything!, "sdk-1");
      expect(client.getServerVersion()?.name).toBeString();
      const tools = await client.listTools(undefined, { timeout: 10_000 });
      const names = tools.tools.map((t) => t.name);
      expect(names).toContain("echo");
      const r = await client.callTool({ name: "echo", arguments: { message: "hello mux" } }, undefined, { timeout: 10_000 });
      expect(r.isError ?? false).toBe(false);
      expect(textOf(r)).toBe("Echo: hello mux");
    },
    30_000,
  );

  test(
    "two SDK clients at once share the daemon and each gets its own answers",
    async () => {
      const { cfg, daemon } = await startEverything();
      const [one, two] = await Promise.all([
        sdkClient(cfg.sockets.everything!, "sdk-A"),
        sdkClient(cfg.sockets.everything!, "sdk-B"),
      ]);
      const opts = { timeout: 10_000 };
      const [r1, r2, l1, l2, r1b, r2b] = await Promise.all([
        one.client.callTool({ name: "echo", arguments: { message: "from A" } }, undefined, opts),
        two.client.callTool({ name: "echo", arguments: { message: "from B" } }, undefined, opts),
        one.client.listTools(undefined, opts),
        two.client.listTools(undefined, opts),
        one.client.callTool({ name: "echo", arguments: { message: "A again" } }, undefined, opts),
        two.client.callTool({ name: "echo", arguments: { message: "B again" } }, undefined, opts),
      ]);
      expect(textOf(r1)).toBe("Echo: from A");
      expect(textOf(r2)).toBe("Echo: from B");
      expect(textOf(r1b)).toBe("Echo: A again");
      expect(textOf(r2b)).toBe("Echo: B again");
      expect(l1.tools.map((t) => t.name).sort()).toEqual(l2.tools.map((t) => t.name).sort());
      // one child for both clients: the daemon logs each spawn before the child can answer anything, and
      // server-everything prints its banner once per start (wait for it: stderr and the socket race)
      await daemon.waitForStderr(/Starting default \(STDIO\) server/, 10_000);
      expect(daemon.countStderr(/\[everything\] started pid/)).toBe(1);
      expect(daemon.countStderr(/Starting default \(STDIO\) server/)).toBe(1);
    },
    30_000,
  );
});
