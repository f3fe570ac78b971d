/**
 * Per-client protocol versions through the daemon (docs/routing.md "versions"): three clients asking three
 * versions on one backend each get their own, and a client is never sent what its version does not define,
 * against a server (test/fixtures/version-probe.ts) that sends elicitation and task messages.
 */
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { BUN, RawClient, REPO, resultText, startDaemon, writeConfig, type Received } from "./harness.ts";
import { connectSdkClient, useSdkSuite, wireCheckRaw } from "./wire.ts";

useSdkSuite();

const PROBE = path.join(REPO, "test/fixtures/version-probe.ts");
const T = 15_000;

async function rawClient(socket: string, version: string, name: string): Promise<{ c: RawClient; init: any }> {
  const c = await RawClient.connect(socket);
  wireCheckRaw(name, c);
  const init = await c.request("initialize", { protocolVersion: version, capabilities: { elicitation: {} }, clientInfo: { name, version: "1" } }, "init", T);
  c.notify("notifications/initialized");
  return { c, init };
}

/** Anything a 2024-11-05 session does not define: elicitation, tasks, task results. */
const newerThan20241105 = (r: Received): boolean => {
  const m = r.msg;
  if (typeof m?.method === "string" && (m.method.startsWith("elicitation/") || m.method.includes("tasks"))) return true;
  return m?.result?.task !== undefined || m?.result?.tasks !== undefined;
};

describe("protocol versions through the daemon", () => {
  test(
    "three clients with three versions on one backend each get their own; the backend was greeted with 2025-11-25",
    async () => {
      const cfg = writeConfig(undefined, { probe: { cmd: BUN, args: [PROBE] } });
      const daemon = await startDaemon(cfg.configPath);
      const socket = cfg.sockets.probe!;
      // The SDK 1.x client asks its newest version (2025-11-25) and connects first.
      const sdk = await connectSdkClient(socket, "sdk-newest");
      const b = await rawClient(socket, "2025-06-18", "raw-2025-06-18");
      const c = await rawClient(socket, "2024-11-05", "raw-2024-11-05");
      const sdkInit = sdk.tap.received.find((m) => m.result?.protocolVersion !== undefined);
      expect([sdkInit?.result.protocolVersion, b.init.result.protocolVersion, c.init.result.protocolVersion]).toEqual([
        "2025-11-25",
        "2025-06-18",
        "2024-11-05",
      ]);
      expect(sdk.client.getServerCapabilities()?.tasks).toBeDefined();
      expect(Object.keys(b.init.result.capabilities).sort()).toEqual(["completions", "tools"]);
      expect(Object.keys(c.init.result.capabilities).sort()).toEqual(["tools"]);
      await daemon.waitForStderr(/probe greeted with 2025-11-25/, T);
      expect(daemon.countStderr(/probe greeted with/)).toBe(1);
      const greeting = await sdk.client.callTool({ name: "greeting", arguments: {} }, undefined, { timeout: T });
      expect((greeting.content as any)[0].text).toBe("2025-11-25");
    },
    60_000,
  );

  test(
    "a 2024-11-05 client never receives elicitation or tasks; a 2025-06-18 client gets elicitation but no tasks",
    async () => {
      const cfg = writeConfig(undefined, { probe: { cmd: BUN, args: [PROBE] } });
      await startDaemon(cfg.configPath);
      const socket = cfg.sockets.probe!;
      const old = await rawClient(socket, "2024-11-05", "raw-2024-11-05");
      const mid = await rawClient(socket, "2025-06-18", "raw-2025-06-18");
      const newest = await rawClient(socket, "2025-11-25", "raw-2025-11-25");

      // The old client is the only one with a call in flight, and it declared elicitation: still not asked.
      const asked = await old.c.request("tools/call", { name: "ask", arguments: {} }, 1, T);
      expect(resultText(asked)).toStartWith("refused: Cannot route elicitation/create");

      // The 2025-06-18 client is asked and answers.
      const call = mid.c.request("tools/call", { name: "ask", arguments: {} }, 1, T);
      const elicit = await mid.c.next((r) => r.msg?.method === "elicitation/create", T, "elicitation/create");
      mid.c.send({ jsonrpc: "2.0", id: elicit.msg.id, result: { action: "accept", content: { name: "mid" } } });
      expect(resultText(await call)).toBe('answered: {"name":"mid"}');

      // Tasks: only the 2025-11-25 client gets a task and its status; older ones run the call inline.
      const status = newest.c.notification("notifications/tasks/status", T);
      const made = await newest.c.request("tools/call", { name: "research", arguments: {}, task: { ttl: 60_000 } }, 2, T);
      expect(made.result.task.taskId).toBeString();
      expect((await status).msg.params.taskId).toBe(made.result.task.taskId);
      for (const [k, who] of [old, mid].entries()) {
        const inline = await who.c.request("tools/call", { name: "research", arguments: {}, task: { ttl: 60_000 } }, 10 + k, T);
        expect(resultText(inline)).toBe("ran inline");
        const list = await who.c.request("tasks/list", {}, 20 + k, T);
        expect(list.error?.code).toBe(-32601);
      }
      expect(old.c.history.filter(newerThan20241105).map((r) => r.raw)).toEqual([]);
      expect(mid.c.history.filter((r) => r.msg?.method?.includes("tasks") || r.msg?.result?.task !== undefined).map((r) => r.raw)).toEqual([]);
    },
    60_000,
  );
});
