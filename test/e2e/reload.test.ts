/**
 * Config reload on a real daemon: SIGHUP, the control socket's `reload` and `rmcp-mux reload` re-read mux.toml.
 * Added servers start, removed ones stop (socket gone, child dead), changed ones restart, unchanged ones keep
 * their child and their connected clients; a config the check refuses changes nothing.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { UnixSocketListener } from "bun";
import { existsSync } from "node:fs";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import type { ReloadSummary } from "../../src/runtime/reload.ts";
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";
import {
  canConnect,
  cleanup,
  type Daemon,
  pidAlive,
  RawClient,
  readPids,
  resultText,
  runCli,
  type ServerSpec,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
  askControl,
  daemonStatus,
  type Answer,
} from "./harness.ts";

const listeners: UnixSocketListener<undefined>[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) l.stop(true);
  await cleanup();
});
afterAll(cleanup);
// real daemons, check children and fixture processes on a possibly busy machine: every wait has its own bound
setDefaultTimeout(90_000);



const byName = (st: DaemonStatus): Record<string, ServerStatus> => Object.fromEntries(st.servers.map((s) => [s.name, s]));

interface Booted {
  dir: string;
  ctl: string;
  daemon: Daemon;
  sock: (name: string) => string;
  pids: (name: string) => number[];
  /** Rewrite mux.toml in place; every server keeps writing its pids to `<dir>/<name>.pids`. */
  rewrite: (servers: Record<string, ServerSpec>) => void;
}

/** A daemon on fixture servers, each writing its child pids to `<dir>/<name>.pids`. */
async function boot(servers: Record<string, ServerSpec>): Promise<Booted> {
  const dir = tempDir();
  const withPids = (specs: Record<string, ServerSpec>) =>
    Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [
        name,
        { ...spec, env: { FIXTURE_PIDFILE: path.join(dir, `${name}.pids`), ...((spec.env as object) ?? {}) } },
      ]),
    );
  const cfg = writeConfig(dir, withPids(servers));
  const ctl = path.join(dir, "daemon.sock");
  const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [...Object.values(cfg.sockets), ctl], timeoutMs: 30_000 });
  for (const name of Object.keys(servers)) {
    await waitFor(() => readPids(path.join(dir, `${name}.pids`)).length === 1, 15_000, `${name}'s child started`);
  }
  return {
    dir,
    ctl,
    daemon,
    sock: (name) => path.join(dir, `${name}.sock`),
    pids: (name) => readPids(path.join(dir, `${name}.pids`)),
    rewrite: (specs) => void writeConfig(dir, withPids(specs)),
  };
}

/** A client that has done the handshake and had one request answered. */
async function connected(socket: string, text: string): Promise<RawClient> {
  const c = await RawClient.connect(socket);
  await c.initialize({ timeoutMs: 15_000 });
  expect(resultText(await c.callTool("echo", { text }, undefined, 15_000))).toBe(text);
  return c;
}

async function childPid(c: RawClient): Promise<number> {
  const res = await c.callTool("stats", {}, undefined, 15_000);
  return JSON.parse(resultText(res)).pid as number;
}

describe("config reload", () => {
  test("SIGHUP: a unchanged keeps its child and its client, b removed (socket gone, child dead), c added", async () => {
    const b = await boot({ a: {}, b: {} });
    const clientA = await connected(b.sock("a"), "before");
    const pidA = await childPid(clientA);
    const [pidB] = b.pids("b");
    expect(pidA).toBe(b.pids("a")[0]!);
    const sub = await RawClient.connect(b.ctl);
    expect((await askControl(sub, { cmd: "subscribe" }, 30_000)).ok).toBe(true);

    b.rewrite({ a: {}, c: {} });
    const from = b.daemon.stderrLines.length;
    b.daemon.proc.kill("SIGHUP");
    await b.daemon.waitForStderr(/\[daemon\] reload: added c; removed b; unchanged a$/, 30_000, from);

    // a: the same child, the same connection, never re-initialised
    expect(clientA.isClosed).toBe(false);
    expect(resultText(await clientA.callTool("echo", { text: "after" }, undefined, 15_000))).toBe("after");
    const statsA = JSON.parse(resultText(await clientA.callTool("stats", {}, undefined, 15_000)));
    expect(statsA.pid).toBe(pidA);
    expect(statsA.initializeCount).toBe(1);
    expect(b.pids("a")).toEqual([pidA]);
    expect(pidAlive(pidA)).toBe(true);

    // b: stopped before the reload is reported — socket and pid record removed, child gone
    expect(existsSync(b.sock("b"))).toBe(false);
    expect(existsSync(`${b.sock("b")}.pid`)).toBe(false);
    await waitFor(() => !pidAlive(pidB!), 10_000, "b's child gone");
    expect(await canConnect(b.sock("b"))).toBe(false);

    // c: a new server, answering
    const clientC = await connected(b.sock("c"), "hello c");
    const pidC = await childPid(clientC);
    trackPid(pidC);
    expect(b.pids("c")).toEqual([pidC]);

    // the status (CLI and subscription) shows the new set, in the config's order
    const cli = await runCli(["daemon-status", "--json", "--socket", b.ctl], 30_000);
    expect(cli.code).toBe(0);
    const st = JSON.parse(cli.stdout) as DaemonStatus;
    expect(st.servers.map((s) => s.name)).toEqual(["a", "c"]);
    expect(byName(st).a!.pid).toBe(pidA);
    expect(byName(st).a!.clients.connected).toBe(1);
    expect(byName(st).c!.pid).toBe(pidC);
    await sub.next(
      (r) => (r.msg as any)?.event === "status" && (r.msg as any).status.servers.map((s: ServerStatus) => s.name).join() === "a,c",
      10_000,
      "a status event with the new set",
    );
    expect(b.daemon.proc.exitCode).toBeNull();

    // the added server is part of the daemon now: a shutdown ends its child and removes its socket too
    expect(await b.daemon.stop("SIGTERM", 30_000)).toBe(0);
    await waitFor(() => !pidAlive(pidC) && !pidAlive(pidA), 10_000, "children gone after shutdown");
    expect(existsSync(b.sock("a"))).toBe(false);
    expect(existsSync(b.sock("c"))).toBe(false);
  });

  test("control reload: a changed key restarts that server (new pid, its clients disconnected); the rest untouched", async () => {
    const b = await boot({ a: {}, b: {} });
    const clientA = await connected(b.sock("a"), "a before");
    const clientB = await connected(b.sock("b"), "b before");
    const pidA = await childPid(clientA);
    const pidB = await childPid(clientB);
    // a request still in flight on a when it restarts is answered with an error naming the reason
    const slow = clientA.callTool("slow", { ms: 20_000, text: "never" }, "in-flight", 30_000);
    await waitFor(async () => byName(await daemonStatus(b.ctl)).a!.pending === 1, 10_000, "slow call pending on a");

    b.rewrite({ a: { request_timeout_ms: 7000 }, b: {} });
    const ctl = await RawClient.connect(b.ctl);
    const answer = await askControl(ctl, { cmd: "reload", id: "reload-1" }, 30_000);
    expect(answer).toEqual({
      ok: true,
      id: "reload-1",
      reload: { added: [], removed: [], changed: ["a"], unchanged: ["b"], failed: [] },
    });

    const res = await slow;
    expect(res.error?.code).toBe(-32603);
    expect(res.error?.message).toContain("server a is restarting with its changed config");
    await waitFor(() => clientA.isClosed, 10_000, "a's client disconnected");
    await waitFor(() => !pidAlive(pidA), 10_000, "a's old child gone");

    const st = byName(await daemonStatus(b.ctl));
    expect(st.a!.limits.requestTimeoutMs).toBe(7000);
    expect(st.a!.pid).not.toBeNull();
    expect(st.a!.pid).not.toBe(pidA);
    const again = await connected(b.sock("a"), "a after");
    expect(await childPid(again)).toBe(st.a!.pid!);
    expect(b.pids("a")).toEqual([pidA, st.a!.pid!]);

    // b: same child, same connection
    expect(clientB.isClosed).toBe(false);
    expect(resultText(await clientB.callTool("echo", { text: "b after" }, undefined, 15_000))).toBe("b after");
    expect(await childPid(clientB)).toBe(pidB);
    expect(st.b!.pid).toBe(pidB);
    expect(b.pids("b")).toEqual([pidB]);
    await b.daemon.waitForStderr(/\[daemon\] reload: changed a; unchanged b$/, 10_000);
  });

  test("rmcp-mux reload: a new socket path moves the server (old socket removed, new one answers)", async () => {
    const b = await boot({ a: {}, b: {} });
    const [pidA] = b.pids("a");
    const moved = path.join(b.dir, "moved.sock");
    b.rewrite({ a: { socket: moved }, b: {} });
    const r = await runCli(["reload", "--socket", b.ctl], 60_000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^reloaded\n/);
    expect(r.stdout).toMatch(/changed \(restarted\)\s+a\n/);
    expect(r.stdout).toMatch(/unchanged\s+b\n/);
    expect(r.stdout).not.toContain("added");

    expect(existsSync(b.sock("a"))).toBe(false);
    expect(existsSync(`${b.sock("a")}.pid`)).toBe(false);
    await waitFor(() => !pidAlive(pidA!), 10_000, "a's old child gone");
    const c = await connected(moved, "moved");
    expect(await childPid(c)).toBe(b.pids("a")[1]!);
    expect(byName(await daemonStatus(b.ctl)).a!.socket).toBe(moved);

    // --json prints the summary; a reload of an unchanged file changes nothing
    const same = await runCli(["reload", "--json", "--socket", b.ctl], 60_000);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toEqual({ added: [], removed: [], changed: [], unchanged: ["a", "b"], failed: [] });
    expect(b.pids("a")).toHaveLength(2);
    expect(b.pids("b")).toHaveLength(1);
  });

  test("an invalid new config (unknown key) is refused by SIGHUP, the control socket and the CLI; nothing changes", async () => {
    const b = await boot({ a: {}, b: {} });
    const clientA = await connected(b.sock("a"), "before");
    const before = byName(await daemonStatus(b.ctl));
    const pidA = before.a!.pid!;
    const pidB = before.b!.pid!;

    // were it applied, b would go and c would come
    b.rewrite({ a: { bogus_key: 1 }, c: {} });

    const ctl = await RawClient.connect(b.ctl);
    const refused = await askControl(ctl, { cmd: "reload" }, 30_000);
    expect(refused.ok).toBe(false);
    expect(refused.error).toContain('servers.a: unknown key "bogus_key"');
    expect(refused.error).toContain(path.join(b.dir, "mux.toml"));
    expect(refused.error).not.toMatch(/^rmcp-mux: /);

    const from = b.daemon.stderrLines.length;
    b.daemon.proc.kill("SIGHUP");
    await b.daemon.waitForStderr(/\[daemon\] reload refused, nothing changed: .*servers\.a: unknown key "bogus_key"/, 30_000, from);

    const cli = await runCli(["reload", "--socket", b.ctl], 60_000);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toBe("");
    expect(cli.stderr).toContain('reload refused, nothing changed: ');
    expect(cli.stderr).toContain('servers.a: unknown key "bogus_key"');
    // --json: the refusal is JSON on stdout too, and stderr stays empty
    const json = await runCli(["reload", "--json", "--socket", b.ctl], 60_000);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe("");
    const refusal = JSON.parse(json.stdout);
    expect(Object.keys(refusal)).toEqual(["error"]);
    expect(refusal.error).toContain('reload refused, nothing changed: ');
    expect(refusal.error).toContain('servers.a: unknown key "bogus_key"');

    // the running set is as it was
    const after = await daemonStatus(b.ctl);
    expect(after.servers.map((s) => s.name)).toEqual(["a", "b"]);
    expect(byName(after).a!.pid).toBe(pidA);
    expect(byName(after).b!.pid).toBe(pidB);
    expect(b.pids("a")).toEqual([pidA]);
    expect(b.pids("b")).toEqual([pidB]);
    expect(await canConnect(b.sock("b"))).toBe(true);
    expect(existsSync(b.sock("c"))).toBe(false);
    expect(clientA.isClosed).toBe(false);
    expect(resultText(await clientA.callTool("echo", { text: "still" }, undefined, 15_000))).toBe("still");
    expect(b.daemon.proc.exitCode).toBeNull();

    // and once the file is fixed, the same daemon reloads it
    b.rewrite({ a: {}, c: {} });
    const ok = await askControl(ctl, { cmd: "reload" }, 30_000);
    expect(ok.reload).toEqual({ added: ["c"], removed: ["b"], changed: [], unchanged: ["a"], failed: [] });
    expect(await childPid(clientA)).toBe(pidA);
  });

  test("a new server whose socket another process listens on is refused before anything stops", async () => {
    const b = await boot({ a: {}, b: {} });
    const [pidA] = b.pids("a");
    const [pidB] = b.pids("b");
    // someone else's live socket where c would go
    listeners.push(Bun.listen({ unix: b.sock("c"), socket: { data() {} } }));

    b.rewrite({ a: { request_timeout_ms: 7000 }, c: {} });
    const ctl = await RawClient.connect(b.ctl);
    const refused = await askControl(ctl, { cmd: "reload" }, 30_000);
    expect(refused.ok).toBe(false);
    expect(refused.error).toContain(`servers.c.socket: ${b.sock("c")}`);
    expect(refused.error).toContain("already listening");

    // nothing was stopped or restarted: not the removed b, not the changed a
    const st = await daemonStatus(b.ctl);
    expect(st.servers.map((s) => s.name)).toEqual(["a", "b"]);
    expect(byName(st).a!.pid).toBe(pidA!);
    expect(byName(st).a!.limits.requestTimeoutMs).toBe(10_000);
    expect(byName(st).b!.pid).toBe(pidB!);
    expect(await canConnect(b.sock("b"))).toBe(true);
    expect(b.pids("a")).toEqual([pidA!]);
    expect(b.pids("b")).toEqual([pidB!]);
    expect(existsSync(b.sock("c"))).toBe(true); // the other process's socket is left alone
  });

  test("reloads asked for at once run one after the other", async () => {
    const b = await boot({ a: {} });
    b.rewrite({ a: {}, c: {}, d: {} });
    const ctl = await RawClient.connect(b.ctl);
    // three on one connection, without waiting: the first applies the file, the others find nothing to do
    const answers = await Promise.all([askControl(ctl, { cmd: "reload" }, 30_000), askControl(ctl, { cmd: "reload" }, 30_000), askControl(ctl, { cmd: "reload" }, 30_000)]);
    expect(answers.map((a) => a.ok)).toEqual([true, true, true]);
    expect(answers[0]!.reload).toEqual({ added: ["c", "d"], removed: [], changed: [], unchanged: ["a"], failed: [] });
    for (const a of answers.slice(1)) {
      expect(a.reload).toEqual({ added: [], removed: [], changed: [], unchanged: ["a", "c", "d"], failed: [] });
    }
    const c = await connected(b.sock("c"), "c");
    const d = await connected(b.sock("d"), "d");
    // one child each: c and d were started once, not once per reload
    expect(b.pids("c")).toEqual([await childPid(c)]);
    expect(b.pids("d")).toEqual([await childPid(d)]);
  });
});
