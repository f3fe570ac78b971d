/**
 * JSON-RPC batches through the daemon (MCP 2025-03-26 only): split, forwarded singly, answered as one array,
 * and a cancelled item never holds the rest back.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { cleanup, RawClient, resultText, startDaemon, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

const call = (id: string | number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

async function batchClient(socket: string): Promise<RawClient> {
  const c = await RawClient.connect(socket);
  const init = await c.request(
    "initialize",
    { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "batcher", version: "1" } },
    "init",
    15_000,
  );
  expect(init.result).toBeDefined();
  c.notify("notifications/initialized");
  return c;
}

describe("batches through the daemon", () => {
  test("a batch of two calls with one cancelled: the other's answer arrives in the array, and the client goes on", async () => {
    const cfg = writeConfig(undefined, { b: { request_timeout_ms: 30_000 } });
    await startDaemon(cfg.configPath);
    const c = await batchClient(cfg.sockets.b!);
    const arrayAnswer = c.next((r) => Array.isArray(r.msg), 15_000, "the batch's array");
    c.send([call(1, "hang", {}), call(2, "slow", { ms: 200, text: "kept" })]);
    // both items reached the child before the cancel is sent, so it cancels a request open at the backend
    await waitFor(async () => (await c.stats()).pending === 2, 10_000, "both batch items open in the child");
    c.notify("notifications/cancelled", { requestId: 1, reason: "user" });
    const arr = (await arrayAnswer).msg as unknown as Array<{ id: unknown; result?: unknown }>;
    expect(arr.map((m) => m.id)).toEqual([2]);
    expect(resultText(arr[0] as never)).toBe("kept");
    // the child was told, and the client is not stuck: its next request is answered
    const st = await waitFor(async () => {
      const s = await c.stats();
      return s.cancelled.length === 1 ? s : undefined;
    }, 10_000, "the child recorded the cancellation");
    expect(st.cancelled).toEqual(st.hung);
    expect(resultText(await c.callTool("echo", { text: "after" }, "after", 10_000))).toBe("after");
    expect(c.history.filter((r) => r.msg?.id === 1)).toEqual([]);
  }, 60_000);
});
