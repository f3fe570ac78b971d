/**
 * status_file: always a whole JSON document, even while the status changes many times a second (another process
 * reads and parses it in a tight loop meanwhile), and it ends up showing the final state.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import type { ServerStatus } from "../../src/runtime/status.ts";
import { BUN, cleanup, RawClient, readPids, resultText, startDaemon, tempDir, trackPid, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);
// real processes on a possibly busy machine: every wait inside has its own, shorter bound
setDefaultTimeout(45_000);

/** Creates READY, then reads and parses FILE until STOP exists; prints {reads, failures, firstFailure, connectedSeen}. */
const READER = `
const { readFileSync, existsSync, writeFileSync } = require("node:fs");
const file = process.env.FILE, stop = process.env.STOP;
writeFileSync(process.env.READY, "");
let reads = 0, failures = 0, firstFailure = null;
const connectedSeen = new Set();
for (let i = 0; ; i++) {
  if (i % 50 === 0 && existsSync(stop)) break;
  let text = "";
  try {
    text = readFileSync(file, "utf8");
    const st = JSON.parse(text);
    connectedSeen.add(st.clients.connected);
    reads++;
  } catch (e) {
    failures++;
    if (firstFailure === null) firstFailure = String(e) + " :: " + text.slice(0, 200);
  }
}
process.stdout.write(JSON.stringify({ reads, failures, firstFailure, connectedSeen: [...connectedSeen] }));
`;

function readStatus(file: string): ServerStatus {
  return JSON.parse(readFileSync(file, "utf8")) as ServerStatus;
}

async function boot(statusName = "s.status.json") {
  const dir = tempDir();
  const statusFile = path.join(dir, statusName);
  const pidfile = path.join(dir, "s.pids");
  const cfg = writeConfig(dir, { s: { status_file: statusFile, env: { FIXTURE_PIDFILE: pidfile } } });
  const ctl = path.join(dir, "daemon.sock");
  const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [cfg.sockets.s!, ctl], timeoutMs: 20_000 });
  const [pid] = await waitFor(() => (readPids(pidfile).length === 1 ? readPids(pidfile) : null), 5000, "child up");
  trackPid(pid!);
  return { dir, cfg, ctl, daemon, statusFile, pid: pid! };
}

describe("status_file", () => {
  test("stays valid JSON while clients come and go quickly, and ends on the final state", async () => {
    const { dir, cfg, statusFile, pid } = await boot();
    const first = await waitFor(() => (existsSync(statusFile) ? readStatus(statusFile) : null), 5000, "status file written");
    expect(first.name).toBe("s");
    expect(first.pid).toBe(pid);
    expect(statSync(statusFile).mode & 0o777).toBe(0o600);

    const stop = path.join(dir, "reader.stop");
    const ready = path.join(dir, "reader.ready");
    const reader = Bun.spawn([BUN, "-e", READER], {
      env: { ...process.env, FILE: statusFile, STOP: stop, READY: ready },
      stdout: "pipe",
      stderr: "pipe",
    });
    const readerOut = new Response(reader.stdout).text();
    await waitFor(() => existsSync(ready), 5000, "reader running");

    // churn: 40 rounds; in each, a burst of 4 clients that connect and leave at once (some abruptly), then
    // 1..4 clients that stay until the file shows them, one echo every few rounds
    let echoes = 0;
    const served0 = readStatus(statusFile).served;
    for (let round = 0; round < 40; round++) {
      const burst = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(cfg.sockets.s!)));
      burst.forEach((c, i) => (i % 2 === 0 ? void c.close() : c.destroy()));
      const n = (round % 4) + 1;
      const clients = await Promise.all(Array.from({ length: n }, () => RawClient.connect(cfg.sockets.s!)));
      if (round % 5 === 0) {
        await clients[0]!.initialize();
        expect(resultText(await clients[0]!.callTool("echo", { text: `r${round}` }))).toBe(`r${round}`);
        echoes++;
      }
      await waitFor(() => readStatus(statusFile).clients.connected === n, 5000, `file shows ${n} connected`, 5);
      await Promise.all(clients.map((c, i) => (i % 2 === 0 ? c.close() : Promise.resolve(c.destroy()))));
    }

    // the final state: nobody connected, every echo counted
    const last = await waitFor(() => {
      const st = readStatus(statusFile);
      return st.clients.connected === 0 && st.served === served0 + echoes ? st : null;
    }, 5000, "final state in the status file");
    expect(last.pid).toBe(pid);
    expect(last.state).toBe("running");
    expect(last.clients.active).toBe(0);
    expect(last.pending).toBe(0);

    writeFileSync(stop, "");
    await reader.exited;
    const out = await readerOut;
    if (process.env.MUX_TEST_VERBOSE === "1") console.error(`reader: ${out}`);
    const r = JSON.parse(out) as { reads: number; failures: number; firstFailure: string | null; connectedSeen: number[] };
    expect(reader.exitCode).toBe(0);
    expect(r.firstFailure).toBeNull();
    expect(r.failures).toBe(0);
    expect(r.reads).toBeGreaterThan(100);
    // it really read while the file changed: several different client counts went by
    expect(r.connectedSeen.length).toBeGreaterThanOrEqual(4);
    // no temporary files left behind by the atomic writes
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("follows restart and stop", async () => {
    const { ctl, statusFile, pid } = await boot();
    await waitFor(() => existsSync(statusFile) && readStatus(statusFile).pid === pid, 5000, "status file written");
    const r = await controlRequest(ctl, { cmd: "restart", name: "s" }, 5000);
    expect(r.ok).toBe(true);
    const newPid = (r as { server?: ServerStatus }).server!.pid!;
    trackPid(newPid);
    const restarted = await waitFor(() => {
      const st = readStatus(statusFile);
      return st.restarts === 1 && st.pid === newPid ? st : null;
    }, 5000, "restart in the status file");
    expect(restarted.lastRestartReason).toBe("restarted by an operator");

    expect((await controlRequest(ctl, { cmd: "stop", name: "s" }, 5000)).ok).toBe(true);
    const stopped = await waitFor(() => {
      const st = readStatus(statusFile);
      // "stopped" is published at once; the pid goes when the process has exited
      return st.state === "stopped" && st.pid === null ? st : null;
    }, 5000, "stop in the status file");
    expect(stopped.uptimeMs).toBeNull();
    expect(stopped.reason).toBe("stopped by an operator");
  });

  test("SIGTERM: the last write says stopped, with no pid and the reason", async () => {
    const { daemon, statusFile, pid } = await boot();
    await waitFor(() => existsSync(statusFile) && readStatus(statusFile).pid === pid, 5000, "status file written");
    expect(readStatus(statusFile).state).toBe("running");
    expect(await daemon.stop("SIGTERM", 15_000)).toBe(0);
    // read once, after the daemon has exited: nothing could change the file any more
    const final = readStatus(statusFile);
    expect(final.state).toBe("stopped");
    expect(final.pid).toBeNull();
    expect(final.uptimeMs).toBeNull();
    expect(final.reason).toBe("the daemon is shutting down");
  });

  test("a missing folder is created 0700 (the file 0600), and nothing is logged about it", async () => {
    const { dir, daemon, statusFile, pid } = await boot("state/deeper/s.status.json");
    const st = await waitFor(() => (existsSync(statusFile) ? readStatus(statusFile) : null), 5000, "status file written");
    expect(st.pid).toBe(pid);
    for (const folder of ["state", "state/deeper"]) expect((statSync(path.join(dir, folder)).mode & 0o777).toString(8)).toBe("700");
    expect((statSync(statusFile).mode & 0o777).toString(8)).toBe("600");
    expect(daemon.stderrText()).not.toContain("cannot write status_file");
  });
});
