/** One test per rule of docs/routing.md, on the pure router. */
import { describe, expect, test } from "bun:test";
import { setup } from "./harness.ts";

const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
const note = (method: string, params?: unknown) => ({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });

describe("progress", () => {
  test("tokens are made unique per request and progress goes only to its owner with its own token", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.send(1, req(1, "tools/call", { name: "x", _meta: { progressToken: 1 } }));
    h.send(2, req(1, "tools/call", { name: "x", _meta: { progressToken: 1 } }));
    const [a, b] = h.takeBackend();
    expect(a.params._meta.progressToken).not.toBe(b.params._meta.progressToken);
    h.backend(note("notifications/progress", { progressToken: b.params._meta.progressToken, progress: 5 }));
    expect(h.takeClient(1)).toEqual([]);
    expect(h.takeClient(2)).toEqual([note("notifications/progress", { progressToken: 1, progress: 5 })]);
    h.backend({ jsonrpc: "2.0", id: b.id, result: {} });
    h.takeClient(2);
    h.backend(note("notifications/progress", { progressToken: b.params._meta.progressToken, progress: 6 }));
    expect(h.takeClient(2)).toEqual([]); // never after the response
  });

  test("a client that leaves with a progress token open leaves no progress entry behind", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.send(2, req(7, "tools/call", { name: "x", _meta: { progressToken: "p" } }));
    const [fwd] = h.takeBackend();
    expect(h.router.footprint().progress).toBe(1);
    h.router.clientClosed(2);
    // inspected while the backend lives on: a restart would clear the table and hide a leak
    expect(h.router.footprint()).toMatchObject({ progress: 0, pending: 0, clients: 1 });
    h.backend(note("notifications/progress", { progressToken: fwd.params._meta.progressToken, progress: 1 }));
    expect(h.sent.toClient).toEqual([]);
  });

  test("unknown tokens are dropped", () => {
    const h = setup();
    h.ready(1);
    h.backend(note("notifications/progress", { progressToken: 999, progress: 1 }));
    expect(h.takeClient(1)).toEqual([]);
  });
});

describe("server → client requests", () => {
  test("a backend ping is answered by the mux", () => {
    const h = setup();
    h.ready(1);
    h.backend(req(0, "ping"));
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: 0, result: {} }]);
    expect(h.takeClient(1)).toEqual([]);
  });

  test("sampling goes to the one capable client with a call in flight, and its answer returns with the backend's id", () => {
    const h = setup();
    h.ready(1, { sampling: {} });
    h.join(2, { sampling: {} });
    h.send(2, req(10, "tools/call", { name: "sample" }));
    h.takeBackend();
    h.backend(req("s-0", "sampling/createMessage", { messages: [] }));
    expect(h.takeClient(1)).toEqual([]);
    const [sr] = h.takeClient(2);
    expect(sr.method).toBe("sampling/createMessage");
    h.send(1, { jsonrpc: "2.0", id: sr.id, result: { stolen: true } }); // not sent to client 1: dropped
    expect(h.takeBackend()).toEqual([]);
    h.send(2, { jsonrpc: "2.0", id: sr.id, result: { content: "ok" } });
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: "s-0", result: { content: "ok" } }]);
  });

  test("with several candidates, elicitation is refused as ambiguous instead of guessed", () => {
    const h = setup();
    h.ready(1, { elicitation: {} });
    h.join(2, { elicitation: {} });
    h.send(1, req(1, "a"));
    h.send(2, req(1, "b"));
    h.takeBackend();
    h.backend(req(3, "elicitation/create", { message: "?" }));
    const [e] = h.takeBackend();
    expect(e.id).toBe(3);
    expect(e.error.code).toBe(-32603);
    expect(e.error.data.reason).toBe("ambiguous_client");
    expect(h.takeClient(1)).toEqual([]);
    expect(h.takeClient(2)).toEqual([]);
  });

  test("with no capable client, sampling fails at once and roots/list is answered empty", () => {
    const h = setup();
    h.ready(1);
    h.backend(req(4, "sampling/createMessage", {}));
    h.backend(req(5, "roots/list"));
    const [s, r] = h.takeBackend();
    expect(s.error.data.reason).toBe("no_client_for_request");
    expect(r).toEqual({ jsonrpc: "2.0", id: 5, result: { roots: [] } });
  });

  test("roots/list with several candidates asks each and answers the union", () => {
    const h = setup();
    h.ready(1, { roots: {} });
    h.join(2, { roots: {} });
    h.backend(req(6, "roots/list"));
    const [a] = h.takeClient(1);
    const [b] = h.takeClient(2);
    h.send(1, { jsonrpc: "2.0", id: a.id, result: { roots: [{ uri: "file:///a" }, { uri: "file:///c" }] } });
    expect(h.takeBackend()).toEqual([]);
    h.send(2, { jsonrpc: "2.0", id: b.id, result: { roots: [{ uri: "file:///b" }, { uri: "file:///c" }] } });
    const [merged] = h.takeBackend();
    expect(merged.id).toBe(6);
    expect(merged.result.roots.map((r: { uri: string }) => r.uri).sort()).toEqual(["file:///a", "file:///b", "file:///c"]);
  });

  test("an idle client is never shown another client's sampling or elicitation request", () => {
    const h = setup();
    h.ready(1, { sampling: {}, elicitation: {} }); // capable, but nothing in flight
    h.join(2); // the caller: declared neither
    h.send(2, req(1, "tools/call", { name: "trigger-elicitation-request" }));
    h.takeBackend();
    h.backend(req(4, "elicitation/create", { message: "your password?" }));
    h.backend(req(5, "sampling/createMessage", {}));
    expect(h.takeClient(1)).toEqual([]);
    const [e, s] = h.takeBackend();
    expect(e.error.message).toContain("has a request in flight");
    expect(s.error.data.reason).toBe("no_client_for_request");
  });

  test("a target that disconnects fails the backend's request instead of leaving it waiting", () => {
    const h = setup();
    h.ready(1, { sampling: {} });
    h.send(1, req(1, "tools/call", { name: "sample" }));
    h.takeBackend();
    h.backend(req(7, "sampling/createMessage", {}));
    h.takeClient(1);
    h.router.clientClosed(1);
    const out = h.takeBackend();
    expect(out.find((m) => m.id === 7)?.error.data.reason).toBe("client_disconnected");
  });

  test("a backend cancellation of a server request reaches the client with the id it saw", () => {
    const h = setup();
    h.ready(1, { sampling: {} });
    h.send(1, req(1, "tools/call", { name: "sample" }));
    h.takeBackend();
    h.backend(req("q", "sampling/createMessage", {}));
    const [sr] = h.takeClient(1);
    h.backend(note("notifications/cancelled", { requestId: "q", reason: "late" }));
    expect(h.takeClient(1)).toEqual([note("notifications/cancelled", { requestId: sr.id, reason: "late" })]);
  });

  test("elicitation completion goes only to the client that was shown the elicitation", () => {
    const h = setup();
    h.ready(1, { elicitation: {} }, "2025-11-25");
    h.join(2);
    h.send(1, req(1, "tools/call", { name: "ask" }));
    h.takeBackend();
    h.backend(req(8, "elicitation/create", { mode: "url", elicitationId: "e1", url: "https://x", message: "m" }));
    h.takeClient(1);
    h.backend(note("notifications/elicitation/complete", { elicitationId: "e1" }));
    expect(h.takeClient(1)).toEqual([note("notifications/elicitation/complete", { elicitationId: "e1" })]);
    expect(h.takeClient(2)).toEqual([]);
  });
});

describe("subscriptions", () => {
  test("first subscribe and last unsubscribe reach the backend; updates go to subscribers only", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.join(3);
    h.send(1, req(1, "resources/subscribe", { uri: "u" }));
    const [sub] = h.takeBackend();
    expect(sub.method).toBe("resources/subscribe");
    h.backend({ jsonrpc: "2.0", id: sub.id, result: {} });
    h.send(2, req(1, "resources/subscribe", { uri: "u" }));
    expect(h.takeBackend()).toEqual([]);
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }]);
    h.backend(note("notifications/resources/updated", { uri: "u" }));
    expect(h.takeClient(1)).toHaveLength(2);
    expect(h.takeClient(2)).toHaveLength(1);
    expect(h.takeClient(3)).toEqual([]);
    h.send(1, req(2, "resources/unsubscribe", { uri: "u" }));
    expect(h.takeBackend()).toEqual([]);
    h.router.clientClosed(2); // the last subscriber leaves without unsubscribing
    expect(h.takeBackend()).toMatchObject([{ method: "resources/unsubscribe", params: { uri: "u" } }]);
  });
});

describe("broadcasts and logging", () => {
  test("list_changed reaches every initialized client", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.router.clientConnected(3); // not initialized
    h.backend(note("notifications/tools/list_changed"));
    expect(h.takeClient(1)).toHaveLength(1);
    expect(h.takeClient(2)).toHaveLength(1);
    expect(h.takeClient(3)).toEqual([]);
  });

  test("setLevel is kept per client, the backend runs at the most verbose, messages are filtered", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.send(1, req(1, "logging/setLevel", { level: "error" }));
    expect(h.takeBackend()).toMatchObject([{ method: "logging/setLevel", params: { level: "error" } }]);
    h.send(2, req(1, "logging/setLevel", { level: "debug" }));
    expect(h.takeBackend()).toMatchObject([{ method: "logging/setLevel", params: { level: "debug" } }]);
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }]);
    h.backend(note("notifications/message", { level: "info", data: "x" }));
    h.backend(note("notifications/message", { level: "critical", data: "y" }));
    expect(h.takeClient(1).map((m) => m.params.data)).toEqual(["y"]);
    expect(h.takeClient(2).filter((m) => m.method).map((m) => m.params.data)).toEqual(["x", "y"]);
    h.router.clientClosed(2);
    expect(h.takeBackend()).toMatchObject([{ method: "logging/setLevel", params: { level: "error" } }]);
  });
});

describe("tasks", () => {
  test("a task belongs to the client that created it", () => {
    const h = setup();
    h.ready(1, {}, "2025-11-25");
    h.join(2, {}, "2025-11-25");
    h.send(1, req(1, "tools/call", { name: "research", task: { ttl: 60000 } }));
    const [call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: call.id, result: { task: { taskId: "t1", status: "working" } } });
    expect(h.takeClient(1)[0].result.task.taskId).toBe("t1");
    h.send(2, req(2, "tasks/get", { taskId: "t1" }));
    expect(h.takeClient(2)[0].error.code).toBe(-32602);
    expect(h.takeBackend()).toEqual([]);
    h.send(1, req(3, "tasks/get", { taskId: "t1" }));
    expect(h.takeBackend()).toMatchObject([{ method: "tasks/get" }]);
    h.backend(note("notifications/tasks/status", { taskId: "t1", status: "completed" }));
    expect(h.takeClient(1)).toHaveLength(1);
    expect(h.takeClient(2)).toEqual([]);
  });

  test("tasks/list shows a client only its own tasks", () => {
    const h = setup();
    h.ready(1, {}, "2025-11-25");
    h.join(2, {}, "2025-11-25");
    h.send(1, req(1, "tools/call", { name: "r", task: {} }));
    const [call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: call.id, result: { task: { taskId: "mine", status: "working" } } });
    h.send(2, req(1, "tasks/list"));
    const [list] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: list.id, result: { tasks: [{ taskId: "mine" }, { taskId: "other" }] } });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: 1, result: { tasks: [] } }]);
  });

  test("a server request tied to a task goes to the task's owner", () => {
    const h = setup();
    h.ready(1, { elicitation: {} }, "2025-11-25");
    h.join(2, { elicitation: {} }, "2025-11-25");
    h.send(2, req(1, "tools/call", { name: "r", task: {} }));
    const [call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: call.id, result: { task: { taskId: "t2", status: "working" } } });
    h.takeClient(2);
    h.send(1, req(5, "tools/call", { name: "busy" })); // client 1 has a call in flight, 2 does not
    h.takeBackend();
    h.backend(req(9, "elicitation/create", { message: "?", _meta: { "io.modelcontextprotocol/related-task": { taskId: "t2" } } }));
    expect(h.takeClient(1)).toEqual([]);
    expect(h.takeClient(2)[0].method).toBe("elicitation/create");
  });
});

describe("batches", () => {
  const init = (h: ReturnType<typeof setup>, cid: number, version: string) => {
    h.router.clientConnected(cid);
    h.send(cid, req(0, "initialize", { protocolVersion: version, capabilities: {} }));
    h.takeClient(cid);
  };

  test("a 2025-03-26 batch is split, forwarded singly and answered with one array", () => {
    const h = setup();
    h.ready(1);
    init(h, 2, "2025-03-26");
    h.send(2, [req(1, "a"), note("notifications/x"), req("2", "b"), req(3, "ping")]);
    const fwd = h.takeBackend().filter((m) => m.id !== undefined);
    expect(fwd.map((m) => m.method)).toEqual(["a", "b"]);
    h.backend({ jsonrpc: "2.0", id: fwd[1].id, result: { b: 1 } });
    expect(h.takeClient(2)).toEqual([]);
    h.backend({ jsonrpc: "2.0", id: fwd[0].id, result: { a: 1 } });
    const [arr] = h.takeClient(2);
    expect(Array.isArray(arr)).toBe(true);
    expect(arr.map((m: { id: unknown }) => m.id).sort()).toEqual([1, "2", 3].sort());
  });

  test("a batch with a cancelled request still answers the rest, and the client is no longer busy", () => {
    const h = setup();
    h.ready(1);
    init(h, 2, "2025-03-26");
    h.send(2, [req(1, "tools/call", { name: "a" }), req(2, "tools/call", { name: "b" })]);
    const fwd = h.takeBackend();
    expect(fwd.map((m) => m.params.name)).toEqual(["a", "b"]);
    h.send(2, note("notifications/cancelled", { requestId: 1, reason: "user" }));
    expect(h.takeBackend()).toEqual([note("notifications/cancelled", { requestId: fwd[0].id, reason: "user" })]);
    h.backend({ jsonrpc: "2.0", id: fwd[1].id, result: { b: 1 } });
    expect(h.takeClient(2)).toEqual([[{ jsonrpc: "2.0", id: 2, result: { b: 1 } }]]);
    expect(h.router.clientBusy(2)).toBe(false);
    // the cancelled one's late answer is dropped, not sent alone
    h.backend({ jsonrpc: "2.0", id: fwd[0].id, result: { a: 1 } });
    expect(h.takeClient(2)).toEqual([]);
  });

  test("cancelling the last open request of a batch sends the batch with what it has", () => {
    const h = setup();
    h.ready(1);
    init(h, 2, "2025-03-26");
    h.send(2, [req(1, "tools/call", { name: "a" }), req(2, "ping")]);
    const [fwd] = h.takeBackend();
    h.send(2, note("notifications/cancelled", { requestId: 1 }));
    expect(h.takeClient(2)).toEqual([[{ jsonrpc: "2.0", id: 2, result: {} }]]);
    expect(h.router.clientBusy(2)).toBe(false);
    expect(fwd.params.name).toBe("a");
  });

  test("a batch request cancelled while still queued (backend restarting) no longer holds the batch", () => {
    const h = setup();
    h.ready(1);
    init(h, 2, "2025-03-26");
    h.router.backendExited("crash", true);
    h.send(2, [req(1, "tools/call", { name: "a" }), req(2, "tools/call", { name: "b" })]);
    expect(h.takeBackend()).toEqual([]); // queued: no backend process
    h.send(2, note("notifications/cancelled", { requestId: 1 }));
    h.router.backendStarted();
    const [replay] = h.takeBackend();
    expect(replay.method).toBe("initialize");
    h.backend({ jsonrpc: "2.0", id: replay.id, result: { protocolVersion: "2025-03-26", capabilities: {}, serverInfo: { name: "s", version: "1" } } });
    const calls = h.takeBackend().filter((m) => m.method === "tools/call");
    expect(calls.map((m) => m.params.name)).toEqual(["b"]);
    h.backend({ jsonrpc: "2.0", id: calls[0].id, result: { b: 1 } });
    expect(h.takeClient(2)).toEqual([[{ jsonrpc: "2.0", id: 2, result: { b: 1 } }]]);
    expect(h.router.clientBusy(2)).toBe(false);
  });

  test("other versions get -32600 for a batch", () => {
    const h = setup();
    h.ready(1);
    h.send(1, [req(1, "a")]);
    const [e] = h.takeClient(1);
    expect(e.error.code).toBe(-32600);
    expect(h.takeBackend()).toEqual([]);
  });
});

describe("protocol versions", () => {
  test("a client asking another version gets the backend's version and completes its handshake", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req(1, "initialize", { protocolVersion: "2099-01-01", capabilities: {} }));
    const [r] = h.takeClient(2);
    expect(r.result.protocolVersion).toBe("2025-11-25"); // the backend's, as it answered the mux's greeting
    h.send(2, req(2, "tools/list"));
    expect(h.takeBackend()).toMatchObject([{ method: "tools/list" }]);
  });
});
