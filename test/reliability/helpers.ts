/**
 * Helpers for the reliability suite (issue 8). Builds on test/e2e/harness.ts (daemons, RawClient, waitFor,
 * cleanup) and adds: a seeded PRNG, a raw control-socket client, /proc probes for memory and descriptors, a
 * "witness" client that keeps doing round trips while a test misbehaves elsewhere, and a proxy driver.
 *
 * Cleanup: everything created here is registered and released by `cleanupAll()` (which also runs the e2e
 * harness's `cleanup()`); call it from afterEach/afterAll.
 */
import { test } from "bun:test";
import type { Socket, Subprocess } from "bun";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { streamLines } from "../../src/runtime/text-lines.ts";
import {
  startDaemon as harnessStartDaemon,
  cleanup,
  pidAlive,
  PROXY,
  RawClient,
  REPO,
  BUN,
  trackPid,
  VERBOSE,
  waitFor,
  waitUntil,
  type RpcMessage,
} from "../e2e/harness.ts";

export * from "../e2e/harness.ts";

/** The harness's startDaemon with a default readiness timeout fit for a loaded 2-core machine (30 s, not 10 s). */
export function startDaemon(...args: Parameters<typeof harnessStartDaemon>): ReturnType<typeof harnessStartDaemon> {
  const [configPath, extra = [], opts = {}] = args;
  return harnessStartDaemon(configPath, extra, { timeoutMs: 30_000, ...opts });
}

export const FIXTURES = path.join(REPO, "test/fixtures");
export const bad = (name: string) => path.join(FIXTURES, `bad-${name}.ts`);

/** Scale factor for test sizes: MUX_RELIABILITY_SCALE=0.2 makes the load tests five times smaller. */
export const SCALE = Number(process.env.MUX_RELIABILITY_SCALE ?? 1) || 1;
export const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

// ---- deterministic randomness ---------------------------------------------------------------------------------

/** mulberry32: a small, fast, seedable PRNG. Same seed, same sequence, on every machine. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** integer in [0, n) */
    int: (n: number) => Math.floor(next() * n),
    /** true with probability p */
    chance: (p: number) => next() < p,
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)] as T;
    },
    bytes(n: number): Uint8Array {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}
export type Rng = ReturnType<typeof rng>;

// ---- cleanup registry -------------------------------------------------------------------------------------------

const liveProcs = new Set<Subprocess<any, any, any>>();
const liveSockets = new Set<Socket<any>>();

export async function cleanupAll(): Promise<void> {
  for (const s of liveSockets) {
    try {
      s.terminate();
    } catch {
      // closed
    }
  }
  liveSockets.clear();
  for (const p of liveProcs) {
    try {
      p.kill("SIGKILL");
    } catch {
      // gone
    }
  }
  await Promise.all([...liveProcs].map((p) => p.exited.catch(() => {})));
  liveProcs.clear();
  await cleanup();
}

export function registerSocket(s: Socket<any>): void {
  liveSockets.add(s);
}

// ---- /proc probes ---------------------------------------------------------------------------------------------

/** Resident memory of a process in kB (VmRSS from /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Number of open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What each fd of a process points to (socket:[…], pipe:[…], /path …), for failure messages. */
export function fdTargets(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return "?";
    }
  });
}

/** Pids whose parent is `pid` (from /proc/<pid>/task/<tid>/children). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const txt = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        if (txt) out.push(...txt.split(/\s+/).map(Number));
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return [...new Set(out)];
}

// ---- control socket ------------------------------------------------------------------------------------------

/** One request on the daemon's control socket (raw JSON lines, no product code); its parsed answer. */
export async function control(socketPath: string, req: Record<string, unknown>, timeoutMs = 20_000): Promise<any> {
  const c = await RawClient.connect(socketPath);
  try {
    const answer = c.next(() => true, timeoutMs, `control answer to ${JSON.stringify(req)}`);
    c.send(req);
    return (await answer).msg;
  } finally {
    c.destroy();
  }
}

/** `{"cmd":"status"}` → the daemon status object (throws when the answer is not ok). */
export async function daemonStatus(controlSocket: string): Promise<any> {
  const a = await control(controlSocket, { cmd: "status" });
  if (!a?.ok) throw new Error(`status failed: ${JSON.stringify(a)}`);
  return a.status;
}

export function controlSocketOf(configDir: string): string {
  return path.join(configDir, "daemon.sock");
}

// ---- witness ---------------------------------------------------------------------------------------------------

/**
 * A well-behaved client that keeps doing echo round trips (one at a time, each with a unique text) until
 * stopped. Every answer is checked: exactly the id sent, exactly the text sent. Tests wait for its `done` count
 * to move while something hostile is going on elsewhere ("every other client keeps full speed").
 */
export class Witness {
  done = 0;
  readonly problems: string[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor(readonly client: RawClient, readonly tag: string) {}

  static async start(socketPath: string, tag = "witness"): Promise<Witness> {
    const c = await RawClient.connect(socketPath);
    await c.initialize({ clientName: tag, timeoutMs: 15_000 });
    const w = new Witness(c, tag);
    w.running = true;
    w.loop = w.run();
    return w;
  }

  private async run(): Promise<void> {
    let i = 0;
    while (this.running) {
      const id = `${this.tag}-${i}`;
      const text = `${this.tag} says ${i} ✓ "q" \\ end`;
      i++;
      let res: RpcMessage;
      try {
        res = await this.client.callTool("echo", { text }, id, 60_000);
      } catch (e) {
        if (this.running) this.problems.push(`request ${id}: ${(e as Error).message}`);
        return;
      }
      if (res.id !== id) this.problems.push(`request ${id} answered with id ${JSON.stringify(res.id)}`);
      else if (res.error) this.problems.push(`request ${id} got error ${JSON.stringify(res.error)}`);
      else if (res.result?.content?.[0]?.text !== text) this.problems.push(`request ${id} got wrong text`);
      this.done++;
      this.waiters = this.waiters.filter((w) => {
        if (this.done >= w.n) w.resolve();
        return this.done < w.n;
      });
    }
  }

  /** Resolves once `n` more round trips completed (from now). */
  progressed(n: number, timeoutMs = 60_000): Promise<void> {
    const target = this.done + n;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`witness ${this.tag} stuck at ${this.done} (wanted ${target}); problems: ${this.problems.join("; ")}`)),
        timeoutMs,
      );
      this.waiters.push({
        n: target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(): Promise<{ done: number; problems: string[] }> {
    this.running = false;
    await this.loop;
    return { done: this.done, problems: this.problems };
  }
}

// ---- proxy driver ------------------------------------------------------------------------------------------------

export interface ProxyProc {
  proc: Subprocess<"pipe", "pipe", "pipe">;
  lines: string[];
  stderr: string[];
  send(msg: object | string): void;
  /** next stdout message (parsed) matching pred, counting from index `from` of `lines` */
  waitLine(pred: (m: any, raw: string) => boolean, timeoutMs?: number, what?: string): Promise<any>;
  waitStderr(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

async function pumpLines(stream: ReadableStream<Uint8Array>, into: string[], wake: () => void, prefix: string) {
  await streamLines(stream, (l) => {
    into.push(l);
    if (VERBOSE) console.error(prefix + l);
    wake();
  });
  wake();
}

/** Spawn `bun src/proxy/main.ts --socket PATH ...` with piped stdio. Killed by cleanupAll(). */
export function spawnProxy(socketPath: string, extra: string[] = []): ProxyProc {
  const proc = Bun.spawn([BUN, PROXY, "--socket", socketPath, ...extra], {
    cwd: REPO,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  liveProcs.add(proc);
  const lines: string[] = [];
  const stderr: string[] = [];
  let wakers: Array<() => void> = [];
  const wake = () => {
    const ws = wakers;
    wakers = [];
    ws.forEach((w) => w());
  };
  void pumpLines(proc.stdout, lines, wake, "[proxy out] ");
  void pumpLines(proc.stderr, stderr, wake, "[proxy err] ");
  let isExited = false;
  const exited = proc.exited.then((c) => {
    isExited = true;
    wake();
    return c;
  });
  const consumed = new Set<number>();
  const waitGeneric = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    waitUntil(check, timeoutMs, {
      park: (fn) => wakers.push(fn),
      exited: () => isExited,
      timeoutError: () =>
        new Error(`proxy: timed out after ${timeoutMs} ms waiting for ${what}; stdout: ${lines.slice(-5).join(" | ")}; stderr: ${stderr.join(" | ")}`),
      exitError: () => new Error(`proxy exited (${proc.exitCode}) while waiting for ${what}; stderr: ${stderr.join(" | ")}`),
    });
  return {
    proc,
    lines,
    stderr,
    exited,
    send(msg) {
      const text = typeof msg === "string" ? msg : JSON.stringify(msg);
      proc.stdin.write(text.endsWith("\n") ? text : `${text}\n`);
      proc.stdin.flush();
    },
    waitLine(pred, timeoutMs = 10_000, what = "a stdout line") {
      return waitGeneric(
        () => {
          for (let i = 0; i < lines.length; i++) {
            if (consumed.has(i)) continue;
            let m: any;
            try {
              m = JSON.parse(lines[i]!);
            } catch {
              m = undefined;
            }
            if (pred(m, lines[i]!)) {
              consumed.add(i);
              return m;
            }
          }
          return undefined;
        },
        timeoutMs,
        what,
      );
    },
    waitStderr(re, timeoutMs = 10_000) {
      return waitGeneric(() => stderr.find((l) => re.test(l)), timeoutMs, `stderr ${re}`);
    },
  };
}


// ---- raw JSON text helpers ----------------------------------------------------------------------------------------

/** Index just past the JSON string starting at `i` (a quote). */
function strEnd(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (c === "\\") j += 2;
    else if (c === '"') return j + 1;
    else j++;
  }
  throw new Error(`unterminated string at ${i}`);
}

/** Index just past the JSON value starting at `i` (no validation beyond bracket matching). */
function valEnd(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return strEnd(s, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    let j = i;
    while (j < s.length) {
      const d = s[j]!;
      if (d === '"') {
        j = strEnd(s, j);
        continue;
      }
      if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    throw new Error("unbalanced");
  }
  let j = i;
  while (j < s.length && !",}] \t\r\n".includes(s[j]!)) j++;
  return j;
}

/**
 * The raw text of each top-level member of a JSON object line, keyed by the DECODED key (so `"i\u0064"` is
 * `id`). Independent of the product's scanner on purpose. Throws when the line is not an object.
 */
export function topLevelRaw(line: string): Record<string, string> {
  const s = line;
  const ws = (k: number) => {
    while (k < s.length && " \t\r\n".includes(s[k]!)) k++;
    return k;
  };
  let i = ws(0);
  if (s[i] !== "{") throw new Error("not an object");
  i = ws(i + 1);
  const out: Record<string, string> = {};
  if (s[i] === "}") return out;
  for (;;) {
    const ke = strEnd(s, i);
    const key = JSON.parse(s.slice(i, ke)) as string;
    i = ws(ke);
    if (s[i] !== ":") throw new Error("expected :");
    i = ws(i + 1);
    const ve = valEnd(s, i);
    out[key] = s.slice(i, ve);
    i = ws(ve);
    if (s[i] === "}") return out;
    if (s[i] !== ",") throw new Error("expected ,");
    i = ws(i + 1);
  }
}

// ---- a client that sees raw bytes ----------------------------------------------------------------------------

/** A socket client that records raw received bytes (to check UTF-8 validity) and can pause reading. */
export class ByteClient {
  private chunks: Buffer[] = [];
  closed = false;
  private wakers: Array<() => void> = [];
  private drainers: Array<() => void> = [];
  socket!: Socket<undefined>;

  private wake(): void {
    const ws = this.wakers;
    this.wakers = [];
    ws.forEach((w) => w());
  }

  private onClose(): void {
    this.closed = true;
    this.wake();
    this.drainers.splice(0).forEach((d) => d());
  }

  static async connect(socketPath: string): Promise<ByteClient> {
    const self = new ByteClient();
    self.socket = await Bun.connect<undefined>({
      unix: socketPath,
      socket: {
        binaryType: "uint8array",
        data: (_s, chunk: Uint8Array) => {
          self.chunks.push(Buffer.from(chunk));
          self.wake();
        },
        drain: () => self.drainers.splice(0).forEach((d) => d()),
        close: () => self.onClose(),
        end: () => self.onClose(),
        error: () => self.onClose(),
      },
    });
    registerSocket(self.socket);
    return self;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Complete lines received so far, as raw bytes (without the newline). */
  rawLines(): Buffer[] {
    const all = this.bytes;
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = all.indexOf(10, start);
      if (nl < 0) break;
      out.push(all.subarray(start, nl));
      start = nl + 1;
    }
    return out;
  }

  /** Write everything, waiting for `drain` when the kernel takes only part; rejects if the peer closes. */
  async write(data: string | Uint8Array): Promise<void> {
    let buf: Uint8Array = typeof data === "string" ? Buffer.from(data) : data;
    while (buf.length > 0) {
      if (this.closed) throw new Error("ByteClient: connection closed");
      const n = this.socket.write(buf);
      if (n < 0) throw new Error("ByteClient: write failed (connection closed)");
      buf = buf.subarray(n);
      if (buf.length > 0) await new Promise<void>((r) => this.drainers.push(r));
    }
  }

  /** Wait until `cond()` holds; re-checked on every received chunk and on close. */
  until(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(`ByteClient: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (done) return;
        if (cond()) {
          done = true;
          clearTimeout(timer);
          return resolve();
        }
        if (this.closed) {
          done = true;
          clearTimeout(timer);
          return reject(new Error(`ByteClient: closed while waiting for ${what}`));
        }
        this.wakers.push(check);
      };
      check();
    });
  }

  destroy(): void {
    try {
      this.socket.terminate();
    } catch {
      // closed
    }
  }
}

// ---- known bugs ---------------------------------------------------------------------------------------------------

/**
 * A test that documents a bug in src/: `test.failing` (passes while the bug is there, fails once it is fixed so the
 * marker gets removed). MUX_SHOW_KNOWN_BUGS=1 runs them as plain tests, to see each failure message.
 */
export const knownBug: typeof test.failing = process.env.MUX_SHOW_KNOWN_BUGS === "1" ? (test as any) : test.failing;

/** `error.data.reason` of a mux-made error (undefined for results and for errors without one). */
export function reasonOf(msg: RpcMessage): unknown {
  return (msg.error?.data as { reason?: unknown } | undefined)?.reason;
}
