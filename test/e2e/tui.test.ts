/**
 * The dashboard in a real terminal: the COMPILED binary (built here with `bun build --compile`)
 * runs in tmux; keys go in with send-keys, the screen comes out with capture-pane.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import { rowOf, statusLineOf, waitForScreen } from "../tui/frames.ts";
import { BUN, cleanup, pidAlive, REPO, runCli, socketFilesIn, startDaemon, tempDir, trackPid, waitFor, writeConfig } from "./harness.ts";

// Bun 1.4.5 ignores bunfig.toml's [test] timeout (the default stays 5 s); real daemons under load need more.

let buildDir = "";
let BIN = "";

beforeAll(async () => {
  buildDir = mkdtempSync("/tmp/mx-bin-");
  BIN = path.join(buildDir, "rmcp-mux");
  const started = Date.now();
  const build = Bun.spawn(
    [BUN, "build", "--compile", "src/cli/main.ts", "--outfile", BIN, "--external", "@opentui/core-linux-x64-musl"],
    { cwd: REPO, stdout: "pipe", stderr: "pipe" },
  );
  const [code, err] = await Promise.all([build.exited, new Response(build.stderr).text()]);
  if (code !== 0) throw new Error(`bun build --compile failed (${code}):\n${err}`);
  const ms = Date.now() - started;
  if (ms > 30_000) console.warn(`compiling the binary took ${ms} ms (over 30 s)`);
}, 120_000);

afterAll(() => rmSync(buildDir, { recursive: true, force: true }));
// Measured: 4.2-6.5 s per test alone at a load average of 14 on 2 cores (a compiled binary in a pty, a daemon
// and its servers). A full \`bun test\` run timed two of them out at 5 s, the preload's 30 s default
// notwithstanding, so the file states its own.
setDefaultTimeout(60_000);

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** One private tmux server per test (its own socket), killed afterwards. */
class Term {
  constructor(readonly sock: string) {}
  tmux(...args: string[]): string {
    const r = Bun.spawnSync(["tmux", "-S", this.sock, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      throw new Error(`tmux ${args.join(" ")}: exit ${r.exitCode} signal ${r.signalCode ?? "-"}: ${r.stderr.toString()}${r.stdout.toString()}`);
    }
    return r.stdout.toString();
  }
  /** Runs `cmd` in a 120×30 pane; afterwards the pane reports the exit code and the tty's mode, then idles. */
  start(cmd: string[]): void {
    const after = `echo EXITED=$?; stty -a | grep -q -- -icanon && echo TTY=raw || echo TTY=cooked; exec sleep 3600`;
    this.tmux("new-session", "-d", "-s", "mux", "-x", "120", "-y", "30", `${cmd.map(q).join(" ")}; ${after}`);
  }
  capture = (): string => this.tmux("capture-pane", "-p", "-t", "mux");
  keys = (...k: string[]): string => this.tmux("send-keys", "-t", "mux", ...k);
  alternateScreen = (): boolean => this.tmux("display-message", "-p", "-t", "mux", "#{alternate_on}").trim() === "1";
  screen = (pred: (f: string) => boolean, what: string, timeoutMs = 10_000) => waitForScreen(this.capture, pred, what, timeoutMs);
}

let term: Term | null = null;
let ownedDaemonPid: number | null = null;

afterEach(async () => {
  try {
    term?.tmux("kill-server"); // a hang-up: the dashboard quits and stops a daemon it started
  } catch {
    // already gone
  }
  if (ownedDaemonPid !== null) await waitFor(() => !pidAlive(ownedDaemonPid!), 10_000, "the owned daemon to exit").catch(() => {});
  term = null;
  ownedDaemonPid = null;
  await cleanup();
});

function setUp() {
  const cfg = writeConfig(undefined, { mem: { heartbeat: true, heartbeat_interval_ms: 500 }, files: { lazy_start: true } });
  term = new Term(path.join(tempDir(), "tmux-server"));
  return { cfg, control: path.join(cfg.dir, "daemon.sock"), t: term };
}

const daemonPidOf = (frame: string) => Number(/daemon pid (\d+)/.exec(frame)?.[1]);

describe("compiled binary in a real terminal", () => {
  test("--tui starts the daemon and shows it; r restarts mem; q stops the daemon and removes every socket", async () => {
    const { cfg, control, t } = setUp();
    t.start([BIN, "--config", cfg.configPath, "--tui"]);
    const first = await t.screen((f) => rowOf(f, "mem")?.state === "● running" && /daemon pid \d+/.test(f), "mem running");
    ownedDaemonPid = daemonPidOf(first);
    trackPid(ownedDaemonPid);
    expect(t.alternateScreen()).toBe(true);
    expect(first).toContain("SERVER  STATE      PID");
    expect(rowOf(first, "files")?.state).toBe("● lazy");
    const before = rowOf(first, "mem")!;
    trackPid(Number(before.pid));
    expect(socketFilesIn(cfg.dir).sort()).toEqual(["daemon.sock", "files.sock", "mem.sock"]);

    t.keys("r");
    const after = await t.screen((f) => rowOf(f, "mem")?.restarts === "1" && rowOf(f, "mem")?.pid !== before.pid, "the restart");
    const mem = rowOf(after, "mem")!;
    trackPid(Number(mem.pid));
    expect(mem.lastRestart).toBe("restarted by an operator");
    await t.screen((f) => statusLineOf(f) === `restarted mem: pid ${before.pid} → ${mem.pid}`, "the restart's result");
    const st = await controlRequest(control, { cmd: "status" });
    expect(st.ok && st.status?.servers.find((s) => s.name === "mem")?.restarts).toBe(1);

    t.keys("q");
    const end = await t.screen((f) => f.includes("TTY="), "the exit", 20_000);
    expect(end).toContain("rmcp-mux: daemon stopped");
    expect(end).toContain("EXITED=0");
    expect(end).toContain("TTY=cooked");
    expect(t.alternateScreen()).toBe(false);
    expect(socketFilesIn(cfg.dir)).toEqual([]);
    for (const pid of [ownedDaemonPid, Number(before.pid), Number(mem.pid)]) expect(pidAlive(pid)).toBe(false);
  });

  test("--tui follows a terminal resize; Ctrl+C quits just as cleanly, terminal restored, daemon stopped", async () => {
    const { cfg, t } = setUp();
    t.start([BIN, "--config", cfg.configPath, "--tui"]);
    const first = await t.screen((f) => rowOf(f, "mem")?.state === "● running", "mem running");
    ownedDaemonPid = daemonPidOf(first);
    expect(first.split("\n")[1]).toMatch(/^┌─ servers ─{100,}┐$/);
    t.tmux("resize-window", "-t", "mux", "-x", "70", "-y", "20");
    const small = await t.screen((f) => /^┌─ servers ─+┐$/.test(f.split("\n")[1] ?? "") && f.split("\n")[1]!.length === 70, "a 70-column layout");
    expect(small.split("\n").find((l) => l.startsWith("│mem "))).toMatch(/…│$/);
    t.keys("C-c");
    const end = await t.screen((f) => f.includes("TTY="), "the exit", 20_000);
    expect(end).toContain("EXITED=0");
    expect(end).toContain("TTY=cooked");
    expect(socketFilesIn(cfg.dir)).toEqual([]);
    expect(pidAlive(ownedDaemonPid)).toBe(false);
  });

  test("dashboard --config attaches to a running daemon, and q leaves that daemon running", async () => {
    const { cfg, control, t } = setUp();
    const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [...Object.values(cfg.sockets), control] });
    t.start([BIN, "dashboard", "--config", cfg.configPath]);
    const frame = await t.screen((f) => rowOf(f, "mem")?.state === "● running", "mem running");
    expect(daemonPidOf(frame)).toBe(daemon.proc.pid);
    t.keys("q");
    const end = await t.screen((f) => f.includes("TTY="), "the exit");
    expect(end).toContain("EXITED=0");
    expect(end).toContain("TTY=cooked");
    expect(daemon.proc.exitCode).toBeNull();
    const st = await controlRequest(control, { cmd: "status" });
    expect(st.ok && st.status?.pid).toBe(daemon.proc.pid);
    expect(socketFilesIn(cfg.dir).sort()).toEqual(["daemon.sock", "files.sock", "mem.sock"]);
  });

  test("dashboard without a daemon fails at once; --tui refuses to start a second daemon on a live socket", async () => {
    const { cfg, control } = setUp();
    const none = await runCli(["dashboard", "--socket", control]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no rmcp-mux daemon is running (nothing answers on ${control})`);
    const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [control] });
    const second = Bun.spawnSync([BIN, "--config", cfg.configPath, "--tui"], { stdout: "pipe", stderr: "pipe" });
    expect(second.exitCode).toBe(1);
    expect(second.stderr.toString()).toContain(`a daemon is already running on ${control}`);
    const st = await controlRequest(control, { cmd: "status" });
    expect(st.ok && st.status?.pid).toBe(daemon.proc.pid);
  });
});
