/** The 2026-07-28 era rules on the pure router (docs/routing.md, "eras"). */
import { describe, expect, test } from "bun:test";
import { setup } from "./harness.ts";

const V = "2026-07-28";
const env = (name: string, extra: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": V,
  "io.modelcontextprotocol/clientInfo": { name, version: "1" },
  "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
  ...extra,
});
const req = (id: unknown, method: string, name: string, params: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id,
  method,
  params: { ...params, _meta: env(name, meta) },
});
const REFUSAL = { code: -32022, message: "Unsupported protocol version", data: { supported: [V], requested: "2025-11-25" } };
const DISCOVER = (scope: string, caps: Record<string, unknown> = {}) => ({
  resultType: "complete",
  supportedVersions: [V],
  capabilities: { tools: {}, logging: {}, resources: { subscribe: true }, ...caps },
  ttlMs: 0,
  cacheScope: scope,
  _meta: { "io.modelcontextprotocol/serverInfo": { name: "m", version: "1" } },
});

/** A modern-only backend brought up by modern client 1's discover; its discover result is scoped `scope`. */
function modernBackend(scope = "private", opts: Parameters<typeof setup>[0] = {}, caps: Record<string, unknown> = {}) {
  const h = setup(opts);
  h.router.clientConnected(1);
  h.send(1, req(1, "server/discover", "one"));
  h.router.backendStarted();
  const [init] = h.takeBackend();
  expect(init.method).toBe("initialize");
  h.backend({ jsonrpc: "2.0", id: init.id, error: REFUSAL });
  const [disc] = h.takeBackend();
  expect(disc.method).toBe("server/discover");
  h.backend({ jsonrpc: "2.0", id: disc.id, result: DISCOVER(scope, caps) });
  const after = h.takeBackend();
  // the mux's own listen for list_changed (for 2025 clients) opens at once
  expect(after.find((m) => m.method === "subscriptions/listen")?.params.notifications).toEqual({ toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true });
  // client 1's discover: a private result is the requester's own, so the client's own goes to the backend
  const own = after.filter((m) => m.method === "server/discover");
  if (scope === "private") {
    expect(own.length).toBe(1);
    h.backend({ jsonrpc: "2.0", id: own[0].id, result: DISCOVER(scope) });
  } else expect(own).toEqual([]);
  return h;
}

describe("greeting and discovery", () => {
  test("a cold backend is greeted with initialize first; a modern client's discover is answered as soon as the era is known", () => {
    const h = setup();
    h.router.clientConnected(1);
    h.send(1, req("d", "server/discover", "one"));
    expect(h.wants).toBe(1);
    h.router.backendStarted();
    const [init] = h.takeBackend();
    expect(init.method).toBe("initialize");
    expect(h.takeClient(1)).toEqual([]);
    h.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "s", version: "1" } } });
    // a 2025 backend: discover comes from its initialize result, and it got its notifications/initialized
    expect(h.takeBackend().map((m) => m.method)).toEqual(["notifications/initialized"]);
    const [answer] = h.takeClient(1);
    expect(answer.id).toBe("d");
    expect(answer.result).toMatchObject({ resultType: "complete", supportedVersions: [V], capabilities: { tools: {} }, cacheScope: "public" });
    expect(answer.result._meta["io.modelcontextprotocol/serverInfo"].name).toBe("s");
  });

  test("after a legacy client, a modern client's discover is answered at once from cache, never sent to the 2025 session", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req(7, "server/discover", "two"));
    expect(h.takeBackend()).toEqual([]);
    expect(h.takeClient(2)[0]).toMatchObject({ id: 7, result: { supportedVersions: [V] } });
  });

  test("a modern-only backend's refusal switches the greeting to server/discover, also after a restart", () => {
    const h = modernBackend();
    expect(h.takeClient(1)[0]).toMatchObject({ id: 1, result: { supportedVersions: [V] } });
    h.router.backendExited("crash", true);
    h.router.backendStarted();
    expect(h.takeBackend().map((m) => m.method)).toEqual(["server/discover"]);
  });

  test("a private discover result is never served to another client; a public one is", () => {
    const h = modernBackend("private");
    h.takeClient(1);
    h.router.clientConnected(2);
    h.send(2, req(5, "server/discover", "two"));
    const fwd = h.takeBackend().filter((m) => m.method === "server/discover");
    expect(fwd.length).toBe(1);
    expect(fwd[0].params._meta["io.modelcontextprotocol/clientInfo"].name).toBe("two");
    const pub = modernBackend("public");
    pub.takeClient(1);
    pub.router.clientConnected(2);
    pub.send(2, req(5, "server/discover", "two"));
    expect(pub.takeBackend().filter((m) => m.method === "server/discover")).toEqual([]);
    expect(pub.takeClient(2)[0]).toMatchObject({ id: 5, result: { cacheScope: "public" } });
  });

  test("a 2025 client on a modern backend gets initialize from discover, and its requests carry its envelope", () => {
    const h = modernBackend();
    h.router.clientConnected(2);
    h.send(2, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: { roots: {} }, clientInfo: { name: "old", version: "9" } } });
    const [init] = h.takeClient(2);
    expect(init.result).toEqual({ protocolVersion: "2025-06-18", capabilities: DISCOVER("private").capabilities, serverInfo: { name: "m", version: "1" } });
    h.send(2, { jsonrpc: "2.0", method: "notifications/initialized" });
    h.send(2, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "x" } });
    const [call] = h.takeBackend().filter((m) => m.method === "tools/call");
    expect(call.params._meta).toEqual({
      "io.modelcontextprotocol/protocolVersion": V,
      "io.modelcontextprotocol/clientCapabilities": { roots: {} },
      "io.modelcontextprotocol/clientInfo": { name: "old", version: "9" },
    });
    h.backend({ jsonrpc: "2.0", id: call.id, result: { content: [], resultType: "complete" } });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: 3, result: { content: [] } }]);
  });
});

describe("modern clients on a modern backend", () => {
  test("_meta passes untouched; ids are rewritten and restored", () => {
    const h = modernBackend();
    const line = JSON.stringify(req("a\"b", "tools/call", "one", { name: "x" }));
    h.router.clientLine(1, line);
    const [call] = h.takeBackend().filter((m) => m.method === "tools/call");
    expect(call.params._meta).toEqual(env("one"));
    h.backend({ jsonrpc: "2.0", id: call.id, result: { resultType: "complete", content: [] } });
    expect(h.takeClient(1).at(-1)).toEqual({ jsonrpc: "2.0", id: 'a"b', result: { resultType: "complete", content: [] } });
  });

  test("a listen never times out; its notifications go to its listener only, with the client's id; leaving cancels it", () => {
    const h = modernBackend();
    h.router.clientConnected(2);
    h.takeClient(1);
    h.send(1, req("L1", "subscriptions/listen", "one", { notifications: { resourceSubscriptions: ["u://a"] } }));
    h.send(2, req(9, "subscriptions/listen", "two", { notifications: { toolsListChanged: true } }));
    const [l1, l2] = h.takeBackend().filter((m) => m.method === "subscriptions/listen");
    const tag = (id: number) => ({ "io.modelcontextprotocol/subscriptionId": id });
    h.backend({ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "u://a", _meta: tag(l1.id) } });
    h.backend({ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: tag(l2.id) } });
    h.clock.advance(10_000);
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "u://a", _meta: { "io.modelcontextprotocol/subscriptionId": "L1" } } }]);
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { "io.modelcontextprotocol/subscriptionId": 9 } } }]);
    expect(h.router.clientBusy(1)).toBe(false);
    h.router.clientClosed(1);
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: l1.id, reason: "client disconnected" } }]);
  });

  test("a log message goes to the one client whose open request asked for logs; with two such clients it is dropped", () => {
    const h = modernBackend();
    h.router.clientConnected(2);
    h.takeClient(1);
    const LEVEL = { "io.modelcontextprotocol/logLevel": "info" };
    h.send(1, req(1, "tools/call", "one", { name: "x" }, LEVEL));
    h.send(2, req(1, "tools/call", "two", { name: "x" }));
    const msg = { jsonrpc: "2.0", method: "notifications/message", params: { level: "warning", data: "w" } };
    h.backend(msg);
    expect(h.takeClient(1)).toEqual([msg]);
    expect(h.takeClient(2)).toEqual([]);
    h.backend({ ...msg, params: { level: "debug", data: "below info" } });
    expect(h.takeClient(1)).toEqual([]);
    h.send(2, req(2, "tools/call", "two", { name: "y" }, LEVEL));
    h.backend(msg);
    expect(h.takeClient(1)).toEqual([]);
    expect(h.takeClient(2)).toEqual([]);
  });
});

describe("limits of open listens and input rounds", () => {
  test("an open listen holds no client slot: another client's request goes out at once", () => {
    const h = modernBackend("public", { maxActiveClients: 1 });
    h.send(1, req("L", "subscriptions/listen", "one", { notifications: { toolsListChanged: true } }));
    expect(h.takeBackend().map((m) => m.method)).toEqual(["subscriptions/listen"]);
    h.router.clientConnected(2);
    h.send(2, req(5, "tools/list", "two"));
    expect(h.takeBackend().map((m) => m.method)).toEqual(["tools/list"]);
  });

  test("a listen id holding $' and $& comes back byte for byte on its notifications", () => {
    const h = modernBackend("public");
    h.takeClient(1);
    const id = "a$'b$&c$$";
    h.send(1, req(id, "subscriptions/listen", "one", { notifications: { toolsListChanged: true } }));
    const [l] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { "io.modelcontextprotocol/subscriptionId": l.id } } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { "io.modelcontextprotocol/subscriptionId": id } } }]);
  });

  test("a call answered input_required and never retried times out: the client gets the error, the backend a cancel", () => {
    const h = setup({ requestTimeoutMs: 1000 });
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req("c1", "tools/call", "two", { name: "ask" }));
    const [call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: 0, method: "elicitation/create", params: { message: "name?", requestedSchema: {} } });
    expect(h.takeClient(2)[0].result.resultType).toBe("input_required");
    h.clock.advance(1001);
    const [err] = h.takeClient(2);
    expect([err.id, err.error.data.reason]).toEqual(["c1", "timeout"]);
    expect(h.takeBackend()).toContainEqual({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: call.id, reason: "request timed out in rmcp-mux" } });
    expect(h.router.clientBusy(2)).toBe(false);
  });

  test("a 2025 client that never answers a modern backend's input requests gets the timeout error for its call", () => {
    const h = modernBackend("public");
    h.router.clientConnected(2);
    h.send(2, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: { elicitation: {} }, clientInfo: { name: "old", version: "9" } } });
    h.send(2, { jsonrpc: "2.0", method: "notifications/initialized" });
    h.takeClient(2);
    const before = h.router.footprint().eras; // its envelope, kept while it is connected
    h.send(2, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "ask" } });
    const [call] = h.takeBackend().filter((m) => m.method === "tools/call");
    const ask = { method: "elicitation/create", params: { message: "name?", requestedSchema: {} } };
    h.backend({ jsonrpc: "2.0", id: call.id, result: { resultType: "input_required", inputRequests: { k: ask }, requestState: "s1" } });
    const [asked] = h.takeClient(2);
    expect(asked.method).toBe("elicitation/create");
    expect(h.router.clientBusy(2)).toBe(true); // it is owed the call's answer
    h.clock.advance(1000);
    const [err] = h.takeClient(2);
    expect([err.id, err.error.data.reason]).toEqual([3, "timeout"]);
    expect(h.router.clientBusy(2)).toBe(false);
    expect(h.router.footprint().eras).toBe(before); // the round is gone
  });

  test("a 2024-11-05 client of a modern-only backend is not offered capabilities its version lacks", () => {
    const h = modernBackend("public", {}, { completions: {}, tasks: { list: {} } });
    h.router.clientConnected(2);
    h.send(2, { jsonrpc: "2.0", id: "i", method: "initialize", params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "old", version: "1" } } });
    const [init] = h.takeClient(2);
    expect(init.result.protocolVersion).toBe("2024-11-05");
    expect(init.result.capabilities.completions).toBeUndefined();
    expect(init.result.capabilities.tasks).toBeUndefined();
    expect(init.result.capabilities.tools).toEqual({});
  });
});

describe("modern clients on a 2025 backend (the bridge)", () => {
  test("results get resultType, lists ttlMs and cacheScope private", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req(1, "tools/list", "two"));
    h.send(2, req(2, "tools/call", "two", { name: "x" }));
    const [list, call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: list.id, result: { tools: [] } });
    h.backend({ jsonrpc: "2.0", id: call.id, result: { content: [] } });
    expect(h.takeClient(2)).toEqual([
      { jsonrpc: "2.0", id: 1, result: { tools: [], resultType: "complete", ttlMs: 0, cacheScope: "private" } },
      { jsonrpc: "2.0", id: 2, result: { content: [], resultType: "complete" } },
    ]);
  });

  test("with share = auto watching tool names, a modern client's tools/list is still shaped; a 2025 client's is read for hints", () => {
    const hints: string[] = [];
    const h = setup({}, { sharingHint: (x) => void hints.push(x.policy) });
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req(1, "tools/list", "two"));
    const [list] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: list.id, result: { tools: [{ name: "browser_navigate", inputSchema: {} }] } });
    expect(h.takeClient(2)).toEqual([
      { jsonrpc: "2.0", id: 1, result: { tools: [{ name: "browser_navigate", inputSchema: {} }], resultType: "complete", ttlMs: 0, cacheScope: "private" } },
    ]);
    h.send(1, { jsonrpc: "2.0", id: "l", method: "tools/list" });
    const [legacyList] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: legacyList.id, result: { tools: [{ name: "browser_navigate", inputSchema: {} }] } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: "l", result: { tools: [{ name: "browser_navigate", inputSchema: {} }] } }]);
    expect(hints).toEqual(["per-client"]);
  });

  test("a backend request during a modern client's call becomes input_required; the retry answers it and gets the result", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req("c1", "tools/call", "two", { name: "ask" }));
    const [call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: 0, method: "elicitation/create", params: { message: "name?", requestedSchema: {} } });
    const [ir] = h.takeClient(2);
    expect(ir.id).toBe("c1");
    expect(ir.result.resultType).toBe("input_required");
    const [key] = Object.keys(ir.result.inputRequests);
    expect(ir.result.inputRequests[key!]).toEqual({ method: "elicitation/create", params: { message: "name?", requestedSchema: {} } });
    h.send(2, req("c2", "tools/call", "two", { name: "ask", inputResponses: { [key!]: { action: "accept", content: { n: 1 } } }, requestState: ir.result.requestState }));
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: 0, result: { action: "accept", content: { n: 1 } } }]);
    h.backend({ jsonrpc: "2.0", id: call.id, result: { content: [{ type: "text", text: "done" }] } });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: "c2", result: { content: [{ type: "text", text: "done" }], resultType: "complete" } }]);
    expect(h.takeClient(1)).toEqual([]);
  });

  test("listen becomes a counted resources/subscribe, acknowledged by the mux; updates are tagged per listen", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req("s", "subscriptions/listen", "two", { notifications: { resourceSubscriptions: ["u://a"], toolsListChanged: true } }));
    expect(h.takeBackend()).toMatchObject([{ method: "resources/subscribe", params: { uri: "u://a" } }]);
    expect(h.takeClient(2)).toEqual([
      {
        jsonrpc: "2.0",
        method: "notifications/subscriptions/acknowledged",
        // the backend declared no tools.listChanged: only what it can honour is acknowledged
        params: { notifications: { resourceSubscriptions: ["u://a"] }, _meta: { "io.modelcontextprotocol/subscriptionId": "s" } },
      },
    ]);
    // a 2025 client's subscribe to the same URI: counted with the listen; the mux answers it only once the
    // backend accepted the URI (the listen's own subscribe is the mux's, its answer only logged)
    h.send(1, { jsonrpc: "2.0", id: 4, method: "resources/subscribe", params: { uri: "u://a" } });
    const [sub] = h.takeBackend();
    expect(sub).toMatchObject({ method: "resources/subscribe", params: { uri: "u://a" } });
    h.backend({ jsonrpc: "2.0", id: sub.id, result: {} });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 4, result: {} }]);
    h.backend({ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "u://a" } });
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "u://a", _meta: { "io.modelcontextprotocol/subscriptionId": "s" } } }]);
    expect(h.takeClient(1).filter((m) => m.method)).toEqual([{ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "u://a" } }]);
    h.send(2, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "s", _meta: env("two") } });
    h.router.clientClosed(1);
    expect(h.takeBackend()).toMatchObject([{ method: "resources/unsubscribe", params: { uri: "u://a" } }]);
  });
});

describe("liveness", () => {
  test("the heartbeat never sends ping before the handshake: it greets an idle process with initialize first", () => {
    const h = setup();
    h.router.backendStarted();
    expect(h.router.pingBackend(() => {})).toBe(false);
    expect(h.takeBackend().map((m) => m.method)).toEqual(["initialize"]);
  });
});

describe("nothing outlives its client", () => {
  test("listens, log levels, input rounds and envelopes are forgotten when their clients leave", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req("s", "subscriptions/listen", "two", { notifications: { resourceSubscriptions: ["u://a"] } }));
    h.send(2, req("c", "tools/call", "two", { name: "ask" }, { "io.modelcontextprotocol/logLevel": "debug" }));
    h.backend({ jsonrpc: "2.0", id: 0, method: "elicitation/create", params: { message: "?", requestedSchema: {} } });
    expect(h.router.footprint().eras).toBeGreaterThan(0);
    h.router.clientClosed(2);
    h.router.clientClosed(1);
    h.clock.advance(5000);
    const left = h.router.footprint();
    expect(left).toMatchObject({ eras: 0, clients: 0, subscriptions: 0, serverRequests: 0, serverRequestIds: 0 });
  });
});

describe("a modern client that never sends server/discover (a stateless requester)", () => {
  test("is served from its first request on a cold backend, and gets the backend's refusal if the greeting fails", () => {
    const h = setup();
    h.router.clientConnected(1);
    h.send(1, req(1, "tools/call", "one", { name: "x" }));
    expect(h.wants).toBe(1);
    h.router.backendStarted();
    const [init] = h.takeBackend();
    expect(init.method).toBe("initialize");
    h.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion: "2025-11-25", capabilities: {}, serverInfo: { name: "s", version: "1" } } });
    const [call] = h.takeBackend().filter((m) => m.method === "tools/call");
    expect(call.params._meta).toEqual(env("one"));
    h.backend({ jsonrpc: "2.0", id: call.id, result: { content: [] } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, result: { content: [], resultType: "complete" } }]);

    const f = setup();
    f.router.clientConnected(1);
    f.send(1, req(1, "tools/list", "one"));
    f.router.backendStarted();
    const [i2] = f.takeBackend();
    f.backend({ jsonrpc: "2.0", id: i2.id, error: { code: -32603, message: "no" } });
    expect(f.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, error: { code: -32603, message: "no" } }]);
  });
});

describe("a parked call answered before its retry", () => {
  test("the retry gets the call's answer, shaped for the modern client", () => {
    const h = setup();
    h.ready(1);
    h.router.clientConnected(2);
    h.send(2, req("c1", "tools/call", "two", { name: "ask" }));
    const [call] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: 0, method: "elicitation/create", params: { message: "?", requestedSchema: {} } });
    const [ir] = h.takeClient(2);
    h.backend({ jsonrpc: "2.0", id: call.id, result: { content: [], isError: true } });
    expect(h.takeClient(2)).toEqual([]);
    const key = Object.keys(ir.result.inputRequests)[0]!;
    h.send(2, req("c2", "tools/call", "two", { name: "ask", inputResponses: { [key]: { action: "decline" } }, requestState: ir.result.requestState }));
    expect(h.takeClient(2)).toEqual([{ jsonrpc: "2.0", id: "c2", result: { content: [], isError: true, resultType: "complete" } }]);
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: 0, result: { action: "decline" } }]);
  });
});
