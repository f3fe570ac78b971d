/** One server's wiring (links ↔ router ↔ supervised child), with a fake child and front: no process, no socket. */
import { describe, expect, test } from "bun:test";
import { MuxServer } from "../../src/runtime/server.ts";
import { FakeLink, fakeDeps, initialize, serverConfig } from "./fakes.ts";

async function started(over = {}) {
  const f = fakeDeps();
  const server = new MuxServer(serverConfig("s", { restart_backoff_ms: 100, ...over }), f.deps);
  await server.start();
  const front = f.fronts.get("s")!;
  return { ...f, server, front };
}

const call = (id: unknown) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo" } });

describe("MuxServer wiring", () => {
  test("a client's initialize reaches the child once; every client is answered with its own id", async () => {
    const { server, front, children } = await started();
    expect(children).toHaveLength(1); // not lazy: started with the server
    const a = front.connect()!;
    const b = front.connect()!;
    a.say(initialize("a-init"));
    b.say(initialize(7));
    const child = children[0]!;
    expect(child.received.map((m) => m.method)).toEqual(["initialize"]);
    child.answerAll();
    expect(a.got.map((m) => m.id)).toEqual(["a-init"]);
    expect(b.got.map((m) => m.id)).toEqual([7]);
    a.say(call(1));
    b.say(call(1));
    const ids = child.received.filter((m) => m.method === "tools/call").map((m) => m.id);
    expect(new Set(ids).size).toBe(2);
    child.answerAll();
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", id: 1, result: { echoed: "tools/call" } });
    expect(b.got.at(-1)).toEqual({ jsonrpc: "2.0", id: 1, result: { echoed: "tools/call" } });
    expect(server.status().clients.connected).toBe(2);
    await server.stop();
  });

  test("max_connections: the next connection is answered with the reason, closed, and never reaches the router", async () => {
    const { server, front } = await started({ max_connections: 2 });
    const a = front.connect()!;
    front.connect();
    const refused = new FakeLink();
    expect(front.accept!(refused)).toBeNull();
    expect(refused.ended).toBe("when-written");
    expect(refused.got).toHaveLength(1);
    expect(refused.got[0]).toMatchObject({ id: null, error: { code: -32603, data: { reason: "connection_limit", maxConnections: 2 } } });
    expect(refused.got[0].error.message).toContain("max_connections");
    expect(server.status().clients.connected).toBe(2);
    // a place freed is a place taken
    a.end();
    expect(front.connect()).not.toBeNull();
    expect(server.status().clients.connected).toBe(2);
    await server.stop();
  });

  test("lazy_start: no child until a client sends something", async () => {
    const { server, front, children } = await started({ lazy_start: true });
    const a = front.connect()!;
    expect(children).toHaveLength(0);
    expect(server.status().state).toBe("lazy");
    a.say(initialize(1));
    expect(children).toHaveLength(1);
    await server.stop();
  });

  test("a crash fails what the child held, backs off on the clock, and the next child gets the handshake again", async () => {
    const { server, front, children, clock } = await started();
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    a.say(call("c"));
    children[0]!.exit("exit code 3");
    expect(a.got.at(-1)).toMatchObject({ id: "c", error: { code: -32603 } });
    expect(server.status().state).toBe("backoff");
    expect(server.status().reason).toBe("exit code 3; restarting in 100 ms");
    clock.advance(100);
    expect(children).toHaveLength(2);
    expect(children[1]!.received.map((m) => m.method)).toEqual(["initialize"]);
    children[1]!.answerAll();
    expect(a.got.at(-1)).toEqual({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
    expect(server.status()).toMatchObject({ state: "running", restarts: 1, lastRestartReason: "exit code 3", pid: children[1]!.pid });
    await server.stop();
  });

  test("a half-closed client is closed once it has every answer, not before", async () => {
    const { server, front, children } = await started();
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    a.say(call(2));
    a.events!.onEnd();
    expect(a.ended).toBeNull(); // still owed the answer to 2
    children[0]!.answerAll();
    await Promise.resolve(); // the close check runs after the answer is queued
    expect(a.got.at(-1)).toMatchObject({ id: 2 });
    expect(a.ended).toBe("when-written");
    await server.stop();
  });

  test("a client that does not read is disconnected; the others are not", async () => {
    const { server, front } = await started();
    const a = front.connect()!;
    const b = front.connect()!;
    a.events!.onOverflow(40_000_000);
    expect(a.ended).toBe("now");
    expect(b.ended).toBeNull();
    expect(server.status().clients.connected).toBe(1);
    await server.stop();
  });

  test("stop: pending requests answered with the reason, clients closed, front removed, child ended, no new client", async () => {
    const { server, front, children } = await started();
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    a.say(call("p"));
    await server.stop("the daemon is shutting down");
    expect(a.got.at(-1)).toMatchObject({ id: "p", error: { code: -32603 } });
    expect(a.got.at(-1).error.message).toContain("the daemon is shutting down");
    expect(a.ended).toBe("now");
    expect(children[0]!.exited).toBe(true);
    expect(front.stopped).toEqual([false, true]);
    expect(front.connect()).toBeNull();
    expect(children).toHaveLength(1);
  });

  test("operator stop and start: requests fail at once while stopped; start brings a new child", async () => {
    const { server, front, children } = await started();
    const a = front.connect()!;
    a.say(initialize(1));
    children[0]!.answerAll();
    await server.stopChild();
    expect(server.status()).toMatchObject({ state: "stopped", pid: null, reason: "stopped by an operator" });
    a.say(call("x"));
    expect(a.got.at(-1)).toMatchObject({ id: "x", error: { code: -32603 } });
    expect(children).toHaveLength(1);
    server.startChild();
    expect(children).toHaveLength(2);
    children[1]!.answerAll();
    a.say(call("y"));
    children[1]!.answerAll();
    expect(a.got.at(-1)).toMatchObject({ id: "y", result: {} });
    await server.stop();
  });
});
