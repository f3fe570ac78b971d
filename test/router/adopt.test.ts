/**
 * Router.clientAdopted: a client whose `initialize` the runtime answered from another process of the same server
 * (docs/routing.md, lifecycle, "Sharing and placement"). It never gets a second answer; it handshakes a fresh backend.
 */
import { describe, expect, test } from "bun:test";
import { setup } from "./harness.ts";

const init = { jsonrpc: "2.0", id: 5, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: { roots: { listChanged: true } }, clientInfo: { name: "c", version: "1" } } };

describe("adopted sessions", () => {
  test("a fresh backend is handshaken with the adopted client's parameters; its requests wait, then go out; no answer to its initialize", () => {
    const t = setup();
    t.router.clientConnected(1);
    t.router.clientAdopted(1, init, "2025-06-18");
    expect(t.wants).toBe(1); // idle: the backend is wanted at once
    t.send(1, { jsonrpc: "2.0", id: "q", method: "tools/list" });
    t.router.backendStarted();
    const out = t.takeBackend();
    expect(out.map((m) => m.method)).toEqual(["initialize"]);
    expect(out[0].params).toMatchObject({ protocolVersion: "2025-11-25", capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} } });
    expect(out[0].params.clientInfo.name).toBe("rmcp-mux");
    t.backend({ jsonrpc: "2.0", id: out[0].id, result: { protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "s", version: "1" } } });
    expect(t.router.handshake).toBe('{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}');
    const after = t.takeBackend();
    expect(after.map((m) => m.method)).toEqual(["notifications/initialized", "tools/list"]);
    t.backend({ jsonrpc: "2.0", id: after[1].id, result: { tools: [] } });
    expect(t.takeClient(1)).toEqual([{ jsonrpc: "2.0", id: "q", result: { tools: [] } }]); // nothing for id 5
  });

  test("on a backend already handshaken nothing is sent; the adopted client's capabilities route server requests to it", () => {
    const t = setup();
    t.ready(1);
    t.router.clientConnected(2);
    t.router.clientAdopted(2, init, "2025-06-18");
    expect(t.takeBackend()).toEqual([]);
    t.backend({ jsonrpc: "2.0", id: 77, method: "roots/list" });
    const asked = t.takeClient(2);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ method: "roots/list" });
    expect(t.takeClient(1)).toEqual([]); // client 1 declared no roots
  });
});
