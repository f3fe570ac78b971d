/**
 * Issue 8, part 2 — broken backends. Each test runs its own daemon with a misbehaving child (test/fixtures/bad-*.ts
 * or the fixture server's FIXTURE_* switches) next to a healthy server, and checks that clients always get exactly
 * one answer (a result or an error, never silence), that the misbehaviour is logged, and that the healthy server
 * next door never notices.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import {
  bad,
  BUN,
  childrenOf,
  cleanupAll,
  control,
  controlSocketOf,
  daemonStatus,
  fdCount,
  fdTargets,
  pidAlive,
  RawClient,
  readPids,
  resultText,
  runCli,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  Witness,
  writeConfig,
  reasonOf,
} from "./helpers.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

describe("broken backends", () => {
  test("a child that prints banners and non-JSON on stdout: every line logged and skipped, every answer delivered", async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, {
      noisy: { cmd: BUN, args: [bad("stdout")], env: { BAD_HUGE_LINE_BYTES: String(200 * 1024) }, max_response_bytes: 64 * 1024 },
      ok: {},
    });
    const d = await startDaemon(cfg.configPath);
    const w = await Witness.start(cfg.sockets.ok!);
    const c = await RawClient.connect(cfg.sockets.noisy!);
    const init = await c.initialize({ timeoutMs: 20_000 });
    expect(init.result?.serverInfo?.name).toBe("bad-fixture");
    const n = 20;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => c.callTool("echo", { text: `t${i}` }, i, 20_000)));
    answers.forEach((a, i) => {
      expect(a.id).toBe(i);
      expect(resultText(a)).toBe(`t${i}`);
    });
    const st = JSON.parse(resultText(await c.callTool("stats", {}, "st", 20_000)));
    trackPid(st.pid);
    // the garbage was seen and skipped: a burst before every answer (initialize + n echoes + stats)
    expect(st.garbageBursts).toBe(n + 2);
    // logged: the banner, the half line, the bare values, the object with neither id nor method, the long line
    await d.waitForStderr(/\[noisy\].*not a JSON-RPC message, skipped: Starting bad-stdout server/, 15_000);
    await d.waitForStderr(/\[noisy\].*not a JSON-RPC message, skipped: \{"jsonrpc":"2.0","id":$/, 15_000);
    await d.waitForStderr(/\[noisy\].*not a JSON-RPC message, skipped: 42$/, 15_000);
    await d.waitForStderr(/\[noisy\].*without id or method, skipped: \{"hello":"world"\}/, 15_000);
    await d.waitForStderr(/\[noisy\].*non-string method, skipped/, 15_000);
    await d.waitForStderr(/\[noisy\].*backend wrote a \d+-byte line, over max_response_bytes \(65536\); dropped/, 15_000);
    // every over-size line is logged once: wait for the count itself (the last line may still be in transit)
    expect(await d.waitForStderrCount(/\[noisy\].*over max_response_bytes/, n + 2, 15_000)).toBe(n + 2);
    // no restart: the same process answered everything; nothing but the answers reached the client
    expect(d.countStderr(/\[noisy\] started pid/)).toBe(1);
    expect(c.history.filter((h) => h.parseError)).toEqual([]);
    expect(c.history.map((h) => h.msg.id).sort()).toEqual([...answers.map((a) => a.id), "st", init.id].sort() as any);
    const ws = await w.stop();
    expect(ws.problems).toEqual([]);
    expect(ws.done).toBeGreaterThan(0);
  }, 120_000);

  test("a child that answers with unknown and duplicate ids: each request gets exactly one answer, the right one", async () => {
    const cfg = writeConfig(undefined, { liar: { cmd: BUN, args: [bad("ids")], request_timeout_ms: 1500 } });
    const d = await startDaemon(cfg.configPath, [], { env: { RMCP_MUX_LOG: "debug" } });
    const a = await RawClient.connect(cfg.sockets.liar!);
    const b = await RawClient.connect(cfg.sockets.liar!);
    await a.initialize({ timeoutMs: 20_000 });
    await b.initialize({ timeoutMs: 20_000 });
    const n = 30;
    const [ra, rb] = await Promise.all([
      Promise.all(Array.from({ length: n }, (_, i) => a.callTool("echo", { text: `a${i}` }, i, 20_000))),
      Promise.all(Array.from({ length: n }, (_, i) => b.callTool("echo", { text: `b${i}` }, `${i}`, 20_000))),
    ]);
    ra.forEach((r, i) => expect(resultText(r)).toBe(`a${i}`));
    rb.forEach((r, i) => expect(resultText(r)).toBe(`b${i}`));
    // a request the child only ever answers with wrong ids: a timeout error, not silence and not a wrong answer
    const never = await a.callTool("wrong-only", {}, "never", 20_000);
    expect(never.error?.code).toBe(-32603);
    expect(reasonOf(never)).toBe("timeout");
    // barrier: a call the child itself answers, after every stray and duplicate it wrote for earlier requests
    // (its stdout is one ordered stream); a ping would be answered by the mux and order nothing
    expect(resultText(await a.callTool("echo", { text: "barrier-a" }, "barrier-a", 15_000))).toBe("barrier-a");
    expect(resultText(await b.callTool("echo", { text: "barrier-b" }, "barrier-b", 15_000))).toBe("barrier-b");
    // exactly one message per request id (duplicates and strays dropped), nothing "wrong id for"
    const count = (c: RawClient) => {
      const m = new Map<string, number>();
      for (const h of c.history) m.set(JSON.stringify(h.msg.id), (m.get(JSON.stringify(h.msg.id)) ?? 0) + 1);
      return m;
    };
    for (const [id, k] of count(a)) expect({ id, k }).toEqual({ id, k: 1 });
    for (const [id, k] of count(b)) expect({ id, k }).toEqual({ id, k: 1 });
    expect(a.history.length).toBe(n + 3); // initialize, n echoes, wrong-only, barrier
    expect(b.history.length).toBe(n + 2);
    expect([...a.history, ...b.history].some((h) => h.raw.includes("wrong id for"))).toBe(false);
    expect(d.countStderr(/answered unknown id/)).toBeGreaterThan(2 * n);
    expect(d.countStderr(/\[liar\] started pid/)).toBe(1);
  }, 120_000);

  test("a child that never answers (not even initialize): the client gets a timeout error, the child is replaced", async () => {
    const dir = tempDir();
    const pids = path.join(dir, "pids");
    const cfg = writeConfig(dir, {
      mute: { cmd: BUN, args: [bad("silent")], env: { BAD_PIDFILE: pids }, request_timeout_ms: 1500, shutdown_grace_ms: 500 },
      ok: {},
    });
    const d = await startDaemon(cfg.configPath);
    const w = await Witness.start(cfg.sockets.ok!);
    const first = await waitFor(() => readPids(pids)[0], 20_000, "first silent child");
    trackPid(first);
    const c = await RawClient.connect(cfg.sockets.mute!);
    const init = c.request("initialize", { protocolVersion: "2025-06-18", capabilities: {} }, "i", 15_000);
    const call = c.response("queued", 15_000);
    c.send({ jsonrpc: "2.0", id: "queued", method: "tools/call", params: { name: "echo", arguments: { text: "x" } } });
    const r = await init;
    expect(r.error?.code).toBe(-32603);
    expect(reasonOf(r)).toBe("timeout");
    const q = (await call).msg;
    expect(q.error?.code).toBe(-32603); // the request queued behind the handshake is not forgotten either
    await d.waitForStderr(/\[mute\].*did not answer initialize within 1500 ms/, 15_000);
    // replaced: a new process, the old one gone
    const second = await waitFor(() => readPids(pids)[1], 20_000, "replacement child");
    trackPid(second);
    await waitFor(() => !pidAlive(first), 20_000, "first silent child gone");
    // the mux still answers what it can answer itself, and the healthy server never noticed
    expect((await c.request("ping", undefined, "p", 15_000)).result).toEqual({});
    await w.progressed(5);
    const ws = await w.stop();
    expect(ws.problems).toEqual([]);
  }, 90_000);

  test("a child that exits at start: backoff until max_restarts, then failed with its reason; clients get an immediate error", async () => {
    const dir = tempDir();
    const pids = path.join(dir, "pids");
    const cfg = writeConfig(dir, {
      dead: {
        env: { FIXTURE_EXIT_AT_START: "7", FIXTURE_PIDFILE: pids },
        max_restarts: 3,
        restart_backoff_ms: 100,
        restart_backoff_max_ms: 400,
        stable_run_ms: 60_000,
        request_timeout_ms: 120_000, // an answer that came from a timeout would take minutes: the test would fail
      },
      ok: {},
    });
    const d = await startDaemon(cfg.configPath);
    const w = await Witness.start(cfg.sockets.ok!);
    // a client that arrives during the backoff (or just after the failure): it must not wait for request_timeout_ms
    const early = await RawClient.connect(cfg.sockets.dead!);
    // four bun start-ups on a loaded machine can take many seconds: wait long, still far below request_timeout_ms
    const earlyInit = early.request("initialize", { protocolVersion: "2025-06-18", capabilities: {} }, "early", 60_000);
    const earlyCall = early.response("early-call", 60_000);
    early.send({ jsonrpc: "2.0", id: "early-call", method: "tools/call", params: { name: "echo", arguments: { text: "x" } } });
    const ei = await earlyInit;
    expect(ei.error?.code).toBe(-32603);
    expect(["backend_failed", "backend_unavailable"]).toContain(String(reasonOf(ei)));
    expect((await earlyCall).msg.error?.code).toBe(-32603);

    const line = await d.waitForStderr(/\[dead\].*gave up after 4 failed runs \(max_restarts=3\)/, 60_000);
    expect(line).toContain("exit code 7");
    expect(d.countStderr(/\[dead\].*restarting in \d+ ms/)).toBe(3);
    const started = readPids(pids);
    expect(started).toHaveLength(4);
    started.forEach(trackPid);
    for (const p of started) expect(pidAlive(p)).toBe(false);

    // status (control socket) and daemon-status --json agree: failed, with the reason
    const st = await daemonStatus(controlSocketOf(cfg.dir));
    const dead = st.servers.find((s: any) => s.name === "dead");
    expect(dead.state).toBe("failed");
    expect(dead.reason).toContain("exit code 7");
    expect(dead.reason).toContain("max_restarts=3");
    expect(dead.restarts).toBe(3); // max_restarts counts restarts: 3 of them, 4 runs (README, Configuration)
    expect(dead.pid).toBeNull();
    expect(st.servers.find((s: any) => s.name === "ok").state).toBe("running");
    const cli = await runCli(["daemon-status", "--json", "--config", cfg.configPath], 20_000);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).servers.find((s: any) => s.name === "dead").state).toBe("failed");

    // a client arriving after the failure: immediate errors for initialize and for a call
    const late = await RawClient.connect(cfg.sockets.dead!);
    const li = await late.request("initialize", { protocolVersion: "2025-06-18", capabilities: {} }, 1, 20_000);
    expect(reasonOf(li)).toBe("backend_unavailable");
    expect(li.error?.message).toContain("failed");
    const lc = await late.callTool("echo", { text: "x" }, 2, 20_000);
    expect(lc.error?.code).toBe(-32603);
    // no further start attempts after giving up
    expect(readPids(pids)).toHaveLength(4);
    const ws = await w.stop();
    expect(ws.problems).toEqual([]);
  }, 150_000);

  test("a child that crashes in a loop: every request gets one error, restarts go on, no fd or process leak, neighbour unharmed", async () => {
    const dir = tempDir();
    const pids = path.join(dir, "pids");
    const cfg = writeConfig(dir, {
      loop: {
        cmd: BUN,
        args: [bad("crashloop")],
        env: { BAD_PIDFILE: pids },
        max_restarts: 0, // unlimited
        restart_backoff_ms: 10,
        restart_backoff_max_ms: 80,
        request_timeout_ms: 30_000,
      },
      ok: {},
    });
    const d = await startDaemon(cfg.configPath);
    const w = await Witness.start(cfg.sockets.ok!);
    const c = await RawClient.connect(cfg.sockets.loop!);
    await c.initialize({ timeoutMs: 20_000 });
    const crashOnce = async (i: number) => {
      // each call makes the current child write half an answer and exit: one error back, never silence
      const r = await c.callTool("echo", { text: `x${i}` }, i, 20_000);
      expect(r.id).toBe(i);
      expect(r.error?.code).toBe(-32603);
      expect(reasonOf(r)).toBe("backend_exited");
    };
    for (let i = 0; i < 5; i++) await crashOnce(i);
    await waitFor(() => readPids(pids).length >= 6, 20_000, "sixth start");
    const fdsWarm = fdCount(d.proc.pid);
    for (let i = 5; i < 30; i++) await crashOnce(i);
    await waitFor(() => readPids(pids).length >= 31, 20_000, "31st start");
    // the latest child answers initialize (replayed by the mux) and ping: the half line of its predecessor
    // was not glued to its first line
    const started = readPids(pids);
    started.forEach(trackPid);
    await waitFor(async () => (await daemonStatus(controlSocketOf(cfg.dir))).servers[0].state === "running", 20_000, "running again");
    expect((await c.request("ping", undefined, "p", 15_000)).result).toEqual({});
    // no leak: old children are reaped (not even zombies), pipes closed
    for (const p of started.slice(0, -1)) expect(pidAlive(p)).toBe(false);
    // the daemon's children: the current loop child and the ok child, both alive (no zombies left unreaped)
    const kids = await waitFor(() => {
      const k = childrenOf(d.proc.pid);
      return k.length <= 2 ? k : undefined;
    }, 15_000, "at most two children of the daemon").catch(() => childrenOf(d.proc.pid));
    expect(kids.length).toBeLessThanOrEqual(2);
    for (const k of kids) expect(pidAlive(k)).toBe(true);
    const fdsAfter = await waitFor(() => {
      const n = fdCount(d.proc.pid);
      return n <= fdsWarm + 3 ? n : undefined;
    }, 15_000, `fd count back near ${fdsWarm}`).catch(() => fdCount(d.proc.pid));
    expect({ fdsAfter, targets: fdsAfter > fdsWarm + 3 ? fdTargets(d.proc.pid) : [] }).toEqual({ fdsAfter, targets: [] });
    expect(c.history.filter((h) => h.msg.id !== undefined).length).toBe(32); // init, 30 errors, ping
    const ws = await w.stop();
    expect(ws.problems).toEqual([]);
    const st = await daemonStatus(controlSocketOf(cfg.dir));
    expect(st.servers.find((s: any) => s.name === "loop").restarts).toBeGreaterThanOrEqual(30);
  }, 120_000);

  test("a child that ignores SIGTERM and stdin EOF: SIGKILL after shutdown_grace_ms on restart and on daemon stop", async () => {
    const cfg = writeConfig(undefined, {
      stubborn: { env: { FIXTURE_IGNORE_SIGTERM: "1", FIXTURE_IGNORE_STDIN_EOF: "1" }, shutdown_grace_ms: 300 },
    });
    const d = await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.stubborn!);
    await c.initialize({ timeoutMs: 20_000 });
    const pid1 = (await c.stats(10_000)).pid;
    const answer = await control(controlSocketOf(cfg.dir), { cmd: "restart", name: "stubborn" }, 20_000);
    expect(answer.ok).toBe(true);
    await d.waitForStderr(/\[stubborn\].*pid \d+ ignored SIGTERM for 300 ms; sending SIGKILL/, 15_000);
    await waitFor(() => !pidAlive(pid1), 15_000, "old stubborn child killed");
    const pid2 = await waitFor(async () => {
      const s = await c.stats(10_000);
      return s.pid !== pid1 ? s.pid : undefined;
    }, 20_000, "new child serving");
    expect(answer.server.pid).toBe(pid2);
    // the whole daemon stops in bounded time and takes the stubborn child with it
    const code = await d.stop("SIGTERM", 15_000);
    expect(code).toBe(0);
    expect(pidAlive(pid2)).toBe(false);
    expect(d.countStderr(/ignored SIGTERM for 300 ms; sending SIGKILL/)).toBe(2);
  }, 90_000);

  // BUG: one stdout line shaped like a JSON object but not valid JSON (here a notifications/message with
  // `"data":}`) makes Router.backendLine throw (JSON.parse in serverNotification); the exception escapes
  // LineDecoder.push into Child.pump(), which logs "backend stdout broke" and stops reading the child's stdout for
  // good. The child stays alive, nothing restarts it, and every later request times out.
  // Expected: the line is logged and skipped; the answer that follows it (and every later one) is delivered.
  test("one object-shaped non-JSON line on stdout does not stop the daemon from reading the child", async () => {
    const cfg = writeConfig(undefined, { p: { cmd: BUN, args: [bad("stdout")], request_timeout_ms: 1500 } });
    const d = await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.p!);
    await c.initialize({ timeoutMs: 20_000 });
    const first = await c.callTool("poison", { text: "after the bad line" }, 1, 20_000);
    const second = await c.callTool("echo", { text: "later" }, 2, 20_000);
    expect({ first: first.result ?? reasonOf(first), second: second.result ?? reasonOf(second) }).toEqual({
      first: { content: [{ type: "text", text: "after the bad line" }] },
      second: { content: [{ type: "text", text: "later" }] },
    });
    expect(d.countStderr(/backend stdout broke/)).toBe(0);
  }, 120_000);

  test("an answer over max_response_bytes is dropped with a log line; the client gets one error, the child stays", async () => {
    const cfg = writeConfig(undefined, { s: { max_response_bytes: 64 * 1024, request_timeout_ms: 1500 } });
    const d = await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.s!);
    await c.initialize({ timeoutMs: 20_000 });
    const pid = (await c.stats(10_000)).pid;
    const r = await c.callTool("echo", { text: "z".repeat(100 * 1024) }, "big", 20_000);
    expect(r.error?.code).toBe(-32603);
    await d.waitForStderr(/\[s\].*backend wrote a \d+-byte line, over max_response_bytes \(65536\); dropped/, 15_000);
    expect(resultText(await c.callTool("echo", { text: "small" }, "small", 20_000))).toBe("small");
    expect((await c.stats(10_000)).pid).toBe(pid);
    expect(c.history.filter((h) => h.msg.id === "big")).toHaveLength(1);
  }, 120_000);
});
