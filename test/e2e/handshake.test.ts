/**
 * The initialize handshake through the real daemon: the child sees one initialize and one
 * notifications/initialized; later clients get the cached result under their own id; requests pipelined
 * before the initialize response are answered.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { cleanup, isResponseTo, RawClient, resultText, startDaemon, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

const initLine = (id: string | number, name: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name, version: "1" } },
  });
const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });

describe("handshake", () => {
  test("initialize is cached: 3 clients, child sees initializeCount 1 and initializedCount 1", async () => {
    const cfg = writeConfig(undefined, { h: {} });
    await startDaemon(cfg.configPath);
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => RawClient.connect(cfg.sockets.h!)));
    const ra = await a!.initialize({ id: 1 });
    const rb = await b!.initialize({ id: "init-b" });
    const rc = await c!.initialize({ id: 0 });
    expect(ra.id).toBe(1);
    expect(rb.id).toBe("init-b");
    expect(rc.id).toBe(0);
    for (const r of [ra, rb, rc]) {
      expect(r.error).toBeUndefined();
      expect(r.result.serverInfo).toEqual({ name: "fixture", version: "1.0.0" });
      expect(r.result.protocolVersion).toBe("2025-06-18");
      expect(r.result.capabilities.tools).toBeDefined();
    }
    expect(rb.result).toEqual(ra.result);
    expect(rc.result).toEqual(ra.result);
    // c's notifications/initialized was sent before its stats request on the same connection
    const st = await c!.stats();
    expect(st.initializeCount).toBe(1);
    expect(st.initializedCount).toBe(1);
    expect(ra.result.instructions).toBe(`pid=${st.pid}`);
    // all three clients work
    for (const [k, cl] of [a!, b!, c!].entries()) {
      expect(resultText(await cl.callTool("echo", { text: `hi ${k}` }))).toBe(`hi ${k}`);
    }
  });

  test("3 clients initializing at the same moment on a fresh daemon still give the child one initialize", async () => {
    const cfg = writeConfig(undefined, { h: {} });
    await startDaemon(cfg.configPath);
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(cfg.sockets.h!)));
    const waits = clients.map((c, k) => c.response(`i${k}`));
    clients.forEach((c, k) => c.sendRaw(`${initLine(`i${k}`, `c${k}`)}\n${INITIALIZED}\n`));
    const res = await Promise.all(waits);
    for (const r of res) {
      expect(r.msg.error).toBeUndefined();
      expect(r.msg.result.serverInfo.name).toBe("fixture");
    }
    const st = await clients[2]!.stats();
    expect(st.initializeCount).toBe(1);
    expect(st.initializedCount).toBe(1);
  });

  test("requests pipelined before the initialize response are answered (first client and cached client)", async () => {
    const cfg = writeConfig(undefined, { h: {} });
    await startDaemon(cfg.configPath);
    for (const who of ["first", "second"]) {
      const c = await RawClient.connect(cfg.sockets.h!);
      const burst = [
        initLine(`init-${who}`, who),
        INITIALIZED,
        JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: who } } }),
        JSON.stringify({ jsonrpc: "2.0", id: "3", method: "tools/list" }),
        JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping" }),
      ];
      const waits = [c.response(`init-${who}`), c.response(2), c.response("3"), c.response(4)];
      c.sendRaw(burst.join("\n") + "\n");
      const [init, echo, list, ping] = await Promise.all(waits);
      expect(init!.msg.result.serverInfo.name).toBe("fixture");
      expect(resultText(echo!.msg)).toBe(who);
      expect(list!.msg.result.tools.map((t: any) => t.name)).toContain("echo");
      expect(ping!.msg.result).toEqual({});
      // the initialize response precedes the answers that needed the backend (a ping may be answered by the
      // mux at any time, so its position is not checked)
      const order = c.history.filter((r) => r.msg?.method === undefined).map((r) => r.msg.id);
      expect(order.indexOf(`init-${who}`)).toBeLessThan(order.indexOf(2));
      expect(order.indexOf(`init-${who}`)).toBeLessThan(order.indexOf("3"));
    }
    const c = await RawClient.connect(cfg.sockets.h!);
    await c.initialize();
    const st = await c.stats();
    expect(st.initializeCount).toBe(1);
    expect(st.initializedCount).toBe(1);
  });

  test("a client that never sends notifications/initialized does not block others, and no second initialize", async () => {
    const cfg = writeConfig(undefined, { h: {} });
    await startDaemon(cfg.configPath);
    const a = await RawClient.connect(cfg.sockets.h!);
    const init = a.response("only-init");
    a.sendRaw(initLine("only-init", "a") + "\n");
    expect((await init).msg.result.serverInfo.name).toBe("fixture");
    const b = await RawClient.connect(cfg.sockets.h!);
    await b.initialize();
    expect(resultText(await b.callTool("echo", { text: "b ok" }))).toBe("b ok");
    const st = await b.stats();
    expect(st.initializeCount).toBe(1);
    expect(st.initializedCount).toBe(1);
    expect(a.queue.filter(isResponseTo("only-init"))).toEqual([]);
  });
});
