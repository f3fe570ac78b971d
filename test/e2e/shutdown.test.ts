/**
 * SIGTERM: the daemon exits 0, removes every socket file it created, and leaves no child alive.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import {
  cleanup,
  pidAlive,
  RawClient,
  readPids,
  socketFilesIn,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
} from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

describe("shutdown", () => {
  test(
    "SIGTERM with busy clients: exit 0, socket files gone, children dead, clients disconnected",
    async () => {
      const dir = tempDir();
      const cfg = writeConfig(dir, {
        a: {},
        b: {},
        c: { lazy_start: true }, // never started
      });
      const d = await startDaemon(cfg.configPath);
      const ca = await RawClient.connect(cfg.sockets.a!);
      const cb = await RawClient.connect(cfg.sockets.b!);
      await ca.initialize();
      await cb.initialize();
      const pa = (await ca.stats()).pid;
      const pb = (await cb.stats()).pid;
      expect(pa).not.toBe(pb);
      // a request in flight during shutdown
      const hanging = ca.callTool("hang", {}, "h", 10_000).catch((e: Error) => e);
      await waitFor(async () => (await ca.stats()).pending === 1, 3000, "hang pending in child a");
      expect(socketFilesIn(dir).length).toBeGreaterThanOrEqual(3);

      const code = await d.stop("SIGTERM", 10_000);
      expect(code).toBe(0);
      for (const s of Object.values(cfg.sockets)) expect(existsSync(s)).toBe(false);
      expect(socketFilesIn(dir)).toEqual([]);
      await waitFor(() => !pidAlive(pa) && !pidAlive(pb), 2000, "children dead");
      await Promise.race([Promise.all([ca.closed, cb.closed]), Bun.sleep(2000)]);
      expect(ca.isClosed && cb.isClosed).toBe(true);
      // the pending request is answered with an error before its connection closes, never left to silence
      const h = await hanging;
      expect(h).not.toBeInstanceOf(Error);
      expect((h as any).error?.code).toBe(-32603);
    },
    30_000,
  );

  test(
    "SIGTERM with a child that ignores SIGTERM and stdin EOF: the daemon still exits 0 and the child is killed",
    async () => {
      const dir = tempDir();
      const pidfile = path.join(dir, "stubborn.pids");
      const cfg = writeConfig(dir, {
        stubborn: {
          shutdown_grace_ms: 300,
          env: { FIXTURE_IGNORE_SIGTERM: "1", FIXTURE_IGNORE_STDIN_EOF: "1", FIXTURE_PIDFILE: pidfile },
        },
      });
      const d = await startDaemon(cfg.configPath);
      const c = await RawClient.connect(cfg.sockets.stubborn!);
      await c.initialize();
      const pid = (await c.stats()).pid;
      trackPid(pid);
      expect(readPids(pidfile)).toEqual([pid]);
      const t0 = Date.now();
      const code = await d.stop("SIGTERM", 10_000);
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(existsSync(cfg.sockets.stubborn!)).toBe(false);
      await waitFor(() => !pidAlive(pid), 2000, "stubborn child dead");
    },
    30_000,
  );

  test("SIGTERM right after start (no client ever connected) exits 0 and cleans up", async () => {
    const dir = tempDir();
    const pidfile = path.join(dir, "p.pids");
    const cfg = writeConfig(dir, { p: { env: { FIXTURE_PIDFILE: pidfile } } });
    const d = await startDaemon(cfg.configPath);
    await waitFor(() => readPids(pidfile).length === 1, 5000, "child started");
    const pid = readPids(pidfile)[0]!;
    trackPid(pid);
    expect(await d.stop("SIGTERM")).toBe(0);
    expect(socketFilesIn(dir)).toEqual([]);
    await waitFor(() => !pidAlive(pid), 2000, "child dead");
  });
});
