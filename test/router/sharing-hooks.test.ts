/**
 * What the router observes for `share = "auto"` (the x-mux declaration, stateful tool names, a backend asking
 * for roots), the roots list_changed rule and session-aware `_meta` (docs/routing.md, server-requests and
 * lifecycle), on the pure router.
 */
import { describe, expect, test } from "bun:test";
import { RootsChanged } from "../../src/router/families/roots-changed.ts";
import { META_SESSION_ID, META_WORKSPACE } from "../../src/router/families/session-meta.ts";
import type { RouterContext } from "../../src/router/context.ts";
import { Phase, newSession } from "../../src/router/session.ts";
import type { SharingHint } from "../../src/router/sharing.ts";
import { setup } from "./harness.ts";

const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
const note = (method: string, params?: unknown) => ({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });

/** A router whose host records hints; the backend answers initialize with `caps`. */
function observed(caps: Record<string, unknown> = { tools: {} }, clientCaps: Record<string, unknown> = {}) {
  const hints: SharingHint[] = [];
  const h = setup({}, { sharingHint: (hint) => void hints.push(hint) });
  h.router.clientConnected(1);
  h.router.backendStarted();
  h.send(1, req(0, "initialize", { protocolVersion: "2025-06-18", capabilities: clientCaps, clientInfo: { name: "t", version: "1" } }));
  const init = h.takeBackend().find((m) => m.method === "initialize");
  h.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion: "2025-06-18", capabilities: caps, serverInfo: { name: "s", version: "1" } } });
  h.send(1, note("notifications/initialized"));
  h.takeBackend();
  h.takeClient(1);
  return { h, hints };
}

/** Client `cid` lists tools; the backend answers with `names`; returns what the client got. */
function listTools(h: ReturnType<typeof setup>, cid: number, names: string[]) {
  h.send(cid, req("t", "tools/list"));
  const [fwd] = h.takeBackend();
  expect(fwd.method).toBe("tools/list");
  // The TypeScript SDK's order: result first, id last (the quick path).
  h.backend(`{"result":{"tools":${JSON.stringify(names.map((name) => ({ name, inputSchema: { type: "object" } })))}},"jsonrpc":"2.0","id":${fwd.id}}`);
  return h.takeClient(cid);
}

describe("sharing hints", () => {
  test("the x-mux declaration in the initialize result is reported once, before anything else", () => {
    const { h, hints } = observed({ tools: {}, experimental: { "x-mux": { sharing: "isolated" } } });
    expect(hints).toEqual([{ policy: "per-client", reason: "declares x-mux sharing=isolated", rule: "declaration" }]);
    // A declaration outranks every later observation: stateful tools and roots add nothing.
    listTools(h, 1, ["browser_navigate"]);
    h.backend(req(9, "roots/list"));
    expect(hints.length).toBe(1);
  });

  test("an unknown declaration is a warning, not a hint", () => {
    const { h, hints } = observed({ experimental: { "x-mux": { sharing: "per-client" } } });
    expect(hints).toEqual([]);
    expect(h.sent.logs.some((l) => l.startsWith("warn") && l.includes('sharing="per-client"'))).toBe(true);
  });

  test("a stateful tool name in a tools/list answer is reported once; the answer reaches the client unchanged", () => {
    const { h, hints } = observed();
    expect(listTools(h, 1, ["echo"])).toEqual([{ jsonrpc: "2.0", id: "t", result: { tools: [{ name: "echo", inputSchema: { type: "object" } }] } }]);
    expect(hints).toEqual([]);
    const got = listTools(h, 1, ["echo", "browser_navigate", "browser_snapshot"]);
    expect(got[0].id).toBe("t");
    expect(got[0].result.tools.map((t: { name: string }) => t.name)).toEqual(["echo", "browser_navigate", "browser_snapshot"]);
    expect(hints).toEqual([{ policy: "per-client", reason: "tool browser_navigate keeps per-session state", rule: "tools" }]);
    listTools(h, 1, ["page_click"]);
    expect(hints.length).toBe(1);
  });

  test("a backend asking roots/list is per-workspace, and stateful tools seen later outrank it", () => {
    const { h, hints } = observed({ tools: {} }, { roots: {} });
    h.backend(req(9, "roots/list"));
    expect(h.takeClient(1)[0].method).toBe("roots/list");
    expect(hints).toEqual([{ policy: "per-workspace", reason: "asks its clients for roots", rule: "roots" }]);
    h.backend(req(10, "roots/list"));
    expect(hints.length).toBe(1);
    listTools(h, 1, ["take_snapshot"]);
    expect(hints.map((x) => x.policy)).toEqual(["per-workspace", "per-client"]);
  });

  test("a tools/list answer that is an error, or unreadable, reaches its client and reports nothing", () => {
    const { h, hints } = observed();
    h.send(1, req(5, "tools/list"));
    const [fwd] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: fwd.id, error: { code: -32601, message: "no" } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 5, error: { code: -32601, message: "no" } }]);
    expect(hints).toEqual([]);
  });

  test("without a sharingHint hook, tools/list is forwarded as any request", () => {
    const h = setup();
    h.ready(1);
    h.send(1, req(1, "tools/list"));
    const [fwd] = h.takeBackend();
    h.backend({ jsonrpc: "2.0", id: fwd.id, result: { tools: [{ name: "browser_navigate" }] } });
    expect(h.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: 1, result: { tools: [{ name: "browser_navigate" }] } }]);
    expect(h.router.footprint().pending).toBe(0);
  });

  test("a tools/list that times out is answered with the timeout error, like any request", () => {
    const { h } = observed();
    h.send(1, req(2, "tools/list"));
    h.takeBackend();
    h.clock.advance(1001);
    expect(h.takeClient(1)[0].error.data.reason).toBe("timeout");
  });
});

describe("roots list_changed towards a shared backend", () => {
  const changed = (h: ReturnType<typeof setup>) => h.takeBackend().filter((m) => m.method === "notifications/roots/list_changed").length;

  /** Client 1 (roots) is ready and the backend has asked it for roots once. */
  function asked() {
    const h = setup();
    h.ready(1, { roots: { listChanged: true } });
    h.backend(req("r1", "roots/list"));
    const [ask] = h.takeClient(1);
    h.send(1, { jsonrpc: "2.0", id: ask.id, result: { roots: [{ uri: "file:///a" }] } });
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: "r1", result: { roots: [{ uri: "file:///a" }] } }]);
    return h;
  }

  test("a client with roots that joins makes the backend ask again, and the union is answered", () => {
    const h = asked();
    h.join(2, { roots: {} });
    expect(changed(h)).toBe(1);
    h.backend(req("r2", "roots/list"));
    const a = h.takeClient(1)[0];
    const b = h.takeClient(2)[0];
    h.send(1, { jsonrpc: "2.0", id: a.id, result: { roots: [{ uri: "file:///a" }] } });
    h.send(2, { jsonrpc: "2.0", id: b.id, result: { roots: [{ uri: "file:///b" }] } });
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: "r2", result: { roots: [{ uri: "file:///a" }, { uri: "file:///b" }] } }]);
  });

  test("a client without roots joining or leaving changes nothing; one with roots leaving does", () => {
    const h = asked();
    h.join(3);
    h.router.clientClosed(3);
    expect(changed(h)).toBe(0);
    h.join(2, { roots: {} });
    expect(changed(h)).toBe(1);
    h.backend(req("r2", "roots/list")); // the backend asks again (clients 1 and 2 are asked)
    h.router.clientClosed(2);
    expect(changed(h)).toBe(1);
  });

  test("told once until it asks: a burst of changes costs one more roots/list, and a change after the ask is told", () => {
    const h = asked();
    h.join(2, { roots: {} });
    h.join(3, { roots: {} });
    h.send(1, note("notifications/roots/list_changed"));
    h.router.clientClosed(3);
    expect(changed(h)).toBe(1);
    h.backend(req("r2", "roots/list"));
    h.join(4, { roots: {} });
    expect(changed(h)).toBe(1);
  });

  test("a client's own roots/list_changed is passed on as the mux's; one from a client without roots is dropped", () => {
    const h = asked();
    h.send(1, note("notifications/roots/list_changed"));
    expect(h.takeBackend()).toEqual([note("notifications/roots/list_changed")]);
    h.backend(req("r2", "roots/list"));
    h.takeClient(1);
    h.join(3);
    h.send(3, note("notifications/roots/list_changed"));
    expect(changed(h)).toBe(0);
  });

  test("nothing is sent to a backend that never asked for roots, nor before its handshake", () => {
    const h = setup();
    h.ready(1, { roots: {} });
    h.join(2, { roots: {} });
    h.send(2, note("notifications/roots/list_changed"));
    h.router.clientClosed(2);
    expect(changed(h)).toBe(0);
    // Asked, then restarted: the new process has asked nothing yet.
    h.backend(req("r", "roots/list"));
    h.takeClient(1);
    h.router.backendExited("crash", true);
    h.router.backendStarted();
    const init = h.takeBackend().find((m) => m.method === "initialize");
    h.join(3, { roots: {} }); // handshake done from the cache while the backend is down
    h.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion: "2025-06-18", capabilities: {}, serverInfo: { name: "s", version: "1" } } });
    h.join(4, { roots: {} });
    expect(changed(h)).toBe(0);
  });

  test("not without roots.listChanged declared to the backend", () => {
    const sent: string[] = [];
    let declared: Record<string, unknown> | null = { roots: {} };
    const ctx = { backendState: () => "ready", log() {}, toBackend: (l: string) => void sent.push(l) } as unknown as RouterContext;
    const r = new RootsChanged(ctx, () => declared);
    const c = newSession(1);
    c.caps.roots = true;
    c.phase = Phase.Ready;
    r.rootsAsked();
    r.clientJoined(c);
    expect(sent).toEqual([]);
    declared = { roots: { listChanged: true } };
    r.clientJoined(c);
    expect(sent).toEqual(['{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}']);
  });
});

describe("session-aware _meta", () => {
  test("each forwarded request names its client's session and workspace; other clients get their own", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.router.setSessionAware(true, "seed");
    h.router.setClientWorkspace(2, "file:///b");
    h.send(1, req(1, "tools/call", { name: "x", arguments: { a: 1 } }));
    h.send(2, req(1, "tools/call", { name: "x", arguments: { a: 1 } }));
    h.send(2, req(2, "resources/read", { uri: "u", _meta: { progressToken: "p" } }));
    h.send(2, req(3, "tools/list"));
    const [a, b, c, d] = h.takeBackend();
    expect(a.params).toEqual({ name: "x", arguments: { a: 1 }, _meta: { [META_SESSION_ID]: "seed-1" } });
    expect(b.params).toEqual({ name: "x", arguments: { a: 1 }, _meta: { [META_SESSION_ID]: "seed-2", [META_WORKSPACE]: "file:///b" } });
    expect(c.params._meta).toEqual({ progressToken: c.params._meta.progressToken, [META_SESSION_ID]: "seed-2", [META_WORKSPACE]: "file:///b" });
    expect(typeof c.params._meta.progressToken).toBe("number");
    expect(d.params).toEqual({ _meta: { [META_SESSION_ID]: "seed-2", [META_WORKSPACE]: "file:///b" } });
  });

  test("a client cannot speak as another: its own values for the keys are replaced", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.router.setSessionAware(true, "seed");
    h.send(2, req(1, "tools/call", { name: "x", _meta: { [META_SESSION_ID]: "seed-1", [META_WORKSPACE]: "file:///a" } }));
    const [fwd] = h.takeBackend();
    expect(fwd.params._meta).toEqual({ [META_SESSION_ID]: "seed-2" });
  });

  test("off (the default): requests go as the client wrote them; notifications are never stamped", () => {
    const h = setup();
    h.ready(1);
    h.router.setClientWorkspace(1, "global");
    h.send(1, req(1, "tools/call", { name: "x" }));
    expect(h.takeBackend()).toEqual([{ jsonrpc: "2.0", id: expect.any(Number), method: "tools/call", params: { name: "x" } }]);
    h.router.setSessionAware(true, "s");
    h.send(1, note("notifications/roots/list_changed"));
    h.send(1, note("notifications/custom", { a: 1 }));
    expect(h.takeBackend()).toEqual([note("notifications/custom", { a: 1 })]);
  });

  test("a workspace is kept only for a connected client, and forgotten when it leaves", () => {
    const h = setup();
    h.ready(1);
    h.router.setClientWorkspace(7, "file:///ghost");
    h.router.setClientWorkspace(1, "file:///a");
    expect(h.router.footprint().workspaces).toBe(1);
    h.router.clientClosed(1);
    expect(h.router.footprint().workspaces).toBe(0);
  });

  test("the default seed differs between routers, so a new daemon never reuses a session id", () => {
    const ids = [setup(), setup()].map((h) => {
      h.ready(1);
      h.router.setSessionAware(true);
      h.send(1, req(1, "ping2"));
      return h.takeBackend()[0].params._meta[META_SESSION_ID];
    });
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-1$/);
  });

  test("a key spelled with escapes is found too: the client's value never reaches the server", () => {
    const h = setup();
    h.ready(1);
    h.join(2);
    h.router.setSessionAware(true, "seed");
    h.send(2, '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.rmcp-mux\\/workspace":"/victim","\\u0069o.rmcp-mux/sessionId":"seed-1"}}}');
    const [fwd] = h.takeBackend();
    expect(fwd.params._meta).toEqual({ [META_SESSION_ID]: "seed-2" });
  });
});
