/**
 * Which instance a client joins (share policies, the proxy's hello, the lobby for roots, max_instances, idle
 * stops), with fake children and a fake front on a hand-moved clock: no process, no socket.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerConfig } from "../../src/config/schema.ts";
import { MuxServer } from "../../src/runtime/server.ts";
import { helloLine } from "../../src/wire/hello.ts";
import { fakeDeps, type FakeLink, initialize, serverConfig } from "./fakes.ts";

const root = mkdtempSync(path.join(tmpdir(), "rmcp-place-"));
const dirA = path.join(root, "a");
const dirB = path.join(root, "b");
mkdirSync(dirA);
mkdirSync(dirB);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function started(over: Partial<ServerConfig>) {
  const f = fakeDeps();
  const server = new MuxServer(serverConfig("s", over), f.deps);
  await server.start();
  return { ...f, server, front: f.fronts.get("s")! };
}

/** Lets the async stops (supervisor → child) run to their end: microtasks only, no time passes. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

const hello = (link: FakeLink, cwd: string) => link.events!.onLine(helloLine(cwd));
const withRoots = (id: unknown) => {
  const m = initialize(id);
  return { ...m, params: { ...m.params, capabilities: { roots: { listChanged: true } } } };
};
const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
const call = (id: unknown) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "where" } });
const rootsOf = (dir: string) => ({ roots: [{ uri: pathToFileURL(dir).href, name: path.basename(dir) }] });

describe("placement", () => {
  test("shared: the proxy's hello is consumed, never forwarded; a raw client without one works the same", async () => {
    const { server, front, children } = await started({ share: "shared" });
    const a = front.connect()!;
    hello(a, dirA);
    a.say(initialize(1));
    const b = front.connect()!;
    b.say(initialize(2));
    expect(children).toHaveLength(1);
    expect(children[0]!.received.map((m) => m.method)).toEqual(["initialize"]); // the hello never reached it
    children[0]!.answerAll();
    expect(a.got.map((m) => m.id)).toEqual([1]);
    expect(b.got.map((m) => m.id)).toEqual([2]);
    expect(server.status().sharing).toMatchObject({ share: "shared", policy: "shared", instances: [{ key: "global", clients: 2 }] });
    await server.stop();
  });

  test("per-workspace by the proxy's folder: one instance per folder, run in that folder; no hello: global", async () => {
    const { server, front, children } = await started({ share: "per-workspace" });
    expect(children).toHaveLength(0); // nothing to run before a client says where it works
    const links = [dirA, dirB, dirA].map((d) => {
      const l = front.connect()!;
      hello(l, d);
      l.say(initialize("i"));
      return l;
    });
    const raw = front.connect()!;
    raw.say(initialize("r"));
    expect(children.map((c) => c.spec.cwd)).toEqual([dirA, dirB, undefined]);
    for (const c of children) c.answerAll();
    for (const l of [...links, raw]) expect(l.got.at(-1)).toMatchObject({ result: { protocolVersion: "2025-06-18" } });
    const keys = server.status().sharing!.instances.map((i) => [i.key, i.clients]);
    expect(keys).toEqual([
      [pathToFileURL(dirA).href, 2],
      [pathToFileURL(dirB).href, 1],
      ["global", 1],
    ]);
    await server.stop();
  });

  test("per-workspace by roots: a probe learns the handshake, then each client is placed by its roots, in its root's folder", async () => {
    const { server, front, children } = await started({ share: "per-workspace" });
    const a = front.connect()!;
    a.say(withRoots("a"));
    const b = front.connect()!;
    b.say(withRoots("b"));
    expect(children).toHaveLength(1); // the probe, handshaken with a's parameters; b waits as well
    expect(children[0]!.spec.cwd).toBeUndefined();
    expect(children[0]!.received.map((m) => m.method)).toEqual(["initialize"]);
    children[0]!.answerAll();
    await settle();
    expect(children[0]!.exited).toBe(true); // its work is done
    // Both are answered from the cached handshake, with their own ids.
    expect(a.got).toEqual([expect.objectContaining({ id: "a", result: expect.objectContaining({ serverInfo: { name: "fake", version: "1" } }) })]);
    expect(b.got).toEqual([expect.objectContaining({ id: "b", result: expect.objectContaining({ serverInfo: { name: "fake", version: "1" } }) })]);
    a.say(initialized);
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", method: "roots/list" });
    a.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", result: rootsOf(dirA) });
    b.say(initialized);
    b.say(call("b1")); // held until b is placed
    expect(b.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "rmcp-mux:roots:2", method: "roots/list" });
    b.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:2", result: rootsOf(dirB) });
    expect(children.map((c) => c.spec.cwd)).toEqual([undefined, dirA, dirB]);
    // Each instance is handshaken once, with its first client's parameters; the client's own initialized is not sent.
    expect(children[2]!.received.map((m) => m.method)).toEqual(["initialize"]);
    children[2]!.answerAll();
    expect(children[2]!.received.map((m) => m.method)).toEqual(["notifications/initialized", "tools/call"]);
    children[2]!.answerAll();
    expect(b.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "b1", result: { echoed: "tools/call" } });
    // A third client on a's roots joins a's process.
    const c = front.connect()!;
    c.say(withRoots("c"));
    c.say(initialized);
    c.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:3", result: rootsOf(dirA) });
    c.say(call("c1"));
    expect(children).toHaveLength(3);
    children[1]!.answerAll();
    children[1]!.answerAll();
    expect(c.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "c1", result: { echoed: "tools/call" } });
    expect(server.status().sharing!.instances.map((i) => [i.key, i.clients, i.cwd])).toEqual([
      [pathToFileURL(dirA).href, 2, dirA],
      [pathToFileURL(dirB).href, 1, dirB],
    ]);
    await server.stop();
  });

  test("the lobby answers each client its own protocol version, as the router would; the version holds once placed", async () => {
    const { server, front, children } = await started({ share: "per-workspace" });
    const a = front.connect()!;
    a.say(withRoots("a"));
    children[0]!.answerAll(); // the probe is greeted with 2025-11-25 and answers it
    await settle();
    const old = front.connect()!;
    const m = initialize("o", "2024-11-05");
    old.say({ ...m, params: { ...m.params, capabilities: { roots: {} } } });
    expect(old.got).toEqual([expect.objectContaining({ id: "o", result: expect.objectContaining({ protocolVersion: "2024-11-05" }) })]);
    expect(a.got).toEqual([expect.objectContaining({ id: "a", result: expect.objectContaining({ protocolVersion: "2025-06-18" }) })]);
    old.say(initialized);
    old.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:2", result: rootsOf(dirA) });
    // Placed and handshaken: a task-augmented call from a 2024-11-05 client reaches the server without its task.
    const inst = children.at(-1)!;
    inst.answerAll();
    old.say({ jsonrpc: "2.0", id: "t", method: "tools/call", params: { name: "where", task: { ttl: 1000 } } });
    expect(inst.received.at(-1)).toMatchObject({ method: "tools/call", params: { name: "where" } });
    expect(inst.received.at(-1)!.params.task).toBeUndefined();
    await server.stop();
  });

  test("per-workspace by roots when the probe fails: the first client's instance takes its roots as key, the next waits", async () => {
    const { server, front, children } = await started({ share: "per-workspace" });
    const a = front.connect()!;
    a.say(withRoots("a"));
    const init = children[0]!.received.find((m) => m.method === "initialize");
    children[0]!.write({ jsonrpc: "2.0", id: init.id, error: { code: -32603, message: "not today" } });
    await settle();
    expect(children[0]!.exited).toBe(true);
    expect(children).toHaveLength(2); // a joins an instance of its own, under a provisional key
    const b = front.connect()!;
    b.say(withRoots("b"));
    expect(children).toHaveLength(2); // b waits until a's workspace is known
    children[1]!.answerAll();
    expect(a.got.at(-1)).toMatchObject({ id: "a", result: {} });
    a.say(initialized);
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", method: "roots/list" });
    a.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", result: rootsOf(dirA) });
    expect(b.got).toEqual([expect.objectContaining({ id: "b", result: expect.objectContaining({ serverInfo: { name: "fake", version: "1" } }) })]);
    b.say(initialized);
    b.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:2", result: rootsOf(dirA) });
    expect(children).toHaveLength(2);
    expect(server.status().sharing!.instances.map((i) => [i.key, i.clients])).toEqual([[pathToFileURL(dirA).href, 2]]);
    await server.stop();
  });

  test("a provisional client that never finishes its handshake does not hold back the clients behind it", async () => {
    const { server, front, children, clock } = await started({ share: "per-workspace", request_timeout_ms: 1000 });
    const a = front.connect()!;
    a.say(withRoots("a"));
    const init = children[0]!.received.find((m) => m.method === "initialize");
    children[0]!.write({ jsonrpc: "2.0", id: init.id, error: { code: -32603, message: "not today" } });
    await settle();
    const b = front.connect()!;
    b.say(withRoots("b"));
    children[1]!.answerAll(); // a is answered, but never says it is initialized
    expect(b.got).toEqual([]);
    clock.advance(1000);
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", method: "roots/list" });
    clock.advance(1000); // no answer either: a is placed by its folder, and b goes on
    expect(b.got).toEqual([expect.objectContaining({ id: "b", result: expect.objectContaining({ serverInfo: { name: "fake", version: "1" } }) })]);
    await server.stop();
  });

  test("a lobby client that never answers roots/list is placed by its proxy's folder after request_timeout_ms", async () => {
    const { server, front, children, clock } = await started({ share: "per-workspace", request_timeout_ms: 1000 });
    const first = front.connect()!;
    hello(first, dirB);
    first.say(initialize(0)); // no roots: placed by its folder at once, and its instance's handshake is kept
    children[0]!.answerAll();
    const a = front.connect()!;
    hello(a, dirA);
    a.say(withRoots(1));
    a.say(initialized);
    a.say(call(2));
    expect(a.got.at(-1)).toMatchObject({ method: "roots/list" });
    clock.advance(999);
    expect(children).toHaveLength(1);
    clock.advance(1);
    expect(children.map((c) => c.spec.cwd)).toEqual([dirB, dirA]);
    children[1]!.answerAll();
    children[1]!.answerAll();
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", id: 2, result: { echoed: "tools/call" } });
    expect(server.status().sharing!.instances.map((i) => i.key)).toEqual([pathToFileURL(dirB).href, pathToFileURL(dirA).href]);
    await server.stop();
  });

  test("past max_instances: the new client's first request is answered at once with an error naming the limit", async () => {
    const { server, front, children } = await started({ share: "per-client", max_instances: 1 });
    const a = front.connect()!;
    a.say(initialize(1));
    const b = front.connect()!;
    b.say(initialize(2));
    expect(children).toHaveLength(1);
    expect(b.got).toHaveLength(1);
    expect(b.got[0]).toMatchObject({ id: 2, error: { code: -32603, data: { reason: "max_instances", limit: 1 } } });
    expect(b.got[0].error.message).toContain("max_instances (1)");
    b.say(call(3));
    expect(b.got.at(-1)).toMatchObject({ id: 3, error: { data: { reason: "max_instances" } } });
    await server.stop();
  });

  test("per-client: each client its own process, stopped when its client leaves", async () => {
    const { server, front, children } = await started({ share: "per-client" });
    const a = front.connect()!;
    a.say(initialize(1));
    const b = front.connect()!;
    b.say(initialize(1));
    expect(children).toHaveLength(2);
    a.end();
    await settle();
    expect(children[0]!.exited).toBe(true);
    expect(children[1]!.exited).toBe(false);
    expect(server.status().sharing!.instances.map((i) => i.key)).toEqual(["client:2"]);
    b.end();
    await settle();
    expect(children[1]!.exited).toBe(true);
    expect(server.instances()).toHaveLength(0);
    await server.stop();
  });

  test("per-workspace: an instance stops idle_timeout_ms after its last client left (default 300000)", async () => {
    const { server, front, children, clock } = await started({ share: "per-workspace" });
    const a = front.connect()!;
    hello(a, dirA);
    a.say(initialize(1));
    children[0]!.answerAll();
    a.end();
    clock.advance(299_999);
    await settle();
    expect(children[0]!.exited).toBe(false);
    clock.advance(1);
    await settle();
    expect(children[0]!.exited).toBe(true);
    expect(server.instances()).toHaveLength(0);
    await server.stop();
  });

  test("shared with idle_timeout_ms: stops after the last client left, starts again on the next client", async () => {
    const { server, front, children, clock } = await started({ share: "shared", idle_timeout_ms: 5000 });
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    a.end();
    clock.advance(5000);
    await settle();
    expect(children[0]!.exited).toBe(true);
    expect(server.status().state).toBe("lazy");
    const b = front.connect()!;
    b.say(initialize(2));
    expect(children).toHaveLength(2);
    children[1]!.answerAll();
    expect(b.got.at(-1)).toMatchObject({ id: 2, result: {} });
    await server.stop();
  });

  test("shared without idle_timeout_ms: the process stays after every client left", async () => {
    const { server, front, children, clock } = await started({ share: "shared" });
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    a.end();
    clock.advance(10_000_000);
    await settle();
    expect(children[0]!.exited).toBe(false);
    await server.stop();
  });

  test("auto: shared until the first instance hints; the first client stays, later ones follow the hint", async () => {
    const { server, front, children } = await started({ share: "auto" });
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    expect(server.status().sharing).toMatchObject({ share: "auto", policy: "shared" });
    server.instances()[0]!.routerHost.sharingHint!({ policy: "per-client", reason: "stateful tool names (browser_navigate)" });
    expect(server.status().sharing).toMatchObject({ policy: "per-client", reason: "stateful tool names (browser_navigate)" });
    const b = front.connect()!;
    b.say(initialize(2));
    expect(children).toHaveLength(2);
    expect(server.status().sharing!.instances.map((i) => [i.key, i.clients])).toEqual([
      ["client:1", 1],
      ["client:2", 1],
    ]);
    a.end();
    await settle();
    expect(children[0]!.exited).toBe(true);
    await server.stop();
  });

  test("auto: only the first instance decides; a later instance's hint is ignored", async () => {
    const { server, front, children } = await started({ share: "auto" });
    const first = server.instances()[0]!;
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    first.routerHost.sharingHint!({ policy: "per-client", reason: "x-mux declares isolated" });
    const b = front.connect()!;
    b.say(initialize(2));
    expect(children).toHaveLength(2);
    const later = server.instances().find((i) => i !== first)!;
    later.routerHost.sharingHint!({ policy: "shared", reason: "x-mux declares shared" });
    expect(server.status().sharing).toMatchObject({ policy: "per-client", reason: "x-mux declares isolated" });
    const c = front.connect()!;
    c.say(initialize(3));
    expect(children).toHaveLength(3);
    await server.stop();
  });

  test("auto deciding per-workspace: the first instance takes its first client's roots as key", async () => {
    const { server, front, children } = await started({ share: "auto" });
    const a = front.connect()!;
    a.say(withRoots(1));
    children[0]!.answerAll();
    a.say(initialized);
    server.instances()[0]!.routerHost.sharingHint!({ policy: "per-workspace", reason: "the server asks for roots/list" });
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", method: "roots/list" });
    a.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:1", result: rootsOf(dirA) });
    const b = front.connect()!;
    b.say(withRoots(2));
    b.say(initialized);
    b.say({ jsonrpc: "2.0", id: "rmcp-mux:roots:2", result: rootsOf(dirA) });
    expect(children).toHaveLength(1);
    expect(server.status().sharing!.instances).toEqual([expect.objectContaining({ key: pathToFileURL(dirA).href, clients: 2 })]);
    await server.stop();
  });
});
