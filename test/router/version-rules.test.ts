/**
 * docs/routing.md "versions" and the capability rules: each client is answered its own protocol version and
 * is never sent what that version does not define; the backend's capabilities are never faked.
 */
import { describe, expect, test } from "bun:test";
import { setup } from "./harness.ts";

const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
const note = (method: string, params?: unknown) => ({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });

type H = ReturnType<typeof setup>;

/** Client 1 asks `version`; the backend answers `backend` with `caps`. Returns what the backend was greeted with. */
function start(h: H, version: string, backend: { version?: string; caps?: Record<string, unknown> } = {}, clientCaps: Record<string, unknown> = {}) {
  h.router.clientConnected(1);
  h.router.backendStarted();
  h.send(1, req(0, "initialize", { protocolVersion: version, capabilities: clientCaps, clientInfo: { name: "c1", version: "1" } }));
  const [init] = h.takeBackend();
  const result = {
    protocolVersion: backend.version ?? init.params.protocolVersion,
    capabilities: backend.caps ?? { tools: { listChanged: true }, completions: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
    serverInfo: { name: "s", version: "1" },
    instructions: "use it",
  };
  h.backend({ jsonrpc: "2.0", id: init.id, result });
  h.send(1, note("notifications/initialized"));
  h.takeBackend();
  return { init, answer: h.takeClient(1)[0] };
}

/** A further client asking `version`; returns its initialize answer. */
function join(h: H, cid: number, version: string, caps: Record<string, unknown> = {}) {
  h.router.clientConnected(cid);
  h.send(cid, req("i", "initialize", { protocolVersion: version, capabilities: caps }));
  h.send(cid, note("notifications/initialized"));
  return h.takeClient(cid)[0];
}

describe("versions: the handshake", () => {
  test("the backend is greeted with 2025-11-25, not the first client's version, and once", () => {
    const h = setup();
    const { init, answer } = start(h, "2024-11-05");
    expect(init.params.protocolVersion).toBe("2025-11-25");
    expect(init.params.capabilities).toEqual({ roots: { listChanged: true }, sampling: {}, elicitation: {} });
    expect(answer.result.protocolVersion).toBe("2024-11-05");
    join(h, 2, "2025-06-18");
    expect(h.takeBackend()).toEqual([]);
  });

  test("three clients asking three versions each get their own, with the capabilities their version defines", () => {
    const h = setup();
    const a = start(h, "2025-11-25").answer.result;
    const b = join(h, 2, "2025-06-18").result;
    const c = join(h, 3, "2024-11-05").result;
    expect([a.protocolVersion, b.protocolVersion, c.protocolVersion]).toEqual(["2025-11-25", "2025-06-18", "2024-11-05"]);
    expect(Object.keys(a.capabilities).sort()).toEqual(["completions", "tasks", "tools"]);
    expect(Object.keys(b.capabilities).sort()).toEqual(["completions", "tools"]);
    expect(Object.keys(c.capabilities).sort()).toEqual(["tools"]);
    // everything else is the backend's own, untouched
    for (const r of [a, b, c]) expect([r.serverInfo, r.instructions]).toEqual([{ name: "s", version: "1" }, "use it"]);
  });

  test("a backend that negotiated an older version answers newer clients with its own; unknown versions too", () => {
    const h = setup();
    expect(start(h, "2025-11-25", { version: "2025-06-18" }).answer.result.protocolVersion).toBe("2025-06-18");
    expect(join(h, 2, "2025-03-26").result.protocolVersion).toBe("2025-03-26");
    expect(join(h, 3, "2099-01-01").result.protocolVersion).toBe("2025-06-18");
    expect(join(h, 4, "").result.protocolVersion).toBe("2025-06-18");
  });
});

describe("versions: shaping per client", () => {
  test("batches only for a session that negotiated 2025-03-26", () => {
    const h = setup();
    start(h, "2025-11-25");
    join(h, 2, "2025-03-26");
    join(h, 3, "2025-06-18");
    h.send(2, [req(1, "tools/list")]);
    expect(h.takeBackend()).toMatchObject([{ method: "tools/list" }]);
    for (const cid of [1, 3]) {
      h.send(cid, [req(1, "tools/list")]);
      expect(h.takeClient(cid)).toMatchObject([{ id: null, error: { code: -32600, data: { reason: "batch_not_supported" } } }]);
    }
    expect(h.takeBackend()).toEqual([]);
  });

  test("a client before 2025-11-25 gets -32601 for tasks/*, and its params.task is removed so no task is created", () => {
    const h = setup();
    start(h, "2025-11-25");
    join(h, 2, "2025-06-18");
    for (const [i, m] of ["tasks/get", "tasks/result", "tasks/cancel", "tasks/list"].entries()) {
      h.send(2, req(i, m, { taskId: "t1" }));
      expect(h.takeClient(2)).toEqual([
        expect.objectContaining({ id: i, error: expect.objectContaining({ code: -32601, data: expect.objectContaining({ reason: "not_in_version" }) }) }),
      ]);
    }
    expect(h.takeBackend()).toEqual([]);
    h.send(2, req(9, "tools/call", { name: "research", arguments: { q: 1 }, task: { ttl: 1000 } }));
    const [fwd] = h.takeBackend();
    expect(fwd.params).toEqual({ name: "research", arguments: { q: 1 } });
    h.backend({ jsonrpc: "2.0", id: fwd.id, result: { content: [] } });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: 9, result: { content: [] } }]);
    // the 2025-11-25 client keeps its task-augmented request as sent
    h.send(1, req(1, "tools/call", { name: "research", task: { ttl: 1000 } }));
    expect(h.takeBackend()[0].params.task).toEqual({ ttl: 1000 });
  });

  test("elicitation goes only to a client whose version defines it; none left → the routing error", () => {
    const h = setup();
    start(h, "2025-11-25");
    join(h, 2, "2025-03-26", { elicitation: {} }); // declares it, but its version has no elicitation
    join(h, 3, "2025-06-18", { elicitation: {} });
    h.send(2, req(1, "tools/call", { name: "ask" }));
    h.send(3, req(1, "tools/call", { name: "ask" }));
    h.takeBackend();
    h.backend(req(7, "elicitation/create", { message: "name?", requestedSchema: { type: "object", properties: {} } }));
    expect(h.takeClient(2)).toEqual([]);
    expect(h.takeClient(3)).toMatchObject([{ method: "elicitation/create" }]);
    // URL mode is 2025-11-25 only: the 2025-06-18 client may not be shown it
    h.backend(req(8, "elicitation/create", { mode: "url", elicitationId: "e", url: "https://x", message: "m" }));
    expect(h.takeClient(3)).toEqual([]);
    expect(h.takeBackend()).toMatchObject([{ id: 8, error: { code: -32603, data: { reason: "no_client_for_request" } } }]);
    h.router.clientClosed(3);
    h.takeBackend();
    h.backend(req(9, "elicitation/create", { message: "again?", requestedSchema: { type: "object", properties: {} } }));
    expect(h.takeClient(2)).toEqual([]);
    expect(h.takeBackend()).toMatchObject([{ id: 9, error: { code: -32603, data: { reason: "no_client_for_request" } } }]);
  });

  test("sampling with tools goes only to a 2025-11-25 client", () => {
    const h = setup();
    start(h, "2025-11-25");
    join(h, 2, "2025-06-18", { sampling: {} });
    h.send(2, req(1, "tools/call", { name: "s" }));
    h.takeBackend();
    h.backend(req(3, "sampling/createMessage", { messages: [], maxTokens: 5, tools: [] }));
    expect(h.takeClient(2)).toEqual([]);
    expect(h.takeBackend()).toMatchObject([{ id: 3, error: { data: { reason: "no_client_for_request" } } }]);
    h.backend(req(4, "sampling/createMessage", { messages: [], maxTokens: 5 }));
    expect(h.takeClient(2)).toMatchObject([{ method: "sampling/createMessage" }]);
  });
});

describe("capabilities are the backend's own", () => {
  test("logging/setLevel to a backend without logging goes to it, and its -32601 comes back", () => {
    const h = setup();
    start(h, "2025-11-25", { caps: { tools: {} } });
    join(h, 2, "2025-06-18");
    h.send(2, req(5, "logging/setLevel", { level: "debug" }));
    const [fwd] = h.takeBackend();
    expect(fwd).toMatchObject({ method: "logging/setLevel", params: { level: "debug" } });
    h.backend({ jsonrpc: "2.0", id: fwd.id, error: { code: -32601, message: "Method not found" } });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: 5, error: { code: -32601, message: "Method not found" } }]);
    // nothing was recorded: a leaving client makes the mux send nothing of its own
    h.router.clientClosed(2);
    expect(h.takeBackend()).toEqual([]);
    expect(h.router.footprint().logLevels).toBe(0);
  });

  test("resources/subscribe to a backend without resources.subscribe: every request reaches it, nothing is answered locally", () => {
    const h = setup();
    start(h, "2025-11-25", { caps: { resources: {} } });
    join(h, 2, "2025-11-25");
    h.send(1, req(1, "resources/subscribe", { uri: "file:///a" }));
    h.send(2, req(1, "resources/subscribe", { uri: "file:///a" }));
    const fwd = h.takeBackend();
    expect(fwd.map((m) => m.method)).toEqual(["resources/subscribe", "resources/subscribe"]);
    expect(h.takeClient(1)).toEqual([]);
    expect(h.takeClient(2)).toEqual([]);
    for (const m of fwd) h.backend({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
    expect(h.takeClient(1)[0].error.code).toBe(-32601);
    expect(h.takeClient(2)[0].error.code).toBe(-32601);
    expect(h.router.footprint().subscriptions).toBe(0);
  });

  test("a later subscriber is answered locally only once the backend accepted the URI; a refused one is not subscribed", () => {
    const h = setup();
    start(h, "2025-11-25", { caps: { resources: { subscribe: true } } });
    join(h, 2, "2025-11-25");
    join(h, 3, "2025-11-25");
    h.send(1, req(1, "resources/subscribe", { uri: "file:///gone" }));
    h.send(2, req(1, "resources/subscribe", { uri: "file:///gone" })); // while the first is open: to the backend too
    const [first, second] = h.takeBackend();
    expect([first?.method, second?.method]).toEqual(["resources/subscribe", "resources/subscribe"]);
    h.backend({ jsonrpc: "2.0", id: first.id, error: { code: -32002, message: "Resource not found" } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, error: { code: -32002, message: "Resource not found" } }]);
    h.backend({ jsonrpc: "2.0", id: second.id, result: {} });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }]);
    // now accepted: client 3 is answered by the mux, and updates reach 2 and 3, never the refused client 1
    h.send(3, req(1, "resources/subscribe", { uri: "file:///gone" }));
    expect(h.takeBackend()).toEqual([]);
    expect(h.takeClient(3)).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }]);
    h.backend(note("notifications/resources/updated", { uri: "file:///gone" }));
    expect([h.takeClient(1).length, h.takeClient(2).length, h.takeClient(3).length]).toEqual([0, 1, 1]);
  });

  test("a URI nobody else holds after a refusal is forgotten: the next subscribe goes to the backend again", () => {
    const h = setup();
    start(h, "2025-11-25", { caps: { resources: { subscribe: true } } });
    join(h, 2, "2025-11-25");
    h.send(1, req(1, "resources/subscribe", { uri: "u" }));
    const [sub] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: sub.id, error: { code: -32602, message: "no" } });
    expect(h.router.footprint().subscriptions).toBe(0);
    h.send(2, req(1, "resources/subscribe", { uri: "u" }));
    expect(h.takeBackend()).toMatchObject([{ method: "resources/subscribe", params: { uri: "u" } }]);
    expect(h.takeClient(2)).toEqual([]);
  });

  test("with the logging capability the mux still keeps levels per client", () => {
    const h = setup();
    start(h, "2025-11-25", { caps: { logging: {} } });
    h.send(1, req(1, "logging/setLevel", { level: "error" }));
    expect(h.takeBackend()).toMatchObject([{ method: "logging/setLevel", params: { level: "error" } }]);
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }]);
  });

  test("a pre-tasks client's task-augmented call comes back with its id as it spelled it", () => {
    const raw: string[] = [];
    const h = setup({}, { toClient: (cid, l) => void (cid === 2 && raw.push(l)) });
    start(h, "2025-11-25");
    join(h, 2, "2025-06-18");
    h.send(2, '{"jsonrpc":"2.0","id":"\\u0041b","method":"tools/call","params":{"name":"x","task":{"ttl":1}}}');
    const [fwd] = h.takeBackend();
    expect(fwd.params).toEqual({ name: "x" });
    h.backend({ jsonrpc: "2.0", id: fwd.id, result: {} });
    expect(raw.at(-1)).toBe('{"jsonrpc":"2.0","id":"\\u0041b","result":{}}');
  });
});
