/**
 * Child supervision: a crash fails every pending request (never silence), the child restarts after
 * restart_backoff_ms, the daemon replays the handshake itself and existing connections keep working;
 * lazy_start defers the child until the first client message.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import {
  cleanup,
  pidAlive,
  RawClient,
  readPids,
  resultText,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
} from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

describe("supervision", () => {
  test(
    "crash mid-request: both pending requests get -32603, the child restarts, same connections work again",
    async () => {
      const dir = tempDir();
      const pidfile = path.join(dir, "s.pids");
      const cfg = writeConfig(dir, {
        s: { env: { FIXTURE_PIDFILE: pidfile }, restart_backoff_ms: 50, request_timeout_ms: 10_000 },
      });
      await startDaemon(cfg.configPath);
      const a = await RawClient.connect(cfg.sockets.s!);
      const b = await RawClient.connect(cfg.sockets.s!);
      await a.initialize();
      await b.initialize();
      const st1 = await a.stats();
      const pid1 = st1.pid;
      expect(readPids(pidfile)).toEqual([pid1]);

      const slow = b.callTool("slow", { ms: 8000, text: "never" }, "b-slow", 9000);
      // make sure the slow request is inside the child before crashing it
      await waitFor(async () => (await a.stats()).pending === 1, 3000, "slow pending in the child");
      const t0 = Date.now();
      const crash = a.callTool("crash", {}, 99, 9000);
      const [ra, rb] = await Promise.all([crash, slow]);
      const elapsed = Date.now() - t0;
      expect(ra.id).toBe(99);
      expect(ra.error?.code).toBe(-32603);
      expect(rb.id).toBe("b-slow");
      expect(rb.error?.code).toBe(-32603);
      expect(typeof rb.error?.message).toBe("string");
      expect(elapsed).toBeLessThan(5000); // from the crash, not from request_timeout_ms

      await waitFor(() => !pidAlive(pid1), 3000, "old child dead");
      const pids = await waitFor(() => (readPids(pidfile).length >= 2 ? readPids(pidfile) : undefined), 5000, "restart");
      pids.forEach(trackPid);

      expect(resultText(await a.callTool("echo", { text: "a again" }, 100, 5000))).toBe("a again");
      expect(resultText(await b.callTool("echo", { text: "b again" }, "b2", 5000))).toBe("b again");
      const st2 = await a.stats();
      expect(st2.pid).not.toBe(pid1);
      expect(st2.pid).toBe(pids[1]!);
      // the daemon replayed the handshake itself, once
      expect(st2.initializeCount).toBe(1);
      expect(st2.initializedCount).toBe(1);
      // one crash → exactly one restart
      expect(readPids(pidfile)).toHaveLength(2);
    },
    30_000,
  );

  test("a crash with no request pending is also recovered from, and the next request is answered", async () => {
    const dir = tempDir();
    const pidfile = path.join(dir, "s.pids");
    const cfg = writeConfig(dir, { s: { env: { FIXTURE_PIDFILE: pidfile } } });
    await startDaemon(cfg.configPath);
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    const pid1 = (await a.stats()).pid;
    process.kill(pid1, "SIGKILL"); // external death, no request in flight
    await waitFor(() => readPids(pidfile).length >= 2, 5000, "restart after external kill");
    expect(resultText(await a.callTool("echo", { text: "after kill" }, "k", 5000))).toBe("after kill");
    const st = await a.stats();
    expect(st.pid).not.toBe(pid1);
    expect(st.initializeCount).toBe(1);
  });

  test("lazy_start: no child until the first client message", async () => {
    const dir = tempDir();
    const eagerPids = path.join(dir, "eager.pids");
    const lazyPids = path.join(dir, "lazy.pids");
    const cfg = writeConfig(dir, {
      eager: { env: { FIXTURE_PIDFILE: eagerPids, FIXTURE_TAG: "eager" } },
      lazy: { lazy_start: true, env: { FIXTURE_PIDFILE: lazyPids, FIXTURE_TAG: "lazy" } },
    });
    await startDaemon(cfg.configPath);
    // the eager one starts on its own
    await waitFor(() => readPids(eagerPids).length === 1, 5000, "eager child started");
    // connecting alone is not a message
    const l = await RawClient.connect(cfg.sockets.lazy!);
    const e = await RawClient.connect(cfg.sockets.eager!);
    await e.initialize();
    expect(resultText(await e.callTool("echo", { text: "eager" }))).toBe("eager");
    expect(readPids(lazyPids)).toEqual([]);
    // first message starts it
    const init = await l.initialize({ timeoutMs: 8000 });
    expect(init.result?.serverInfo?.name).toBe("fixture");
    const pids = readPids(lazyPids);
    expect(pids).toHaveLength(1);
    const st = await l.stats();
    expect(st.pid).toBe(pids[0]!);
    expect(st.initializeCount).toBe(1);
  });
});
