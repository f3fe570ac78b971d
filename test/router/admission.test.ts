/**
 * Client slots (`max_active_clients`) belong to busy clients: a connected idle session holds none, a
 * request that finds every slot held by a busy client waits in order and is routed as soon as one frees,
 * and a wait that outlasts `request_timeout_ms` gets an error naming the limit (the connection stays).
 */
import { describe, expect, test } from "bun:test";
import { setup } from "./harness.ts";

const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
const call = (id: unknown, name = "t") => req(id, "tools/call", { name });

/** One slot, held by client 1's request `id` (its backend line is `first`); client 2 has joined, idle. */
function oneBusy(id: string) {
  const h = setup({ maxActiveClients: 1 });
  h.ready(1);
  h.join(2);
  h.send(1, call(id));
  const [first] = h.takeBackend();
  return { h, first };
}

describe("busy-client slots", () => {
  test("idle sessions hold no slot: with max 1, a second client's request goes out while the first stays connected", () => {
    const h = setup({ maxActiveClients: 1 });
    h.ready(1);
    h.send(1, call("a1"));
    const [a1] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: a1.id, result: {} });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: "a1", result: {} }]);
    // client 1 is idle now (and still connected): client 2 is served at once
    h.join(2);
    h.send(2, call("b1"));
    expect(h.takeBackend().map((m) => m.method)).toEqual(["tools/call"]);
    expect(h.router.stats()).toMatchObject({ connected: 2, active: 1, waiting: 0 });
  });

  test("8 idle sessions and a 9th with the default limit of 5: the 9th is forwarded at once", () => {
    const h = setup();
    h.ready(1);
    for (let cid = 2; cid <= 9; cid++) h.join(cid);
    h.send(9, req(1, "tools/list"));
    expect(h.takeBackend()).toEqual([expect.objectContaining({ method: "tools/list" })]);
    expect(h.router.stats()).toMatchObject({ connected: 9, active: 1, waiting: 0 });
  });

  test("handshake, ping and notifications never wait, even when every slot is busy", () => {
    const h = setup({ maxActiveClients: 1 });
    h.ready(1);
    h.send(1, call("busy"));
    h.takeBackend();
    h.router.clientConnected(2);
    h.send(2, req("i", "initialize", { protocolVersion: "2025-06-18", capabilities: {} }));
    h.send(2, { jsonrpc: "2.0", method: "notifications/initialized" });
    h.send(2, req("p", "ping"));
    expect(h.takeClient(2).map((m) => m.id)).toEqual(["i", "p"]);
    h.send(2, { jsonrpc: "2.0", method: "notifications/custom/note" });
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/custom/note"]);
    expect(h.router.stats().waiting).toBe(0);
  });

  test("a request that finds every slot busy waits, in order, and goes out when the busy client's answer arrives", () => {
    const { h, first: a1 } = oneBusy("a1");
    h.send(2, call("b1"));
    h.send(2, call("b2"));
    expect(h.takeBackend()).toEqual([]);
    expect(h.router.stats()).toMatchObject({ active: 1, waiting: 2 });
    h.backend({ jsonrpc: "2.0", id: a1.id, result: {} });
    const out = h.takeBackend();
    expect(out.map((m) => m.params.name)).toEqual(["t", "t"]);
    // the waiting requests went out in the order they were sent
    h.backend({ jsonrpc: "2.0", id: out[1].id, result: { n: 2 } });
    h.backend({ jsonrpc: "2.0", id: out[0].id, result: { n: 1 } });
    expect(h.takeClient(2).map((m) => [m.id, m.result.n])).toEqual([["b2", 2], ["b1", 1]]);
    expect(h.router.stats()).toMatchObject({ active: 0, waiting: 0 });
  });

  test("waiting clients get freed slots oldest first", () => {
    const h = setup({ maxActiveClients: 1 });
    h.ready(1);
    h.join(2);
    h.join(3);
    h.send(1, call("a"));
    const [a] = h.takeBackend();
    h.send(3, call("c"));
    h.send(2, call("b"));
    h.backend({ jsonrpc: "2.0", id: a.id, result: {} });
    const [next] = h.takeBackend();
    expect(h.takeBackend()).toEqual([]);
    h.backend({ jsonrpc: "2.0", id: next.id, result: {} });
    expect(h.takeClient(3).map((m) => m.id)).toEqual(["c"]);
    const [last] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: last.id, result: {} });
    expect(h.takeClient(2).map((m) => m.id)).toEqual(["b"]);
  });

  test("a slot frees when the busy client's request is cancelled, times out, or the client leaves", () => {
    const h = setup({ maxActiveClients: 1, requestTimeoutMs: 1000 });
    h.ready(1);
    h.join(2);
    // cancelled
    h.send(1, call("a1"));
    h.takeBackend();
    h.send(2, call("b1"));
    expect(h.takeBackend()).toEqual([]);
    h.send(1, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "a1" } });
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/cancelled", "tools/call"]);
    // the slot is client 2's now (busy with b1); client 1 waits behind it, then b1 times out
    h.send(1, call("a2"));
    expect(h.takeBackend()).toEqual([]);
    h.clock.advance(1000);
    expect(h.takeClient(2).map((m) => m.error?.data?.reason)).toEqual(["timeout"]);
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/cancelled", "tools/call"]);
    // client 1 is busy with a2; client 2 waits, then client 1 leaves
    h.send(2, call("b2"));
    expect(h.takeBackend()).toEqual([]);
    h.router.clientClosed(1);
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/cancelled", "tools/call"]);
    expect(h.router.stats()).toMatchObject({ connected: 1, active: 1, waiting: 0 });
  });

  test("no slot frees in time: the waiting request gets an error naming max_active_clients, and the client stays", () => {
    const h = setup({ maxActiveClients: 1, requestTimeoutMs: 300 });
    h.ready(1);
    h.join(2);
    h.send(1, call("a1"));
    h.send(2, req(9, "tools/list"));
    h.clock.advance(100);
    h.send(1, call("a2")); // client 1 stays busy past client 2's wait
    h.takeBackend();
    h.clock.advance(199);
    expect(h.takeClient(2)).toEqual([]);
    h.clock.advance(1);
    const [e] = h.takeClient(2);
    expect(e.id).toBe(9);
    expect(e.error.code).toBe(-32603);
    expect(e.error.message).toContain("max_active_clients");
    expect(e.error.data).toMatchObject({ reason: "client_limit", maxActiveClients: 1 });
    expect(h.sent.closed).toEqual([]);
    expect(h.takeBackend().filter((m) => m.method === "tools/list")).toEqual([]);
    // the connection is usable: the next request waits again and is served once client 1's a2 ends
    h.send(2, req(10, "tools/list"));
    expect(h.takeBackend().filter((m) => m.method === "tools/list")).toEqual([]);
    h.clock.advance(100);
    expect(h.takeBackend().filter((m) => m.method === "tools/list")).toHaveLength(1);
  });

  test("a cancellation of a waiting request drops it quietly; the others still wait", () => {
    const { h, first: a } = oneBusy("a");
    h.send(2, call(1));
    h.send(2, call(2));
    h.send(2, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } });
    expect(h.takeBackend()).toEqual([]);
    expect(h.router.stats()).toMatchObject({ waiting: 1, cancelled: 1 });
    h.backend({ jsonrpc: "2.0", id: a.id, result: {} });
    const out = h.takeBackend();
    expect(out).toHaveLength(1);
    h.backend({ jsonrpc: "2.0", id: out[0].id, result: {} });
    expect(h.takeClient(2).map((m) => m.id)).toEqual([2]);
  });

  test("a client leaving while its requests wait leaves nothing behind", () => {
    const { h, first: a } = oneBusy("a");
    h.send(2, call("b"));
    h.router.clientClosed(2);
    expect(h.router.stats().waiting).toBe(0);
    h.backend({ jsonrpc: "2.0", id: a.id, result: {} });
    expect(h.takeBackend()).toEqual([]);
    expect(h.router.footprint()).toMatchObject({ clients: 1, pending: 0 });
  });

  test("the wait is bounded per client: past the cap a request is refused at once", () => {
    const { h } = oneBusy("a");
    for (let i = 0; i < 256; i++) h.send(2, call(i));
    expect(h.takeClient(2)).toEqual([]);
    h.send(2, call("over"));
    const [e] = h.takeClient(2);
    expect(e.id).toBe("over");
    expect(e.error.data.reason).toBe("client_limit");
    expect(e.error.message).toContain("max_active_clients");
    expect(h.router.stats().waiting).toBe(256);
  });

  test("behind a waiting request, notifications keep their order and ping is answered at once", () => {
    const { h, first: a } = oneBusy("a");
    h.send(2, call("b"));
    h.send(2, { jsonrpc: "2.0", method: "notifications/custom/note" });
    h.send(2, req("p", "ping"));
    expect(h.takeClient(2).map((m) => m.id)).toEqual(["p"]);
    expect(h.takeBackend()).toEqual([]);
    expect(h.router.stats().waiting).toBe(1);
    h.backend({ jsonrpc: "2.0", id: a.id, result: {} });
    expect(h.takeBackend().map((m) => m.method)).toEqual(["tools/call", "notifications/custom/note"]);
  });

  test("a notification held behind a request whose wait ran out goes out after its error", () => {
    const h = setup({ maxActiveClients: 1, requestTimeoutMs: 300 });
    h.ready(1);
    h.join(2);
    h.send(1, call("a1"));
    h.send(2, call("b"));
    h.send(2, { jsonrpc: "2.0", method: "notifications/custom/note" });
    h.clock.advance(100);
    h.send(1, call("a2"));
    h.takeBackend();
    h.clock.advance(200);
    expect(h.takeClient(2).map((m) => m.error?.data?.reason)).toEqual(["client_limit"]);
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/cancelled", "notifications/custom/note"]);
  });

  test("a half-closed client that still has a request waiting is busy (it is owed an answer)", () => {
    const { h } = oneBusy("a");
    expect(h.router.clientBusy(2)).toBe(false);
    h.send(2, call("b"));
    expect(h.router.clientBusy(2)).toBe(true);
  });

  test("a refused batch's errors carry each id as the client spelled it", () => {
    const raw: string[] = [];
    const h = setup({ maxActiveClients: 1 }, { toClient: (cid, l) => void (cid === 2 && raw.push(l)) });
    h.ready(1, {}, "2025-03-26");
    h.join(2, {}, "2025-03-26");
    h.send(1, call("a"));
    h.takeBackend();
    for (let i = 0; i < 256; i++) h.send(2, call(i)); // the most a client may have waiting: the next is refused
    h.send(2, '[{"jsonrpc":"2.0","id":"\\u0041","method":"tools/call","params":{"name":"t"}},{"jsonrpc":"2.0","id":1.50,"method":"tools/call","params":{"name":"t"}}]');
    const line = raw.at(-1)!;
    expect(line.startsWith('[{"jsonrpc":"2.0","id":"\\u0041","error":')).toBe(true);
    expect(line).toContain('{"jsonrpc":"2.0","id":1.50,"error":');
  });
});
