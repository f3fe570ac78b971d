import { describe, expect, test } from "bun:test";
import { setup } from "./harness.ts";

const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });

describe("id rewriting", () => {
  test("each request gets a unique backend id and the answer carries the client's own id back", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.send(1, req(1, "tools/call", { name: "a" }));
    h.send(2, req("1", "tools/call", { name: "b" }));
    const [a, b] = h.takeBackend();
    expect(a.id).not.toBe(b.id);
    expect(typeof a.id).toBe("number");
    h.backend({ jsonrpc: "2.0", id: b.id, result: { who: "b" } });
    h.backend({ jsonrpc: "2.0", id: a.id, result: { who: "a" } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, result: { who: "a" } }]);
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: "1", result: { who: "b" } }]);
  });

  test("ids are restored byte for byte, including large integers and escaped strings", () => {
    const h = setup();
    h.ready(1);
    const lines: string[] = [];
    (h.router as any).host.toClient = (_: number, l: string) => lines.push(l);
    h.router.clientLine(1, '{"jsonrpc":"2.0","id":12345678901234567890,"method":"x"}');
    h.router.clientLine(1, '{"jsonrpc":"2.0","method":"x","id":"a\\"b\\\\"}');
    const [m1, m2] = h.takeBackend();
    h.backend(`{"jsonrpc":"2.0","id":${m2.id},"result":{}}`);
    h.backend(`{"result":{"big":"yes"},"jsonrpc":"2.0","id":${m1.id}}`);
    expect(lines).toEqual([
      '{"jsonrpc":"2.0","id":"a\\"b\\\\","result":{}}',
      '{"result":{"big":"yes"},"jsonrpc":"2.0","id":12345678901234567890}',
    ]);
  });

  test("a request forwarded without JSON.parse (plain text) and one that is parsed reach both ends alike", () => {
    const h = setup();
    h.ready(1);
    // 41 and s-1 take the plain path; an escape, a tab between tokens or an id other than plain digits sends the others through JSON.parse
    const lines = [
      '{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}}',
      '{"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}},"jsonrpc":"2.0","id":"s-1"}',
      '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a\\"b"}}}',
      '{"jsonrpc":"2.0",\t"id":43,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}}',
      '{"jsonrpc":"2.0","id":-0,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}}',
      '{"jsonrpc":"2.0","id":1.50,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}}',
    ];
    for (const l of lines) h.router.clientLine(1, l);
    const fwd = h.takeBackend();
    expect(fwd.map((m) => m.params.arguments.text)).toEqual(["a", "a", 'a"b', "a", "a", "a"]);
    expect(new Set(fwd.map((m) => m.id)).size).toBe(lines.length);
    for (const m of fwd) h.backend(`{"jsonrpc":"2.0","id":${m.id},"result":{"ok":true}}`);
    const ids = h.takeClient(1).map((m) => m.id);
    expect(ids).toEqual([41, "s-1", 42, 43, -0, 1.5]);
    // a raw tab inside a string is not JSON: neither path may forward it
    h.router.clientLine(1, '{"jsonrpc":"2.0","id":44,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a\tb"}}}');
    expect(h.takeBackend()).toEqual([]);
    expect(h.takeClient(1).map((m) => m.error?.code)).toEqual([-32700]);
  });

  test("a response nobody is waiting for is dropped", () => {
    const h = setup();
    h.ready(1);
    h.backend({ jsonrpc: "2.0", id: 999, result: {} });
    expect(h.takeClient(1)).toEqual([]);
  });
});

describe("handshake", () => {
  test("only the first initialize reaches the backend; later clients get the cached result with their id", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req("x", "initialize", { protocolVersion: "2025-06-18", capabilities: {} }));
    h.send(2, { jsonrpc: "2.0", method: "notifications/initialized" });
    expect(h.takeBackend()).toEqual([]);
    const [r] = h.takeClient(2);
    expect(r.id).toBe("x");
    expect(r.result.serverInfo.name).toBe("s");
  });

  test("the backend gets initialize once and notifications/initialized once, with the mux's capabilities", () => {
    const h = setup();
    h.router.clientConnected(1);
    h.router.clientConnected(2);
    h.router.backendStarted();
    h.send(1, req(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {} }));
    h.send(2, req(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {} }));
    const out = h.takeBackend();
    expect(out.filter((m) => m.method === "initialize")).toHaveLength(1);
    expect(out[0].params.capabilities).toHaveProperty("sampling");
    h.backend({ jsonrpc: "2.0", id: out[0].id, result: { protocolVersion: "2025-06-18", capabilities: {} } });
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/initialized"]);
    expect(h.takeClient(1)[0].id).toBe(1);
    expect(h.takeClient(2)[0].id).toBe(1);
  });

  test("requests sent before the handshake completes are queued, then forwarded in order", () => {
    const h = setup();
    h.router.clientConnected(1);
    h.send(1, req(0, "initialize", { protocolVersion: "2025-06-18", capabilities: {} }));
    h.send(1, req(1, "tools/list"));
    h.send(1, req(2, "tools/call", { name: "x" }));
    expect(h.wants).toBeGreaterThan(0);
    h.router.backendStarted();
    const [init] = h.takeBackend();
    expect(init.method).toBe("initialize");
    h.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion: "2025-06-18", capabilities: {} } });
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/initialized", "tools/list", "tools/call"]);
  });

  test("ping is answered by the mux", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req(7, "ping"));
    expect(h.takeBackend()).toEqual([]);
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 7, result: {} }]);
  });
});

describe("bad input", () => {
  test("invalid JSON gets -32700 with a null id", () => {
    const h = setup();
    h.ready(1);
    h.send(1, "{nope");
    const [e] = h.takeClient(1);
    expect(e.id).toBeNull();
    expect(e.error.code).toBe(-32700);
  });

  test("valid JSON that is no message gets -32600", () => {
    const h = setup();
    h.ready(1);
    h.send(1, "42");
    h.send(1, { jsonrpc: "2.0", id: 3 });
    h.send(1, { jsonrpc: "1.0", id: 4, method: "x" });
    h.send(1, { jsonrpc: "2.0", id: null, method: "x" });
    const errs = h.takeClient(1);
    expect(errs.map((e) => e.error.code)).toEqual([-32600, -32600, -32600, -32600]);
    expect(errs.map((e) => e.id)).toEqual([null, 3, 4, null]);
    expect(h.takeBackend()).toEqual([]);
  });

  test("an oversize line is answered with -32600 naming the limit", () => {
    const h = setup();
    h.ready(1);
    h.router.clientOversize(1, 2000, 1024);
    const [e] = h.takeClient(1);
    expect(e.error.code).toBe(-32600);
    expect(e.error.message).toContain("max_request_bytes");
    expect(e.error.data.limit).toBe(1024);
  });

  test("a backend banner line is skipped", () => {
    const h = setup();
    h.ready(1);
    h.backend("Server running on stdio");
    expect(h.sent.logs.some((l) => l.includes("not a JSON-RPC message"))).toBe(true);
    expect(h.takeClient(1)).toEqual([]);
  });
});

describe("timeouts and cancellation", () => {
  test("a request with no answer in time gets an error and the backend a cancellation; the late answer is dropped", () => {
    const h = setup({ requestTimeoutMs: 1000 });
    h.ready(1);
    h.send(1, req(5, "tools/call", { name: "hang" }));
    const [fwd] = h.takeBackend();
    h.clock.advance(999);
    expect(h.takeClient(1)).toEqual([]);
    h.clock.advance(2);
    const [e] = h.takeClient(1);
    expect(e.id).toBe(5);
    expect(e.error.code).toBe(-32603);
    expect(e.error.message).toContain("timed out");
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: fwd.id, reason: "request timed out in rmcp-mux" } }]);
    h.backend({ jsonrpc: "2.0", id: fwd.id, result: {} });
    expect(h.takeClient(1)).toEqual([]);
  });

  test("a client's cancellation reaches the backend with the backend id", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req("r", "tools/call"));
    const [fwd] = h.takeBackend();
    h.send(1, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "r", reason: "user" } });
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: fwd.id, reason: "user" } }]);
    h.backend({ jsonrpc: "2.0", id: fwd.id, result: {} });
    expect(h.takeClient(1)).toEqual([]);
  });

  test("a disconnecting client cancels its in-flight requests", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req(1, "a"));
    h.send(1, req(2, "b"));
    const ids = h.takeBackend().map((m) => m.id);
    h.router.clientClosed(1);
    expect(h.takeBackend().map((m) => m.params.requestId)).toEqual(ids);
  });

  test("an id reused while open: cancelling it cancels the newer request, disconnecting cancels both", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req(7, "tools/call", { n: 1 }));
    h.send(1, req(7, "tools/call", { n: 2 }));
    h.send(1, req("7", "tools/call", { n: 3 })); // "7" is another id than 7
    const [older, newer, text] = h.takeBackend().map((m) => m.id);
    h.send(1, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7 } });
    expect(h.takeBackend().map((m) => m.params.requestId)).toEqual([newer]);
    h.backend({ jsonrpc: "2.0", id: older, result: { n: 1 } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 7, result: { n: 1 } }]);
    h.send(1, req(7, "tools/call", { n: 4 }));
    h.send(1, req(7, "tools/call", { n: 5 }));
    const [fourth, fifth] = h.takeBackend().map((m) => m.id);
    h.router.clientClosed(1);
    expect(h.takeBackend().map((m) => m.params.requestId)).toEqual([text, fourth, fifth]);
    expect(h.router.stats().pending).toBe(0);
  });

  test("many requests in flight from several clients all come back to their own client", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    for (let i = 0; i < 3000; i++) h.send(1 + (i % 2), req(i >> 1, "tools/call", { i }));
    const fwd = h.takeBackend();
    expect(h.router.stats().pending).toBe(3000);
    // answered out of order: newest first
    for (const m of [...fwd].reverse()) h.backend({ jsonrpc: "2.0", id: m.id, result: { i: m.params.i } });
    for (const cid of [1, 2]) {
      const got = h.takeClient(cid);
      expect(got.length).toBe(1500);
      for (const m of got) expect(m.result.i).toBe(m.id * 2 + (cid - 1));
    }
    expect(h.router.stats().pending).toBe(0);
  });
});

describe("backend restarts", () => {
  test("pending requests get errors, queued ones survive, the handshake is replayed and lists are announced", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req(1, "tools/call"));
    h.takeBackend();
    h.router.backendExited("exit code 3", true);
    const [e] = h.takeClient(1);
    expect(e.id).toBe(1);
    expect(e.error.message).toContain("exit code 3");
    h.send(1, req(2, "tools/list"));
    expect(h.takeBackend()).toEqual([]);
    h.router.backendStarted();
    const [init] = h.takeBackend();
    expect(init.method).toBe("initialize");
    h.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion: "2025-06-18", capabilities: { tools: {} } } });
    const after = h.takeBackend();
    expect(after.map((m) => m.method)).toEqual(["notifications/initialized", "tools/list"]);
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", method: "notifications/tools/list_changed" }]);
    h.backend({ jsonrpc: "2.0", id: after[1].id, result: { tools: [] } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 2, result: { tools: [] } }]);
  });

  test("a failed backend answers at once", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req(1, "q"));
    h.takeBackend();
    h.router.backendExited("exit code 1", false);
    h.takeClient(1);
    h.send(1, req(2, "tools/list"));
    const [e] = h.takeClient(1);
    expect(e.error.data.reason).toBe("backend_unavailable");
    expect(e.error.message).toContain("failed");
  });

  test("an initialize that times out asks for a restart", () => {
    const h = setup({ requestTimeoutMs: 500 });
    h.router.clientConnected(1);
    h.router.backendStarted();
    h.send(1, req(0, "initialize", { capabilities: {} }));
    h.clock.advance(600);
    expect(h.restarts).toEqual(["initialize timed out"]);
  });
});
