/**
 * The operator's commands against a real daemon, run as `bun src/cli/main.ts …`: daemon-status (table, --json,
 * --socket), --show-status, --restart-service, health; and the one-line refusal of each when no daemon runs.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";
import {
  cleanup,
  pidAlive,
  readPids,
  runCli,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
  type Daemon,
  type WrittenConfig,
  serverStatus,
} from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

/** Each CLI run is a fresh Bun process (some load the config schema): generous bounds for a loaded machine. */
const CLI_TIMEOUT = 20_000;
const TEST_TIMEOUT = 45_000;


interface Running {
  cfg: WrittenConfig;
  ctl: string;
  daemon: Daemon;
  pidfile: string;
  pid: number;
}

async function boot(): Promise<Running> {
  const dir = tempDir();
  const pidfile = path.join(dir, "mem.pids");
  const cfg = writeConfig(dir, { mem: { env: { FIXTURE_PIDFILE: pidfile } }, other: {} });
  const ctl = path.join(dir, "daemon.sock");
  const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [...Object.values(cfg.sockets), ctl], timeoutMs: 20_000 });
  const [pid] = await waitFor(() => (readPids(pidfile).length === 1 ? readPids(pidfile) : null), 5000, "mem started");
  trackPid(pid!);
  // startDaemon's readiness probes are real (short) connections: let the daemon see them leave
  await waitFor(async () => (await serverStatus(ctl, "mem")).clients.connected === 0, 5000, "probe gone");
  return { cfg, ctl, daemon, pidfile, pid: pid! };
}

/** The table's row for one server: [name, state, pid, clients, pending, served, restarts, uptime, heartbeat]. */
function rowOf(table: string, name: string): string[] {
  const line = table.split("\n").find((l) => l.split(/\s+/)[0] === name);
  if (!line) throw new Error(`no row for ${name} in:\n${table}`);
  return line.trim().split(/\s{2,}/);
}

function expectTable(stdout: string, r: Running): void {
  const lines = stdout.split("\n");
  expect(lines[0]).toContain(`pid ${r.daemon.proc.pid}`);
  expect(lines[0]).toContain("2 server(s)");
  const header = lines.find((l) => l.startsWith("SERVER"));
  expect(header?.split(/\s+/)).toEqual(["SERVER", "STATE", "PID", "CLIENTS", "PENDING", "SERVED", "RESTARTS", "UPTIME", "HEARTBEAT"]);
  const row = rowOf(stdout, "mem");
  expect(row.slice(0, 3)).toEqual(["mem", "running", String(r.pid)]);
  expect(row[3]).toBe("0 (0/5 active)");
  expect(row[8]).toBe("off");
  expect(rowOf(stdout, "other")[1]).toBe("running");
}

function expectJson(stdout: string, r: Running): DaemonStatus {
  const st = JSON.parse(stdout) as DaemonStatus;
  expect(st.pid).toBe(r.daemon.proc.pid);
  expect(st.statusSocket).toBe(r.ctl);
  const mem = st.servers.find((s) => s.name === "mem")!;
  expect(mem.pid).toBe(r.pid);
  expect(mem.state).toBe("running");
  expect(mem.socket).toBe(r.cfg.sockets.mem!);
  return st;
}

describe("operations CLI with a daemon running", () => {
  test("daemon-status and --show-status: table, --json, --socket", async () => {
    const r = await boot();
    const [table, json, bySocket, bySocketJson, show, showJson] = await Promise.all([
      runCli(["daemon-status", "--config", r.cfg.configPath], CLI_TIMEOUT),
      runCli(["daemon-status", "--config", r.cfg.configPath, "--json"], CLI_TIMEOUT),
      runCli(["daemon-status", "--socket", r.ctl], CLI_TIMEOUT),
      runCli(["daemon-status", "--socket", r.ctl, "--json"], CLI_TIMEOUT),
      runCli(["--config", r.cfg.configPath, "--show-status"], CLI_TIMEOUT),
      runCli(["--config", r.cfg.configPath, "--show-status", "--json"], CLI_TIMEOUT),
    ]);
    for (const res of [table, json, bySocket, bySocketJson, show, showJson]) {
      expect(res.code).toBe(0);
      expect(res.stderr).toBe("");
    }
    expectTable(table.stdout, r);
    expectTable(bySocket.stdout, r);
    expectTable(show.stdout, r);
    expectJson(json.stdout, r);
    expectJson(bySocketJson.stdout, r);
    expectJson(showJson.stdout, r);
  }, TEST_TIMEOUT);

  test("--restart-service NAME prints old → new pid, and the status shows the new pid", async () => {
    const r = await boot();
    const res = await runCli(["--config", r.cfg.configPath, "--restart-service", "mem"], CLI_TIMEOUT);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const m = /^restarted mem: pid (\d+) → (\d+)\n$/.exec(res.stdout);
    expect(m).not.toBeNull();
    const [oldPid, newPid] = [Number(m![1]), Number(m![2])];
    trackPid(newPid);
    expect(oldPid).toBe(r.pid);
    expect(newPid).not.toBe(r.pid);
    await waitFor(() => !pidAlive(oldPid), 5000, "old child gone");
    await waitFor(() => readPids(r.pidfile).length === 2, 5000, "new child wrote its pid");
    expect(readPids(r.pidfile)).toEqual([oldPid, newPid]);

    const st = await runCli(["daemon-status", "--config", r.cfg.configPath, "--json"], CLI_TIMEOUT);
    expect(st.code).toBe(0);
    const mem = (JSON.parse(st.stdout) as DaemonStatus).servers.find((s) => s.name === "mem")!;
    expect(mem.pid).toBe(newPid);
    expect(mem.restarts).toBe(1);
    expect(mem.lastRestartReason).toBe("restarted by an operator");
    const row = rowOf((await runCli(["daemon-status", "--socket", r.ctl], CLI_TIMEOUT)).stdout, "mem");
    expect(row[2]).toBe(String(newPid));
    expect(row[6]).toBe("1");
    // the other server was not restarted
    expect((await serverStatus(r.ctl, "other")).restarts).toBe(0);

    // an unknown name: one line naming the servers, non-zero
    const bad = await runCli(["--config", r.cfg.configPath, "--restart-service", "nope"], CLI_TIMEOUT);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain('"nope"');
    expect(bad.stderr).toContain("servers: mem, other");
  }, TEST_TIMEOUT);

  test("health --socket and --config --service: exit 0 and print the latency", async () => {
    const r = await boot();
    const [bySocket, byName, unknown] = await Promise.all([
      runCli(["health", "--socket", r.cfg.sockets.mem!], CLI_TIMEOUT),
      runCli(["health", "--config", r.cfg.configPath, "--service", "mem"], CLI_TIMEOUT),
      runCli(["health", "--config", r.cfg.configPath, "--service", "nope"], CLI_TIMEOUT),
    ]);
    for (const res of [bySocket, byName]) {
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^ok: fixture 1\.0\.0 answered ping in \d+(\.\d+)? ms \(initialize \d+(\.\d+)? ms\) via /);
      expect(res.stdout.trimEnd()).toEndWith(`via ${r.cfg.sockets.mem!}`);
    }
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no server "nope"');
    expect(unknown.stderr).toContain("servers: mem, other");
    // health is a real client of the server: it leaves, and the child kept running
    await waitFor(async () => (await serverStatus(r.ctl, "mem")).clients.connected === 0, 5000, "health clients gone");
    const mem = await serverStatus(r.ctl, "mem");
    expect(mem.pid).toBe(r.pid);
    expect(mem.restarts).toBe(0);
  }, TEST_TIMEOUT);
});

describe("operations CLI with no daemon", () => {
  const commands = (cfg: WrittenConfig, ctl: string): Record<string, string[]> => ({
    "daemon-status --config": ["daemon-status", "--config", cfg.configPath],
    "daemon-status --socket": ["daemon-status", "--socket", ctl],
    "daemon-status --json": ["daemon-status", "--config", cfg.configPath, "--json"],
    "--show-status": ["--config", cfg.configPath, "--show-status"],
    "--restart-service": ["--config", cfg.configPath, "--restart-service", "mem"],
    "health --socket": ["health", "--socket", cfg.sockets.mem!],
    "health --config --service": ["health", "--config", cfg.configPath, "--service", "mem"],
  });

  async function expectOneLineRefusals(cfg: WrittenConfig, ctl: string): Promise<void> {
    const entries = Object.entries(commands(cfg, ctl));
    const results = await Promise.all(entries.map(([, args]) => runCli(args, CLI_TIMEOUT)));
    entries.forEach(([label, args], i) => {
      const res = results[i]!;
      const where = `${label}: code ${res.code}, stdout ${JSON.stringify(res.stdout)}, stderr ${JSON.stringify(res.stderr)}`;
      expect(res.timedOut, where).toBe(false);
      expect(res.code, where).not.toBe(0);
      expect(res.code, where).not.toBeNull();
      expect(res.stdout, where).toBe("");
      expect(res.stderr.endsWith("\n"), where).toBe(true);
      expect(res.stderr.trimEnd().split("\n"), where).toHaveLength(1);
      expect(res.stderr, where).toStartWith("rmcp-mux: ");
      const target = args[0] === "health" ? cfg.sockets.mem! : ctl;
      expect(res.stderr, where).toContain(target);
      expect(res.stderr, where).toMatch(/no rmcp-mux daemon is running|nothing is listening/);
    });
  }

  test("never started: each command says so in one line on stderr and exits non-zero", async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, { mem: {} });
    await expectOneLineRefusals(cfg, path.join(dir, "daemon.sock"));
  }, TEST_TIMEOUT);

  test("killed daemon (stale socket files left behind): still one line and non-zero", async () => {
    const r = await boot();
    expect(await r.daemon.stop("SIGKILL")).toBeNull();
    await waitFor(() => !pidAlive(r.pid), 5000, "orphaned child ends with its stdin");
    // the socket files are still there, nothing answers on them
    expect(existsSync(r.ctl)).toBe(true);
    expect(existsSync(r.cfg.sockets.mem!)).toBe(true);
    await expectOneLineRefusals(r.cfg, r.ctl);
  }, TEST_TIMEOUT);
});
