/**
 * The heartbeat against real processes: a child that goes silent is replaced (and what it held is answered with an
 * error), a child whose pings are slow but inside heartbeat_timeout_ms is left alone, and an operator's stop is
 * not undone by a ping that was in flight.
 *
 * Fixtures: test/fixtures/hang-after.ts (silent after N pings, or after a `freeze` call) and
 * test/fixtures/slow-ping.ts (answers ping after SLOW_PING_MS).
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";
import {
  BUN,
  cleanup,
  pidAlive,
  RawClient,
  type Received,
  readPids,
  REPO,
  resultText,
  type ServerSpec,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
  serverStatus,
} from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);
// real processes on a possibly busy machine: every wait inside has its own, shorter bound
setDefaultTimeout(45_000);

const HANG = path.join(REPO, "test/fixtures/hang-after.ts");
const SLOW_PING = path.join(REPO, "test/fixtures/slow-ping.ts");


async function boot(spec: ServerSpec) {
  const dir = tempDir();
  const pidfile = path.join(dir, "s.pids");
  const env = { HANG_PIDFILE: pidfile, SLOW_PING_PIDFILE: pidfile, ...((spec.env as Record<string, string>) ?? {}) };
  const cfg = writeConfig(dir, { s: { cmd: BUN, heartbeat: true, ...spec, env } });
  const ctl = path.join(dir, "daemon.sock");
  const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [cfg.sockets.s!, ctl], timeoutMs: 20_000 });
  // startDaemon's readiness probe is a real (short) connection: let the daemon see it leave
  await waitFor(async () => (await serverStatus(ctl, "s")).clients.connected === 0, 5000, "probe gone");
  const firstPid = async () => {
    const [pid] = await waitFor(() => (readPids(pidfile).length >= 1 ? readPids(pidfile) : null), 5000, "child started");
    trackPid(pid!);
    return pid!;
  };
  return { dir, cfg, ctl, daemon, pidfile, pid1: spec.lazy_start ? 0 : await firstPid(), firstPid };
}

/** Subscribe on a new control connection; every status seen (answer and events) is in `statuses()`, in order. */
async function subscribe(ctl: string) {
  const sub = await RawClient.connect(ctl);
  sub.send({ cmd: "subscribe", id: "sub" });
  await sub.next((r) => (r.msg as any)?.id === "sub", 5000, "subscribe answer");
  const statuses = () =>
    sub.history
      .filter((r) => !r.parseError && (r.msg as any)?.status)
      .map((r) => ((r.msg as any).status as DaemonStatus).servers.find((s) => s.name === "s")!);
  const event = (pred: (s: ServerStatus) => boolean, timeoutMs: number, what: string): Promise<Received> =>
    sub.next(
      (r) => (r.msg as any)?.event === "status" && pred((r.msg as any).status.servers.find((s: ServerStatus) => s.name === "s")),
      timeoutMs,
      what,
    );
  return { sub, statuses, event };
}

describe("heartbeat", () => {
  test("a child that stops answering is restarted by the heartbeat", async () => {
    // lazy_start: the child (and its pings) start only when a client speaks, after the subscription is in place
    const { cfg, ctl, daemon, pidfile, firstPid } = await boot({
      args: [HANG],
      env: { HANG_AFTER_PINGS: "3" },
      heartbeat_interval_ms: 100,
      heartbeat_timeout_ms: 500,
      heartbeat_max_failures: 2,
      lazy_start: true,
    });
    const { statuses, event } = await subscribe(ctl);
    expect(statuses()[0]!.state).toBe("lazy");
    const a = await RawClient.connect(cfg.sockets.s!);
    expect((await a.initialize({ timeoutMs: 8000 })).result?.serverInfo?.name).toBe("hang-after");
    const pid1 = await firstPid();
    await event((s) => s.restarts >= 1, 10_000, "a restart");
    const seen = statuses();
    // in order: pings answered by the first child, then failures counted against it, then its replacement
    const okAt = seen.findIndex((s) => s.pid === pid1 && s.heartbeat.latencyMs !== null && s.heartbeat.failures === 0);
    const failAt = seen.findIndex((s, i) => i > okAt && s.pid === pid1 && s.heartbeat.failures >= 1);
    const restartAt = seen.findIndex((s) => s.restarts >= 1);
    expect(okAt).toBeGreaterThanOrEqual(0);
    expect(failAt).toBeGreaterThan(okAt);
    expect(restartAt).toBeGreaterThan(failAt);
    expect(seen.slice(0, restartAt).every((s) => s.restarts === 0 && s.lastRestartReason === null)).toBe(true);

    const after = await serverStatus(ctl, "s");
    expect(after.restarts).toBeGreaterThanOrEqual(1);
    expect(after.lastRestartReason).toBe("heartbeat: 2 pings in a row got no answer within 500 ms");
    expect(after.heartbeat.enabled).toBe(true);
    await daemon.waitForStderr(/heartbeat: 2 pings in a row got no answer within 500 ms/, 5000);
    await waitFor(() => !pidAlive(pid1), 5000, "silent child gone");
    const pids = await waitFor(() => (readPids(pidfile).length >= 2 ? readPids(pidfile) : null), 5000, "a second child");
    pids.forEach(trackPid);
    expect(pids[0]).toBe(pid1);
    expect(pids[1]).not.toBe(pid1);
    // the first child had gone silent on its own (it said so on its stderr, which the daemon logs)
    await daemon.waitForStderr(new RegExp(`stderr: hang-after pid=${pid1} silent now$`), 5000);
  });

  test("a request held by a silent child is answered with an error when the heartbeat replaces it", async () => {
    const { cfg, ctl, pidfile, pid1 } = await boot({
      args: [HANG],
      env: { HANG_AFTER_PINGS: "1000000" },
      heartbeat_interval_ms: 100,
      heartbeat_timeout_ms: 500,
      heartbeat_max_failures: 2,
      request_timeout_ms: 10_000,
    });
    const a = await RawClient.connect(cfg.sockets.s!);
    expect((await a.initialize()).result?.serverInfo?.name).toBe("hang-after");
    expect(JSON.parse(resultText(await a.callTool("stats"))).pid).toBe(pid1);

    const t0 = Date.now();
    const frozen = await a.callTool("freeze", {}, "frozen", 8000);
    expect(Date.now() - t0).toBeLessThan(5000); // the heartbeat, not request_timeout_ms (10 s)
    expect(frozen.id).toBe("frozen");
    expect(frozen.error?.code).toBe(-32603);
    expect(frozen.error?.message).toContain("heartbeat");

    // same connection, new process, handshake replayed by the daemon
    expect(a.isClosed).toBe(false);
    expect(resultText(await a.callTool("echo", { text: "still here" }))).toBe("still here");
    const st = JSON.parse(resultText(await a.callTool("stats")));
    trackPid(st.pid);
    expect(st.pid).not.toBe(pid1);
    expect(st.initializes).toBe(1);
    await waitFor(() => readPids(pidfile).length === 2, 5000, "second pid written");
    expect(readPids(pidfile)).toEqual([pid1, st.pid]);

    // the new child answers its pings: watched until a heartbeat succeeded on it, still one restart
    const s = await waitFor(async () => {
      const s = await serverStatus(ctl, "s");
      return s.pid === st.pid && s.heartbeat.latencyMs !== null ? s : null;
    }, 5000, "a successful heartbeat on the new child");
    expect(s.restarts).toBe(1);
    expect(s.lastRestartReason).toContain("heartbeat");
    expect(s.heartbeat.failures).toBe(0);
  });

  test("slow pings inside heartbeat_timeout_ms are not failures: no restart over several heartbeats", async () => {
    const { ctl, pid1 } = await boot({
      args: [SLOW_PING],
      env: { SLOW_PING_MS: "150" },
      heartbeat_interval_ms: 100,
      heartbeat_timeout_ms: 2000,
      heartbeat_max_failures: 1, // a single failed ping would restart it
    });
    const { statuses } = await subscribe(ctl);
    // the fixture logs each ping it answered; the status carries the child's stderr tail
    // (a failure or a restart ends the wait at once, to fail below)
    const s = await waitFor(async () => {
      const s = await serverStatus(ctl, "s");
      const done = s.stderrTail.includes("slow-ping answered ping #6") || s.restarts > 0 || s.heartbeat.failures > 0;
      return done ? s : null;
    }, 10_000, "six slow pings answered");
    expect(s.stderrTail).toContain("slow-ping answered ping #6");
    expect(s.pid).toBe(pid1);
    expect(s.state).toBe("running");
    expect(s.restarts).toBe(0);
    expect(s.lastRestartReason).toBeNull();
    expect(s.heartbeat.failures).toBe(0);
    expect(s.heartbeat.latencyMs).not.toBeNull();
    expect(s.heartbeat.latencyMs!).toBeGreaterThanOrEqual(140); // the slowness was measured, and accepted
    expect(s.heartbeat.latencyMs!).toBeLessThan(2000);
    // every status published meanwhile: same child, never a failure; and the daemon's own pings (in flight most
    // of the time here) are not counted as clients' pending requests — there is no client at all
    const seen = statuses();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const x of seen) {
      expect(x.restarts).toBe(0);
      expect(x.heartbeat.failures).toBe(0);
      expect(x.pid).toBe(pid1);
      expect(x.clients.connected).toBe(0);
      expect(x.pending).toBe(0);
    }
    expect(s.pending).toBe(0);
  });

  test("the same slow pings past heartbeat_timeout_ms do restart the child", async () => {
    const { ctl, pid1 } = await boot({
      args: [SLOW_PING],
      env: { SLOW_PING_MS: "400" },
      heartbeat_interval_ms: 100,
      heartbeat_timeout_ms: 150,
      heartbeat_max_failures: 1,
    });
    const s = await waitFor(async () => {
      const s = await serverStatus(ctl, "s");
      return s.restarts >= 1 ? s : null;
    }, 10_000, "restart by the heartbeat");
    expect(s.lastRestartReason).toBe("heartbeat: 1 ping in a row got no answer within 150 ms");
    await waitFor(() => !pidAlive(pid1), 5000, "slow child replaced");
  });

  test("an operator stop is not undone by a heartbeat ping that was in flight", async () => {
    const { cfg, ctl, pidfile, pid1 } = await boot({
      args: [HANG],
      env: { HANG_AFTER_PINGS: "1000000" },
      heartbeat_interval_ms: 100,
      heartbeat_timeout_ms: 1000,
      heartbeat_max_failures: 1,
    });
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    void a.callTool("freeze", {}, "frozen", 8000).catch(() => {});
    // a heartbeat ping reached the silent child and is waiting for its timeout
    await waitFor(
      async () => (await serverStatus(ctl, "s")).stderrTail.includes(`hang-after pid=${pid1} ignored ping`),
      5000,
      "a ping left unanswered",
      10,
    );
    const seenAt = Date.now();
    const stop = await controlRequest(ctl, { cmd: "stop", name: "s" }, 5000);
    expect(stop.ok).toBe(true);
    expect((stop as { server?: ServerStatus }).server!.restarts).toBe(0); // stopped before that ping timed out
    await waitFor(() => !pidAlive(pid1), 5000, "stopped child gone");
    // Watch until well past that ping's timeout: the server must stay stopped, with no new child.
    const until = seenAt + 1000 + 600;
    while (Date.now() < until) {
      const s = await serverStatus(ctl, "s");
      expect(s.state).toBe("stopped");
      expect(s.pid).toBeNull();
      expect(s.restarts).toBe(0);
      await Bun.sleep(50); // polling interval of an observation window, not synchronisation
    }
    expect(readPids(pidfile)).toEqual([pid1]);
  });
});

describe("a server that always hangs", () => {
  test("heartbeat replacements back off and count towards max_restarts: it ends failed, not replaced forever", async () => {
    const { ctl } = await boot({
      args: [HANG],
      env: { HANG_AFTER_PINGS: "0" },
      heartbeat_interval_ms: 100,
      heartbeat_timeout_ms: 150,
      heartbeat_max_failures: 1,
      max_restarts: 2,
      restart_backoff_ms: 50,
      stable_run_ms: 60_000,
    });
    const failed = await waitFor(
      async () => {
        const s = await serverStatus(ctl, "s");
        return s.state === "failed" ? s : null;
      },
      20_000,
      "server failed after max_restarts",
    );
    expect(failed.reason).toContain("heartbeat");
    expect(failed.reason).toContain("max_restarts=2");
    expect(failed.restarts).toBe(2);
    expect(failed.pid).toBeNull();
  });
});
