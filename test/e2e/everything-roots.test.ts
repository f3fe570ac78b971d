/**
 * Issue 3's proof, part 3: roots. server-everything asks `roots/list` ~350 ms after `notifications/initialized`,
 * and again after `notifications/roots/list_changed`; `get-roots-list` shows what it was told.
 * Its own daemon: which client is connected when the first `roots/list` comes matters.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Root } from "@modelcontextprotocol/sdk/types.js";
import { cleanup, startDaemon, writeConfig } from "./harness.ts";
import { allText, closeSdkClients, connectSdkClient, EVERYTHING_SERVER, expectWireClean, takeWireViolations, useSdkSuite } from "./wire.ts";

let socket = "";

beforeAll(async () => {
  // One shared process, so its roots are the union (under "auto" a server that asks for roots runs per workspace).
  const cfg = writeConfig(undefined, { everything: { ...EVERYTHING_SERVER, share: "shared" } });
  await startDaemon(cfg.configPath);
  socket = cfg.sockets.everything!;
});
useSdkSuite();

const T = { timeout: 15_000 };
const rootsLog = (n: number) => (m: any) =>
  m.method === "notifications/message" && m.params.data === `Roots updated: ${n} root(s) received from client`;

describe("roots through the mux", () => {
  test("the client with roots is asked after initialized and get-roots-list shows its roots; list_changed asks every roots client and merges", async () => {
    let r1Roots: Root[] = [{ uri: "file:///work/r1", name: "r1" }];
    // the first client: its initialize is the backend's handshake, so the roots/list that follows is for it
    const r1 = await connectSdkClient(socket, "roots-1", { roots: () => r1Roots });
    await r1.waitCalls("roots", 1, 5000);
    await r1.tap.waitFor(rootsLog(1), 5000, '"Roots updated: 1 root(s)" log');

    const none = await connectSdkClient(socket, "no-roots", {});
    const first = await r1.client.callTool({ name: "get-roots-list", arguments: {} }, undefined, T);
    expect(allText(first)).toContain("Current MCP Roots (1 total)");
    expect(allText(first)).toContain("URI: file:///work/r1");
    expect(r1.calls.roots).toBe(1);

    // a second roots client joins: the mux tells the server, which asks again; both are asked (neither has a
    // call in flight, so neither can be singled out) and the server gets the union
    const r2 = await connectSdkClient(socket, "roots-2", { roots: () => [{ uri: "file:///work/r2", name: "r2" }] });
    await Promise.all([r1.waitCalls("roots", 2, 5000), r2.waitCalls("roots", 1, 5000)]);
    await r1.tap.waitFor(rootsLog(2), 5000, '"Roots updated: 2 root(s)" log');
    // r1's roots change and it says so: asked again, with the union
    r1Roots = [...r1Roots, { uri: "file:///work/r1b", name: "r1b" }];
    await r1.client.sendRootsListChanged();
    await Promise.all([r1.waitCalls("roots", 3, 5000), r2.waitCalls("roots", 2, 5000)]);
    await r1.tap.waitFor(rootsLog(3), 5000, '"Roots updated: 3 root(s)" log');
    const merged = await r1.client.callTool({ name: "get-roots-list", arguments: {} }, undefined, T);
    expect(allText(merged)).toContain("Current MCP Roots (3 total)");
    for (const uri of ["file:///work/r1", "file:///work/r1b", "file:///work/r2"]) expect(allText(merged)).toContain(`URI: ${uri}`);

    // the client without the capability was never asked
    expect(none.tap.withMethod("roots/list")).toEqual([]);
    expect(r1.tap.withMethod("roots/list")).toHaveLength(3);
    expect(r2.tap.withMethod("roots/list")).toHaveLength(2);
    expectWireClean();
  }, 20_000);
});
