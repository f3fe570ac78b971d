/**
 * Errors the mux produces itself: oversize lines, invalid JSON, non-JSON-RPC values, request timeouts (with
 * notifications/cancelled to the child), and requests waiting for a busy-client slot (max_active_clients).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { cleanup, daemonStatus, isResponseTo, RawClient, type RpcMessage, resultText, startDaemon, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

const echoLine = (id: string | number, text: string) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text } } });

describe("limits and mux-made errors", () => {
  test("a line over max_request_bytes gets -32600 with id null; the connection stays usable", async () => {
    const cfg = writeConfig(undefined, { l: { max_request_bytes: 4096 } });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.l!);
    await c.initialize();
    const errWait = c.response(null);
    const afterWait = c.response("after");
    // oversize line followed by a normal one in the same write
    c.sendRaw(echoLine("big", "x".repeat(10_000)) + "\n" + echoLine("after", "still here") + "\n");
    const err = await errWait;
    expect(err.msg.jsonrpc).toBe("2.0");
    expect(err.msg.error?.code).toBe(-32600);
    expect(typeof err.msg.error?.message).toBe("string");
    expect(err.raw).toContain('"id":null');
    expect(resultText((await afterWait).msg)).toBe("still here");
    expect(c.queue.filter(isResponseTo("big"))).toEqual([]);
    expect(c.history.some((r) => r.msg?.id === "big")).toBe(false);

    // an oversize line that arrives in many small pieces, then a request just under the limit
    const huge = echoLine("huge", "y".repeat(50_000)) + "\n";
    const err2 = c.response(null);
    for (let off = 0; off < huge.length; off += 3000) c.sendRaw(huge.slice(off, off + 3000));
    expect((await err2).msg.error?.code).toBe(-32600);
    const near = "z".repeat(3500);
    expect(resultText(await c.callTool("echo", { text: near }, "near"))).toBe(near);
    expect(c.history.some((r) => r.msg?.id === "huge")).toBe(false);
  });

  test("invalid JSON gets -32700 with id null; the connection stays usable", async () => {
    const cfg = writeConfig(undefined, { l: {} });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.l!);
    await c.initialize();
    const errWait = c.response(null);
    c.sendRaw('{"jsonrpc":"2.0","id":5,"method":"tools/call",\n');
    const err = await errWait;
    expect(err.msg.error?.code).toBe(-32700);
    expect(err.raw).toContain('"id":null');
    const err2 = c.response(null);
    c.sendRaw("not json at all\r\n");
    expect((await err2).msg.error?.code).toBe(-32700);
    expect(resultText(await c.callTool("echo", { text: "ok" }, 6))).toBe("ok");
    // the broken line never produced an answer for id 5
    expect(c.history.some((r) => r.msg?.id === 5)).toBe(false);
  });

  test("valid JSON that is not a JSON-RPC message gets -32600", async () => {
    const cfg = writeConfig(undefined, { l: {} });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.l!);
    await c.initialize();
    for (const bad of ['{"hello":"world"}', "42", '"just a string"', "null"]) {
      const w = c.next((r) => r.msg?.error !== undefined && r.msg.method === undefined, 3000, `error for ${bad}`);
      c.send(bad);
      const r = await w;
      expect({ bad, code: r.msg.error?.code }).toEqual({ bad, code: -32600 });
      expect(r.msg.id).toBeNull();
    }
    expect(resultText(await c.callTool("echo", { text: "fine" }))).toBe("fine");
  });

  test(
    "a request without an answer times out with -32603 and the child gets notifications/cancelled",
    async () => {
      const cfg = writeConfig(undefined, { l: { request_timeout_ms: 1500 } });
      await startDaemon(cfg.configPath);
      const c = await RawClient.connect(cfg.sockets.l!);
      await c.initialize();
      const t0 = Date.now();
      const r = await c.callTool("hang", {}, "h1", 8000);
      const elapsed = Date.now() - t0;
      expect(r.id).toBe("h1");
      expect(r.result).toBeUndefined();
      expect(r.error?.code).toBe(-32603);
      expect(r.error?.message).toMatch(/timed out/i);
      // not before request_timeout_ms (how much later is the bench's business, not a test's)
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      // the cancellation reaches the child (no event for that: poll stats)
      const st = await waitFor(
        async () => {
          const s = await c.stats();
          return s.cancelled.length === 1 && s.pending === 0 ? s : undefined;
        },
        3000,
        "fixture recorded one cancellation",
      );
      expect(st.cancelled).toHaveLength(1);
      // the cancellation names the very id the mux forwarded h1 under (not "h1", not another request's)
      expect(st.hung).toHaveLength(1);
      expect(st.hung[0]).not.toBe("h1");
      expect(st.cancelled).toEqual(st.hung);
      // no late/duplicate answer for h1
      expect(c.history.filter((m) => m.msg?.id === "h1")).toHaveLength(1);
    },
    20_000,
  );

  test(
    "max_active_clients = 1: an idle connection holds no slot; a request that finds the slot busy waits and is served when it frees",
    async () => {
      const cfg = writeConfig(undefined, { l: { max_active_clients: 1, request_timeout_ms: 8000 } });
      await startDaemon(cfg.configPath);
      const a = await RawClient.connect(cfg.sockets.l!);
      await a.initialize();
      expect(resultText(await a.callTool("echo", { text: "a" }))).toBe("a");
      // a is connected and idle: b's handshake and first call are served at once
      const b = await RawClient.connect(cfg.sockets.l!);
      await b.initialize({ clientName: "b" });
      expect(resultText(await b.callTool("echo", { text: "b" }, "b-first", 2000))).toBe("b");

      // a is busy (a slow call): b's next call waits for the slot, and ping is still answered meanwhile
      // (3 s: room for a slow machine between a's call and b's 400 ms check, well inside request_timeout_ms)
      const aSlow = a.callTool("slow", { ms: 3000, text: "a-slow" }, "a-slow", 10_000);
      const bEcho = b.response("b-echo", 10_000);
      // ordering across two sockets: wait until the daemon has a's call in flight before b asks
      await waitFor(async () => ((await a.stats()).pending === 1 ? true : undefined), 3000, "a's slow call at the fixture");
      b.send({ jsonrpc: "2.0", id: "b-echo", method: "tools/call", params: { name: "echo", arguments: { text: "b2" } } });
      expect(await b.noMessageWithin(isResponseTo("b-echo"), 400)).toBe(true);
      const ping = await b.request("ping", {}, "b-ping", 2000);
      expect(ping.result).toEqual({});
      // served once a's call ends, before request_timeout_ms (a client_limit error would come at 8 s)
      const slow = await aSlow;
      expect(resultText(slow)).toBe("a-slow");
      const echo = await bEcho;
      expect(echo.msg.error).toBeUndefined();
      expect(resultText(echo.msg)).toBe("b2");
    },
    20_000,
  );

  test(
    "max_active_clients = 1: a request that waits longer than request_timeout_ms gets an error naming the key; the connection stays",
    async () => {
      const timeoutMs = 3000;
      const cfg = writeConfig(undefined, { l: { max_active_clients: 1, request_timeout_ms: timeoutMs } });
      await startDaemon(cfg.configPath);
      const a = await RawClient.connect(cfg.sockets.l!);
      await a.initialize();
      const b = await RawClient.connect(cfg.sockets.l!);
      await b.initialize({ clientName: "b" });
      // a holds the only slot without a gap: a new hang every 200 ms, each timed out after timeoutMs, so a
      // is busy from its first hang until the loop stops, however slow the machine is between two steps.
      const hangs: Promise<RpcMessage>[] = [];
      let rolling = true;
      const roll = async () => {
        while (rolling) {
          hangs.push(a.callTool("hang", {}, `h${hangs.length}`, 10_000));
          await Bun.sleep(200); // pacing the load, not synchronising: nothing below relies on its length
        }
      };
      const rolled = roll();
      let r: RpcMessage;
      let elapsed: number;
      try {
        await waitFor(async () => ((await a.stats()).hung.length >= 1 ? true : undefined), 3000, "a's first hang at the fixture");
        const t0 = Date.now();
        const bWait = b.callTool("echo", { text: "b" }, "b-echo", 10_000);
        const ctl = path.join(cfg.dir, "daemon.sock");
        await waitFor(async () => ((await daemonStatus(ctl)).servers[0]!.clients.waiting === 1 ? true : undefined), 3000, "b waiting");
        r = await bWait;
        elapsed = Date.now() - t0;
      } finally {
        // A failure above must not leave the loop sending into the next test.
        rolling = false;
        await rolled;
      }
      expect(r.error?.code).toBe(-32603);
      expect(r.error?.message).toContain("max_active_clients");
      expect((r.error?.data as { reason?: string })?.reason).toBe("client_limit");
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 100);
      // the connection stays, and its next request is served once a's hangs have timed out
      expect(b.isClosed).toBe(false);
      expect(resultText(await b.callTool("echo", { text: "again" }, "b-again", 10_000))).toBe("again");
      const ended = await Promise.all(hangs);
      expect(ended.map((m) => (m.error?.data as { reason?: string })?.reason)).toEqual(hangs.map(() => "timeout"));
    },
    20_000,
  );
});
