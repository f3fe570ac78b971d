/**
 * Helpers for end-to-end tests against the REAL daemon (`bun src/cli/main.ts --config mux.toml`).
 *
 * Nothing here sleeps to synchronise: every wait is on an event (a message, a stderr line, an exit) with a timeout,
 * or — for conditions that have no event (a file vanished, a pid died) — `waitFor` polling with a timeout.
 *
 * Cleanup: every daemon, temp dir, RawClient and tracked pid created through this module is registered and
 * released by `cleanup()`; call it from `afterEach` (and/or `afterAll`) in every test file.
 */
import TOML from "@iarna/toml";
import type { Socket, Subprocess } from "bun";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import type { ReloadSummary } from "../../src/runtime/reload.ts";
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";
import { socketAnswers } from "../../src/runtime/socket-path.ts";
import { streamLines, TextLines } from "../../src/runtime/text-lines.ts";

// ---- paths ---------------------------------------------------------------------------------------------------

export const REPO = path.resolve(import.meta.dir, "../..");
export const FIXTURE = path.join(REPO, "test/fixtures/fixture-server.ts");
export const CLI = path.join(REPO, "src/cli/main.ts");
export const PROXY = path.join(REPO, "src/proxy/main.ts");
export const BUN = process.execPath;
export const VERBOSE = process.env.MUX_TEST_VERBOSE === "1";

// ---- registry for cleanup ------------------------------------------------------------------------------------

const liveDaemons = new Set<Daemon>();
const liveDirs = new Set<string>();
const liveClients = new Set<RawClient>();
const trackedPids = new Set<number>();

/** Remember a pid (e.g. a child reported by `stats`) so that `cleanup()` SIGKILLs it if it is still alive. */
export function trackPid(pid: number): void {
  trackedPids.add(pid);
}

/** Close clients, stop daemons (SIGTERM, then SIGKILL), kill tracked pids, remove temp dirs. */
export async function cleanup(): Promise<void> {
  for (const c of liveClients) c.destroy();
  liveClients.clear();
  await Promise.all(
    [...liveDaemons].map(async (d) => {
      if (d.proc.exitCode === null && d.proc.signalCode === null) {
        try {
          await d.stop("SIGTERM", 3000);
        } catch {
          // stop() already escalated to SIGKILL
        }
      }
    }),
  );
  liveDaemons.clear();
  for (const pid of trackedPids) {
    if (pidAlive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
  trackedPids.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

// ---- small utilities ----------------------------------------------------------------------------------------

/** A fresh short temp dir under /tmp (Unix socket paths must stay under ~100 bytes). Removed by cleanup(). */
export function tempDir(): string {
  const dir = mkdtempSync("/tmp/mx-");
  liveDirs.add(dir);
  return dir;
}

/**
 * Poll `fn` every `intervalMs` until it returns a truthy value (which is returned); reject after `timeoutMs`.
 * Only for conditions without an event (file vanished, pid died, counter reached).
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  what = "condition",
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `waitFor(${what}) timed out after ${timeoutMs} ms${lastErr ? `; last error: ${String(lastErr)}` : ""}`,
      );
    }
    await Bun.sleep(intervalMs); // polling interval, not synchronisation
  }
}

/** True when the pid exists and is not a zombie (`process.kill(pid, 0)`, plus /proc state on Linux). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e: any) {
    return e?.code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
  } catch {
    // no /proc (macOS) or the process vanished between the two checks
  }
  return true;
}

/** Pids written by the fixture's FIXTURE_PIDFILE (one per start), in start order. */
export function readPids(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
}

/** `*.sock` files left in a directory. */
export function socketFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".sock"));
}

// ---- config -------------------------------------------------------------------------------------------------

export type ServerSpec = Partial<{
  socket: string;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  max_active_clients: number;
  max_connections: number;
  lazy_start: boolean;
  max_request_bytes: number;
  request_timeout_ms: number;
  restart_backoff_ms: number;
  restart_backoff_max_ms: number;
  max_restarts: number;
  tray: boolean;
  status_file: string;
  max_response_bytes: number;
  max_client_buffer_bytes: number;
  stable_run_ms: number;
  shutdown_grace_ms: number;
}> &
  Record<string, unknown>;

export interface WrittenConfig {
  dir: string;
  configPath: string;
  /** server name -> absolute socket path */
  sockets: Record<string, string>;
  /** server name -> resolved table as written */
  servers: Record<string, Record<string, unknown>>;
}

/** Defaults the harness puts into every server table unless overridden (fast restarts, bounded waits). */
export const SERVER_DEFAULTS = { restart_backoff_ms: 50, request_timeout_ms: 10_000 } as const;

/**
 * Write `<dir>/mux.toml` (dir: given, or a fresh temp dir when undefined/""). Each server defaults to the fixture
 * server (`cmd = bun`, `args = [fixture-server.ts]`) on socket `<dir>/<name>.sock`; `extra` adds top-level keys.
 */
export function writeConfig(
  dir: string | undefined,
  servers: Record<string, ServerSpec>,
  extra: Record<string, unknown> = {},
): WrittenConfig {
  const d = dir && dir !== "" ? dir : tempDir();
  const tables: Record<string, Record<string, unknown>> = {};
  const sockets: Record<string, string> = {};
  for (const [name, spec] of Object.entries(servers)) {
    const table: Record<string, unknown> = {
      socket: path.join(d, `${name}.sock`),
      cmd: BUN,
      args: [FIXTURE],
      ...SERVER_DEFAULTS,
      ...spec,
    };
    for (const k of Object.keys(table)) if (table[k] === undefined) delete table[k];
    tables[name] = table;
    sockets[name] = table.socket as string;
  }
  const configPath = path.join(d, "mux.toml");
  writeFileSync(configPath, TOML.stringify({ ...extra, servers: tables } as any));
  return { dir: d, configPath, sockets, servers: tables };
}

// ---- daemon -------------------------------------------------------------------------------------------------

export interface Daemon {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stderrLines: string[];
  stdoutLines: string[];
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** first stderr line (from line index `from`) matching `re`; rejects after timeoutMs with the stderr so far */
  waitForStderr(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** resolves once at least `n` stderr lines match `re` (with the count); rejects after timeoutMs with the stderr so far */
  waitForStderrCount(re: RegExp, n: number, timeoutMs?: number): Promise<number>;
  /** number of stderr lines matching `re` */
  countStderr(re: RegExp): number;
  /** send `signal`, wait for exit (SIGKILL after timeoutMs), return the exit code (null if killed by a signal) */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  stderrText(): string;
}

async function collectLines(
  stream: ReadableStream<Uint8Array>,
  into: string[],
  onLine: () => void,
  prefix: string,
): Promise<void> {
  await streamLines(stream, (line) => {
    into.push(line);
    if (VERBOSE) console.error(`${prefix}${line}`);
    onLine();
  });
  onLine();
}

/** True when something accepts a connection on `socketPath` (the daemon's own probe; the connection is closed at once). */
export const canConnect = (socketPath: string): Promise<boolean> => socketAnswers(socketPath);

/**
 * Resolves with `probe()`'s first defined value. `park` registers a re-check for the next time something
 * arrives (a line from a process); rejects when the process has exited or `timeoutMs` has passed.
 */
export function waitUntil<T>(
  probe: () => T | undefined,
  timeoutMs: number,
  o: { park(recheck: () => void): void; exited(): boolean; timeoutError(): Error; exitError(): Error },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (f: () => void) => {
      done = true;
      clearTimeout(timer);
      f();
    };
    const check = () => {
      if (done) return;
      const v = probe();
      if (v !== undefined) return finish(() => resolve(v));
      if (o.exited()) return finish(() => reject(o.exitError()));
      o.park(check);
    };
    const timer = setTimeout(() => {
      if (!done) finish(() => reject(o.timeoutError()));
    }, timeoutMs);
    check();
  });
}

export interface StartOptions {
  /** sockets that must accept a connection before startDaemon resolves (default: every socket in the config) */
  waitSockets?: string[];
  timeoutMs?: number;
  env?: Record<string, string>;
  /** a command that runs the daemon's command line (and execs it, so the pid stays the daemon's): `["prlimit", "--nofile=128:128"]` */
  wrap?: string[];
}

/**
 * Spawn `bun src/cli/main.ts --config <configPath> ...extraArgs` and resolve once every expected socket accepts a
 * connection (poll every 20 ms, timeout 10 s) and the daemon has logged that it is ready. Rejects with the
 * collected stderr on timeout or early exit.
 */
export async function startDaemon(configPath: string, extraArgs: string[] = [], opts: StartOptions = {}): Promise<Daemon> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let sockets = opts.waitSockets;
  if (!sockets) {
    const parsed = TOML.parse(readFileSync(configPath, "utf8")) as any;
    sockets = Object.values(parsed.servers ?? {}).map((s: any) => String(s.socket));
  }
  const proc = Bun.spawn([...(opts.wrap ?? []), BUN, CLI, "--config", configPath, ...extraArgs], {
    cwd: REPO,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  const stderrLines: string[] = [];
  const stdoutLines: string[] = [];
  let lineWaiters: Array<() => void> = [];
  const wake = () => {
    const ws = lineWaiters;
    lineWaiters = [];
    for (const w of ws) w();
  };
  const stderrDone = collectLines(proc.stderr, stderrLines, wake, "[daemon stderr] ");
  const stdoutDone = collectLines(proc.stdout, stdoutLines, wake, "[daemon stdout] ");
  let isExited = false;
  const exited = proc.exited.then(async () => {
    isExited = true;
    await Promise.race([Promise.all([stderrDone, stdoutDone]), Bun.sleep(500)]);
    wake();
    return proc.exitCode;
  });

  const stderrText = () => stderrLines.join("\n");

  const waitStderr = <T,>(probe: () => T | undefined, waitMs: number, what: string): Promise<T> =>
    waitUntil(probe, waitMs, {
      park: (fn) => lineWaiters.push(fn),
      exited: () => isExited,
      timeoutError: () => new Error(`no ${what} within ${waitMs} ms; stderr:\n${stderrText()}`),
      exitError: () => new Error(`daemon exited (code ${proc.exitCode}) before ${what}; stderr:\n${stderrText()}`),
    });

  const daemon: Daemon = {
    proc,
    stderrLines,
    stdoutLines,
    exited,
    stderrText,
    countStderr: (re) => stderrLines.filter((l) => re.test(l)).length,
    waitForStderr(re, waitMs = 5000, from = 0) {
      const first = (): string | undefined => {
        for (let i = from; i < stderrLines.length; i++) if (re.test(stderrLines[i]!)) return stderrLines[i]!;
        return undefined;
      };
      return waitStderr(first, waitMs, `a stderr line matching ${re}`);
    },
    waitForStderrCount(re, n, waitMs = 5000) {
      const count = () => {
        const k = stderrLines.filter((l) => re.test(l)).length;
        return k >= n ? k : undefined;
      };
      return waitStderr(count, waitMs, `${n} stderr lines matching ${re}`);
    },
    async stop(signal: NodeJS.Signals = "SIGTERM", waitMs = 10_000) {
      if (!isExited) {
        try {
          proc.kill(signal);
        } catch {
          // already gone
        }
      }
      const code = await Promise.race([exited, Bun.sleep(waitMs).then(() => "timeout" as const)]);
      if (code === "timeout") {
        try {
          proc.kill("SIGKILL");
        } catch {
          // gone
        }
        await exited;
        liveDaemons.delete(daemon);
        throw new Error(`daemon did not exit within ${waitMs} ms after ${signal}; stderr:\n${stderrText()}`);
      }
      liveDaemons.delete(daemon);
      return code;
    },
  };
  liveDaemons.add(daemon);

  const deadline = Date.now() + timeoutMs;
  const pendingSockets = new Set(sockets);
  while (pendingSockets.size > 0) {
    if (isExited) {
      await exited;
      liveDaemons.delete(daemon);
      throw new Error(
        `daemon exited with code ${proc.exitCode} (signal ${proc.signalCode}) before its sockets were ready; stderr:\n${stderrText()}`,
      );
    }
    for (const s of [...pendingSockets]) if (await canConnect(s)) pendingSockets.delete(s);
    if (pendingSockets.size === 0) break;
    if (Date.now() >= deadline) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // gone
      }
      await exited;
      liveDaemons.delete(daemon);
      throw new Error(
        `daemon sockets not ready within ${timeoutMs} ms (${[...pendingSockets].join(", ")}); stderr:\n${stderrText()}`,
      );
    }
    await Bun.sleep(20); // polling interval for connect()
  }
  // Sockets are bound while the config is still being checked, so a connectable socket does not yet mean a
  // running server: wait for the daemon to say it is ready (its info log line) unless logging is turned down.
  const level = opts.env?.RMCP_MUX_LOG ?? process.env.RMCP_MUX_LOG;
  if (sockets.length > 0 && level !== "warn" && level !== "error") {
    await daemon.waitForStderr(/\[daemon\] ready: \d+ server/, Math.max(1000, deadline - Date.now())).catch(async (e) => {
      if (!isExited) proc.kill("SIGKILL");
      await exited;
      liveDaemons.delete(daemon);
      throw e;
    });
  }
  return daemon;
}

/** Run the CLI to completion (for commands that must fail fast); SIGKILL after timeoutMs (code null then). */
export async function runCli(
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const proc = Bun.spawn([BUN, CLI, ...args], { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const out = new Response(proc.stdout).text();
  const err = new Response(proc.stderr).text();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout: await out, stderr: await err, timedOut };
}

// ---- raw JSON-RPC client ------------------------------------------------------------------------------------

export type Id = string | number;
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}
export interface RpcMessage {
  jsonrpc?: string;
  id?: Id | null;
  method?: string;
  params?: any;
  result?: any;
  error?: RpcError;
}
export interface Received {
  /** parsed message (undefined when the line was not JSON) */
  msg: RpcMessage;
  /** the line exactly as received (without "\n" / "\r") */
  raw: string;
  parseError?: boolean;
  at: number;
}

interface Waiter {
  pred: (r: Received) => boolean;
  resolve: (r: Received) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();

export const isResponseTo =
  (id: Id | null) =>
  (r: Received): boolean =>
    !r.parseError &&
    r.msg !== null &&
    typeof r.msg === "object" &&
    r.msg.method === undefined &&
    ("result" in r.msg || "error" in r.msg) &&
    r.msg.id === id;

export class RawClient {
  /** received, not yet consumed by request()/next() */
  readonly queue: Received[] = [];
  /** everything received, in order */
  readonly history: Received[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  private socket!: Socket<undefined>;
  private waiters: Waiter[] = [];
  private out: Uint8Array[] = [];
  private outOffset = 0;
  private flushWaiters: Array<() => void> = [];
  private readonly lines = new TextLines((l) => this.onLine(l));
  private autoId = 1_000_000;
  private resolveClosed!: () => void;

  private constructor(readonly socketPath: string) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static async connect(socketPath: string): Promise<RawClient> {
    const c = new RawClient(socketPath);
    c.socket = await Bun.connect<undefined>({
      unix: socketPath,
      socket: {
        binaryType: "uint8array",
        data: (_s, chunk: Uint8Array) => c.onData(chunk),
        drain: () => c.pump(),
        close: () => c.onClose(),
        error: () => c.onClose(),
        end: () => c.onClose(),
      },
    });
    liveClients.add(c);
    return c;
  }

  // -- input --
  private onData(chunk: Uint8Array): void {
    this.lines.push(chunk);
  }

  private onLine(raw: string): void {
    if (raw === "") return;
    let rec: Received;
    try {
      rec = { msg: JSON.parse(raw), raw, at: Date.now() };
    } catch {
      rec = { msg: undefined as unknown as RpcMessage, raw, parseError: true, at: Date.now() };
    }
    this.history.push(rec);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      let ok = false;
      try {
        ok = w.pred(rec);
      } catch {
        ok = false;
      }
      if (ok) {
        this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(rec);
        return;
      }
    }
    this.queue.push(rec);
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    liveClients.delete(this);
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(new Error(`connection to ${this.socketPath} closed while waiting`));
    }
    for (const f of this.flushWaiters.splice(0)) f();
    this.resolveClosed();
  }

  // -- output (handles partial writes: the rest is written on drain) --
  private pump(): void {
    while (this.out.length > 0) {
      if (this.isClosed) {
        this.out = [];
        break;
      }
      const head = this.out[0]!;
      const chunk = this.outOffset > 0 ? head.subarray(this.outOffset) : head;
      const n = this.socket.write(chunk);
      if (n < 0) {
        this.onClose();
        return;
      }
      if (n < chunk.length) {
        this.outOffset += n;
        return; // wait for drain
      }
      this.out.shift();
      this.outOffset = 0;
    }
    for (const f of this.flushWaiters.splice(0)) f();
  }

  /** Send raw bytes/text exactly as given (no newline added). */
  sendRaw(data: string | Uint8Array): void {
    if (this.isClosed) throw new Error(`send on closed connection to ${this.socketPath}`);
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return;
    this.out.push(bytes);
    if (this.out.length === 1) this.pump();
  }

  /** Send one message: an object is JSON-encoded; a string is sent as-is. A "\n" is appended if missing. */
  send(msg: object | string): void {
    const text = typeof msg === "string" ? msg : JSON.stringify(msg);
    this.sendRaw(text.endsWith("\n") ? text : text + "\n");
  }

  /** Resolves when everything sent so far has been accepted by the kernel (or the connection closed). */
  flushed(): Promise<void> {
    if (this.out.length === 0 || this.isClosed) return Promise.resolve();
    return new Promise((r) => this.flushWaiters.push(r));
  }

  /** Bytes not yet accepted by the kernel. */
  get pendingBytes(): number {
    let n = -this.outOffset;
    for (const b of this.out) n += b.length;
    return Math.max(0, n);
  }

  // -- waiting --
  /** The next (oldest queued, or future) message matching `pred`; it is consumed. */
  next(pred: (r: Received) => boolean = () => true, timeoutMs = 5000, what = "message"): Promise<Received> {
    const idx = this.queue.findIndex((r) => {
      try {
        return pred(r);
      } catch {
        return false;
      }
    });
    if (idx >= 0) return Promise.resolve(this.queue.splice(idx, 1)[0]!);
    if (this.isClosed) return Promise.reject(new Error(`connection to ${this.socketPath} is closed (waiting for ${what})`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what} on ${this.socketPath}; unconsumed: ${this.queue
                .slice(0, 5)
                .map((r) => r.raw.slice(0, 200))
                .join(" | ")}`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Resolve true if no message matching `pred` arrives within `ms` (the match, if any, is left queued). */
  async noMessageWithin(pred: (r: Received) => boolean, ms: number): Promise<boolean> {
    try {
      const r = await this.next(pred, ms);
      this.queue.unshift(r);
      return false;
    } catch (e) {
      if (this.isClosed) throw e;
      return true;
    }
  }

  /** Next notification with that method. */
  notification(method: string, timeoutMs = 5000): Promise<Received> {
    return this.next((r) => r.msg?.method === method && r.msg.id === undefined, timeoutMs, `notification ${method}`);
  }

  /** The response whose id is exactly `id` (type and value). */
  response(id: Id | null, timeoutMs = 5000): Promise<Received> {
    return this.next(isResponseTo(id), timeoutMs, `response to id ${JSON.stringify(id)}`);
  }

  newId(): number {
    return this.autoId++;
  }

  /** Send a request and resolve with its response message (matched by exact id). Auto ids start at 1_000_000. */
  async request(method: string, params?: unknown, id?: Id, timeoutMs = 5000): Promise<RpcMessage> {
    const rid = id ?? this.newId();
    const p = this.response(rid, timeoutMs);
    const msg: Record<string, unknown> = { jsonrpc: "2.0", id: rid, method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
    return (await p).msg;
  }

  notify(method: string, params?: unknown): void {
    const msg: Record<string, unknown> = { jsonrpc: "2.0", method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
  }

  /** initialize (protocolVersion 2025-06-18, capabilities {}) then notifications/initialized; returns the response. */
  async initialize(opts: { id?: Id; clientName?: string; timeoutMs?: number } = {}): Promise<RpcMessage> {
    const res = await this.request(
      "initialize",
      {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: opts.clientName ?? "raw-test-client", version: "0.0.1" },
      },
      opts.id,
      opts.timeoutMs ?? 5000,
    );
    this.notify("notifications/initialized");
    return res;
  }

  /** tools/call convenience */
  callTool(name: string, args: Record<string, unknown> = {}, id?: Id, timeoutMs = 5000): Promise<RpcMessage> {
    return this.request("tools/call", { name, arguments: args }, id, timeoutMs);
  }

  /** The fixture's `stats` tool, parsed. */
  async stats(timeoutMs = 5000): Promise<FixtureStats> {
    const res = await this.callTool("stats", {}, undefined, timeoutMs);
    if (res.error) throw new Error(`stats failed: ${JSON.stringify(res.error)}`);
    const st = JSON.parse(res.result.content[0].text) as FixtureStats;
    trackPid(st.pid);
    return st;
  }

  /** Half-close and wait for the close event. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.isClosed) return;
    try {
      this.socket.end();
    } catch {
      // already closed
    }
    await Promise.race([this.closed, Bun.sleep(timeoutMs)]);
    if (!this.isClosed) this.destroy();
  }

  /** Close at once. */
  destroy(): void {
    try {
      this.socket.terminate();
    } catch {
      // already closed
    }
    this.onClose();
  }
}

export interface FixtureStats {
  pid: number;
  initializeCount: number;
  initializedCount: number;
  cancelled: Id[];
  /** ids of the `hang` calls the fixture received, in order */
  hung: Id[];
  requests: number;
  parseErrors: number;
  pending: number;
  methodCounts: Record<string, number>;
}

/** Text of the first content item of a tools/call result. */
export function resultText(msg: RpcMessage): string {
  if (msg.error) throw new Error(`expected a result, got error ${JSON.stringify(msg.error)}`);
  return msg.result?.content?.[0]?.text;
}

// ---- control socket ------------------------------------------------------------------------------------------

/** The daemon's status through a fresh control connection (the product's own client); child pids are tracked. */
export async function daemonStatus(ctl: string, timeoutMs = 10_000): Promise<DaemonStatus> {
  const a = await controlRequest(ctl, { cmd: "status" }, timeoutMs);
  if (!a.ok || !a.status) throw new Error(`status failed: ${JSON.stringify(a)}`);
  for (const s of a.status.servers) {
    if (s.pid !== null) trackPid(s.pid);
    for (const i of s.sharing?.instances ?? []) if (i.pid !== null) trackPid(i.pid);
  }
  return a.status;
}

/** One server's status (see daemonStatus). */
export async function serverStatus(ctl: string, name: string): Promise<ServerStatus> {
  const s = (await daemonStatus(ctl)).servers.find((x) => x.name === name);
  if (!s) throw new Error(`no server ${name} in status`);
  return s;
}

/** A control answer, with every field a command may carry. */
export interface Answer {
  ok: boolean;
  id?: string | number;
  error?: string;
  status?: DaemonStatus;
  server?: ServerStatus;
  reload?: ReloadSummary;
}

let askSeq = 0;
/** Send one control request on an open connection (its own `id`, or a fresh one) and wait for the answer carrying that id. */
export async function askControl(c: RawClient, req: Record<string, unknown>, timeoutMs = 10_000): Promise<Answer> {
  const id = (req.id as string | number | undefined) ?? `q${++askSeq}`;
  c.send({ ...req, id });
  const r = await c.next((r) => (r.msg as any)?.id === id && "ok" in (r.msg as any), timeoutMs, `control answer ${id}`);
  return r.msg as unknown as Answer;
}
