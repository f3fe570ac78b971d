/**
 * The control socket of a real daemon (protocol in src/control/protocol.ts): status, restart, stop, start,
 * subscribe, bad input; and the counters it reports, each moved by the test itself.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { statSync } from "node:fs";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";
import {
  BUN,
  cleanup,
  FIXTURE,
  pidAlive,
  RawClient,
  readPids,
  resultText,
  type ServerSpec,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
  askControl as ask,
  daemonStatus,
  serverStatus,
  type Answer,
} from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);
// real processes on a possibly busy machine: every wait inside has its own, shorter bound
setDefaultTimeout(45_000);


/** The next line on a control connection that is an answer (has `ok`), in order. */
async function nextAnswer(c: RawClient, what: string): Promise<Answer> {
  const r = await c.next((r) => !r.parseError && "ok" in (r.msg as any), 5000, what);
  return r.msg as unknown as Answer;
}



const srv = (st: DaemonStatus, name: string) => st.servers.find((s) => s.name === name)!;

/** A daemon with fixture servers (default s and t), each writing its pids to `<dir>/<name>.pids`. */
async function boot(servers: Record<string, ServerSpec> = { s: {}, t: {} }) {
  const dir = tempDir();
  const pidfiles: Record<string, string> = {};
  const specs: Record<string, ServerSpec> = {};
  for (const [name, spec] of Object.entries(servers)) {
    pidfiles[name] = path.join(dir, `${name}.pids`);
    specs[name] = { ...spec, env: { FIXTURE_PIDFILE: pidfiles[name]!, ...((spec.env as Record<string, string>) ?? {}) } };
  }
  const cfg = writeConfig(dir, specs);
  const ctl = path.join(dir, "daemon.sock");
  const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [...Object.values(cfg.sockets), ctl], timeoutMs: 20_000 });
  // startDaemon's readiness probes are real (short) connections: let the daemon see them leave
  await waitFor(async () => (await daemonStatus(ctl)).servers.every((s) => s.clients.connected === 0), 5000, "probes gone");
  return { dir, cfg, ctl, daemon, pidfiles };
}

describe("control socket", () => {
  test("status: the daemon and every server; the socket file is 0600", async () => {
    const { cfg, ctl, daemon, pidfiles } = await boot();
    const st = statSync(ctl);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);

    const c = await RawClient.connect(ctl);
    const a = await ask(c, { cmd: "status", id: "status-1" });
    expect(a.ok).toBe(true);
    expect(a.id).toBe("status-1"); // the id is echoed
    const s = a.status!;
    expect(s.pid).toBe(daemon.proc.pid);
    expect(s.statusSocket).toBe(ctl);
    expect(typeof s.version).toBe("string");
    expect(s.servers.map((x) => x.name)).toEqual(["s", "t"]);
    const [pidS] = await waitFor(() => (readPids(pidfiles.s!).length === 1 ? readPids(pidfiles.s!) : null), 5000, "s started");
    const sv = srv(s, "s");
    expect(sv.state).toBe("running");
    expect(sv.pid).toBe(pidS!);
    expect(sv.socket).toBe(cfg.sockets.s!);
    expect(sv.command).toEqual([BUN, FIXTURE]);
    expect(sv.limits).toEqual({ maxActiveClients: 5, maxConnections: 256, maxRequestBytes: 1048576, requestTimeoutMs: 10_000, lazyStart: false });
    expect(sv.heartbeat).toEqual({ enabled: false, latencyMs: null, failures: 0 });
    expect(sv.clients.connected).toBe(0);
    expect(sv.restarts).toBe(0);
    expect(sv.lastRestartReason).toBeNull();
    // an answer without an id when the request had none
    c.send({ cmd: "status" });
    const noId = await nextAnswer(c, "status without id");
    expect(noId.ok).toBe(true);
    expect("id" in noId).toBe(false);
  });

  test("restart NAME: a new child; a client that stayed connected is answered by it after a replayed handshake", async () => {
    const { cfg, ctl, pidfiles } = await boot();
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    const pid1 = (await a.stats()).pid;
    const pidT = (await serverStatus(ctl, "t")).pid;

    const c = await RawClient.connect(ctl);
    const r = await ask(c, { cmd: "restart", name: "s" });
    expect(r.ok).toBe(true);
    const pid2 = r.server!.pid!;
    trackPid(pid2);
    expect(typeof pid2).toBe("number");
    expect(pid2).not.toBe(pid1);
    expect(r.server!.name).toBe("s");
    expect(r.server!.restarts).toBe(1);
    expect(r.server!.lastRestartReason).toBe("restarted by an operator");
    await waitFor(() => !pidAlive(pid1), 5000, "old child gone");
    await waitFor(() => readPids(pidfiles.s!).length === 2, 5000, "new child wrote its pid");
    expect(readPids(pidfiles.s!)).toEqual([pid1, pid2]);

    // the same connection, never re-initialized by the client
    expect(a.isClosed).toBe(false);
    await a.notification("notifications/tools/list_changed");
    expect(resultText(await a.callTool("echo", { text: "after restart" }))).toBe("after restart");
    const st = await a.stats();
    expect(st.pid).toBe(pid2);
    expect(st.initializeCount).toBe(1);
    expect(st.initializedCount).toBe(1);
    // the other server was left alone
    const t = await serverStatus(ctl, "t");
    expect(t.pid).toBe(pidT);
    expect(t.restarts).toBe(0);
  });

  test("stop NAME: state stopped, requests fail at once; start NAME: running again, requests answered", async () => {
    const { cfg, ctl, pidfiles } = await boot({ s: { request_timeout_ms: 10_000 } });
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    const pid1 = (await a.stats()).pid;
    const c = await RawClient.connect(ctl);

    const stop = await ask(c, { cmd: "stop", name: "s" });
    expect(stop.ok).toBe(true);
    expect(stop.server!.state).toBe("stopped");
    expect(stop.server!.pid).toBeNull();
    expect(stop.server!.reason).toBe("stopped by an operator");
    await waitFor(() => !pidAlive(pid1), 5000, "child gone after stop");
    expect((await serverStatus(ctl, "s")).state).toBe("stopped");

    // answered at once: the client waits 5 s at most, request_timeout_ms is 10 s, and a timeout would say so
    const res = await a.callTool("echo", { text: "while stopped" }, "stopped-1", 5000);
    expect(res.id).toBe("stopped-1");
    expect(res.error?.code).toBe(-32603);
    expect(res.error?.message).toContain("stopped");
    expect(res.error?.message).not.toMatch(/timed out/);
    expect(a.isClosed).toBe(false);
    expect(readPids(pidfiles.s!)).toEqual([pid1]); // a request does not bring a stopped server back

    const start = await ask(c, { cmd: "start", name: "s" });
    expect(start.ok).toBe(true);
    // "starting" while the daemon replays the handshake to the new process, then "running"
    expect(["starting", "running"]).toContain(start.server!.state);
    const pid2 = start.server!.pid!;
    trackPid(pid2);
    expect(typeof pid2).toBe("number");
    expect(pid2).not.toBe(pid1);
    expect(resultText(await a.callTool("echo", { text: "back" }))).toBe("back");
    const st = await a.stats();
    expect(st.pid).toBe(pid2);
    expect(st.initializeCount).toBe(1);
    await waitFor(async () => (await serverStatus(ctl, "s")).state === "running", 5000, "running after start");
  });

  test("stop NAME with a request in flight: that request is answered with an error at once", async () => {
    const { cfg, ctl } = await boot({ s: { request_timeout_ms: 10_000 } });
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    const slow = a.callTool("slow", { ms: 8000, text: "never" }, "in-flight", 12_000);
    await waitFor(async () => (await serverStatus(ctl, "s")).pending === 1, 5000, "slow call in flight");
    const c = await RawClient.connect(ctl);
    expect((await ask(c, { cmd: "stop", name: "s" })).ok).toBe(true);
    // the stop answers it (not the 8 s call finishing, not request_timeout_ms): the message says which
    const res = await slow;
    expect(res.error?.code).toBe(-32603);
    expect(res.error?.message).toContain("stopped by an operator");
    const s = await serverStatus(ctl, "s");
    expect(s.state).toBe("stopped");
    expect(s.pending).toBe(0);
    expect(s.timeouts).toBe(0);
    // and start still works after that
    expect((await ask(c, { cmd: "start", name: "s" })).ok).toBe(true);
    expect(resultText(await a.callTool("echo", { text: "again" }))).toBe("again");
  });

  test("subscribe: events arrive on client connect, disconnect and restart", async () => {
    const { cfg, ctl } = await boot({ s: {} });
    const sub = await RawClient.connect(ctl);
    // without the once-a-second ticks, every event is a change being published
    const first = await ask(sub, { cmd: "subscribe", ticks: false });
    expect(first.ok).toBe(true);
    expect(srv(first.status!, "s").clients.connected).toBe(0);
    const event = (pred: (s: ServerStatus) => boolean, what: string) =>
      sub.next((r) => (r.msg as any)?.event === "status" && pred(srv((r.msg as any).status, "s")), 5000, what);

    const from = sub.history.length;
    for (let i = 0; i < 3; i++) {
      sub.queue.splice(0);
      const client = await RawClient.connect(cfg.sockets.s!);
      await event((s) => s.clients.connected === 1, `connect event ${i}`);
      sub.queue.splice(0);
      if (i % 2 === 0) client.destroy();
      else await client.close();
      await event((s) => s.clients.connected === 0, `disconnect event ${i}`);
    }
    const events = sub.history.slice(from).filter((r) => (r.msg as any)?.event === "status").length;
    expect(events).toBeGreaterThanOrEqual(6);

    sub.queue.splice(0);
    const other = await RawClient.connect(ctl);
    const r = await ask(other, { cmd: "restart", name: "s" });
    trackPid(r.server!.pid!);
    const ev = await event((s) => s.restarts === 1, "restart event");
    const evs = srv((ev.msg as any).status, "s");
    expect(evs.pid).toBe(r.server!.pid!);
    expect(evs.lastRestartReason).toBe("restarted by an operator");
    // subscribe again on the same connection: answered, not doubled
    const again = await ask(sub, { cmd: "subscribe" });
    expect(again.ok).toBe(true);
  });

  test("subscribe with ticks:false hears nothing while nothing changes; a default subscriber gets the ticks", async () => {
    const { ctl } = await boot({ s: {} });
    const quiet = await RawClient.connect(ctl);
    const ticking = await RawClient.connect(ctl);
    expect((await ask(quiet, { cmd: "subscribe", ticks: false })).ok).toBe(true);
    expect((await ask(ticking, { cmd: "subscribe" })).ok).toBe(true);
    const isEvent = (r: { msg: unknown }) => (r.msg as any)?.event === "status";
    // two ticks reach the default subscriber; in the same span the quiet one hears nothing
    await ticking.next(isEvent, 5000, "first tick");
    await ticking.next(isEvent, 5000, "second tick");
    expect(quiet.history.filter(isEvent)).toEqual([]);
  });

  test("bad input gets {ok:false} and the connection keeps working", async () => {
    const { ctl } = await boot({ s: {} });
    const c = await RawClient.connect(ctl);

    c.send("this is not json");
    const bad = await nextAnswer(c, "answer to bad JSON");
    expect(bad.ok).toBe(false);
    expect(bad.error).toContain("invalid JSON");

    const unknown = await ask(c, { cmd: "frobnicate", id: "unknown-1" });
    expect(unknown.ok).toBe(false);
    expect(unknown.id).toBe("unknown-1");
    expect(unknown.error).toContain("unknown command");
    for (const cmd of ["status", "restart", "stop", "start", "subscribe"]) expect(unknown.error).toContain(cmd);

    for (const line of ["42", "null", "[]", '"status"']) {
      c.send(line);
      const a = await nextAnswer(c, `answer to ${line}`);
      expect(a.ok).toBe(false);
    }

    c.send(JSON.stringify({ cmd: "status", pad: "x".repeat(70 * 1024) }));
    const big = await nextAnswer(c, "answer to an oversize request");
    expect(big.ok).toBe(false);
    expect(big.error).toContain("65536");

    const ok = await ask(c, { cmd: "status" });
    expect(ok.ok).toBe(true);
    expect(ok.status!.servers[0]!.name).toBe("s");
    expect(c.isClosed).toBe(false);
  });

  test("an unknown or missing server name is refused, naming the servers; nothing is touched", async () => {
    const { ctl, pidfiles } = await boot();
    await waitFor(() => readPids(pidfiles.s!).length === 1 && readPids(pidfiles.t!).length === 1, 5000, "children up");
    const c = await RawClient.connect(ctl);
    for (const cmd of ["restart", "stop", "start"]) {
      const a = await ask(c, { cmd, name: "nope" });
      expect(a.ok).toBe(false);
      expect(a.error).toContain('"nope"');
      expect(a.error).toContain("servers: s, t");
    }
    const missing = await ask(c, { cmd: "restart" });
    expect(missing.ok).toBe(false);
    expect(missing.error).toContain("servers: s, t");
    const st = await ask(c, { cmd: "status" });
    for (const s of st.status!.servers) {
      expect(s.state).toBe("running");
      expect(s.restarts).toBe(0);
    }
    expect(readPids(pidfiles.s!)).toHaveLength(1);
    expect(readPids(pidfiles.t!)).toHaveLength(1);
  });
});

describe("status counters", () => {
  test("clients.connected goes up and down with raw clients", async () => {
    const { cfg, ctl } = await boot({ s: {} });
    expect((await serverStatus(ctl, "s")).clients.connected).toBe(0);
    const clients: RawClient[] = [];
    for (let i = 1; i <= 3; i++) {
      clients.push(await RawClient.connect(cfg.sockets.s!));
      await waitFor(async () => (await serverStatus(ctl, "s")).clients.connected === i, 5000, `${i} connected`);
    }
    const s3 = await serverStatus(ctl, "s");
    // connected, nothing asked: no client is active (slots belong to clients with a request in flight)
    expect(s3.clients.active).toBe(0);
    expect(s3.clients.waiting).toBe(0);
    await clients[1]!.initialize();
    const slow = clients[1]!.callTool("slow", { ms: 1500, text: "x" }, "slow", 5000);
    await waitFor(async () => ((await serverStatus(ctl, "s")).clients.active === 1 ? true : undefined), 3000, "1 active");
    expect(resultText(await slow)).toBe("x");
    await waitFor(async () => ((await serverStatus(ctl, "s")).clients.active === 0 ? true : undefined), 3000, "0 active after the answer");
    await clients[0]!.close();
    await waitFor(async () => (await serverStatus(ctl, "s")).clients.connected === 2, 5000, "2 connected");
    clients[1]!.destroy();
    clients[2]!.destroy();
    await waitFor(async () => (await serverStatus(ctl, "s")).clients.connected === 0, 5000, "0 connected");
    expect((await serverStatus(ctl, "s")).clients.active).toBe(0);
  });

  test("pending while a slow call is in flight; served counts each request the backend answered", async () => {
    const { cfg, ctl } = await boot({ s: {} });
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    const base = await serverStatus(ctl, "s");
    expect(base.pending).toBe(0);
    for (let i = 1; i <= 3; i++) {
      expect(resultText(await a.callTool("echo", { text: `n${i}` }))).toBe(`n${i}`);
      expect((await serverStatus(ctl, "s")).served).toBe(base.served + i);
    }
    // a ping is answered by the mux itself, not by the backend
    expect((await a.request("ping")).result).toEqual({});
    expect((await serverStatus(ctl, "s")).served).toBe(base.served + 3);

    const slow = a.callTool("slow", { ms: 800, text: "late" }, "slow-1", 5000);
    const during = await waitFor(async () => {
      const s = await serverStatus(ctl, "s");
      return s.pending > 0 ? s : null;
    }, 3000, "pending > 0");
    expect(during.pending).toBe(1);
    expect(during.served).toBe(base.served + 3);
    expect(resultText(await slow)).toBe("late");
    const after = await serverStatus(ctl, "s");
    expect(after.pending).toBe(0);
    expect(after.served).toBe(base.served + 4);
  });

  test("timeouts counts a request that timed out", async () => {
    const { cfg, ctl, pidfiles } = await boot({ s: { request_timeout_ms: 1200 } });
    await waitFor(() => readPids(pidfiles.s!).length === 1, 5000, "child up");
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    expect((await serverStatus(ctl, "s")).timeouts).toBe(0);
    const res = await a.callTool("hang", {}, "h1", 5000);
    expect(res.error?.code).toBe(-32603);
    expect(res.error?.message).toContain("timed out");
    const s = await serverStatus(ctl, "s");
    expect(s.timeouts).toBe(1);
    expect(s.pending).toBe(0);
  });

  test("restarts, lastRestartReason and uptimeMs follow restarts (operator and crash)", async () => {
    const { cfg, ctl } = await boot({ s: {} });
    const before = await waitFor(async () => {
      const s = await serverStatus(ctl, "s");
      return s.uptimeMs !== null && s.uptimeMs >= 400 ? s : null;
    }, 5000, "uptime >= 400 ms");
    expect(before.restarts).toBe(0);
    expect(before.lastRestartReason).toBeNull();
    const daemonUp = (await daemonStatus(ctl)).uptimeMs;

    const c = await RawClient.connect(ctl);
    const r = await ask(c, { cmd: "restart", name: "s" });
    trackPid(r.server!.pid!);
    expect(r.server!.restarts).toBe(1);
    expect(r.server!.lastRestartReason).toBe("restarted by an operator");
    expect(r.server!.uptimeMs).not.toBeNull();
    expect(r.server!.uptimeMs!).toBeLessThan(before.uptimeMs!);
    const after = await daemonStatus(ctl);
    expect(srv(after, "s").uptimeMs!).toBeLessThan(before.uptimeMs!);
    expect(after.uptimeMs).toBeGreaterThanOrEqual(daemonUp); // the daemon's own uptime does not reset

    expect((await ask(c, { cmd: "restart", name: "s" })).server!.restarts).toBe(2);

    // a crash is a restart too, with its own reason
    const a = await RawClient.connect(cfg.sockets.s!);
    await a.initialize();
    const pid = (await a.stats()).pid;
    const crash = await a.callTool("crash", {}, "boom", 5000);
    expect(crash.error?.code).toBe(-32603);
    const s = await waitFor(async () => {
      const s = await serverStatus(ctl, "s");
      return s.restarts === 3 && s.pid !== null && s.pid !== pid ? s : null;
    }, 5000, "restart after crash");
    expect(s.lastRestartReason).toContain("exit code 3");
  });
});
