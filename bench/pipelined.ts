#!/usr/bin/env bun
/**
 * Pipelined raw JSON-RPC load: each client keeps `depth` tools/call requests in flight on its connection (no SDK,
 * newline-delimited JSON). Used by bench/run.ts to find the router's ceiling, and on its own to drive a daemon
 * while it is being profiled (see bench/profile.md).
 *
 *   bun bench/pipelined.ts --socket /tmp/prof/fixture.sock [--clients 64] [--depth 32] [--duration-ms 20000]
 *   bun bench/pipelined.ts --stdio                      # same load straight into one fixture backend's stdin
 *   bun bench/pipelined.ts --write-config /tmp/prof      # writes /tmp/prof/mux.toml (fixture server) and exits
 *
 * Options: --backend fixture|everything (tool and expected answer; default fixture), --warmup-ms N,
 * --requests N (stop after N requests in total instead of after the duration), --timeout-ms N (per request).
 *
 * Every response is checked: its id must be one this connection has open, and its text must be the text that
 * request sent. Anything else is counted (misrouted / stray / missing / errors) and the exit code is 1.
 */
import TOML from "@iarna/toml";
import type { Socket } from "bun";
import { TextLines } from "../src/runtime/text-lines.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { BACKENDS, type BackendName, type BackendSpec } from "./lib/backends.ts";
import { Latencies, noteProblem, percentile, zeroCounts, type Counts, type LoadResult } from "./lib/stats.ts";

const encoder = new TextEncoder();

/** A byte pipe to one MCP session: a socket to the daemon, or a backend's stdin/stdout. */
export interface Link {
  write(text: string): void;
  /** called with each complete line */
  onLine: (line: string) => void;
  onClose: () => void;
  close(): Promise<void>;
  readonly closed: boolean;
}

/** Splits chunks into lines (a chunk may end mid-line and mid-character); empty lines are not messages. */
const linesOf = (onLine: (l: string) => void) => new TextLines((l) => l !== "" && onLine(l));

/** Connect to a Unix socket. Writes keep what the kernel did not take and send it on `drain`. */
export async function socketLink(socketPath: string, timeoutMs = 5000): Promise<Link> {
  const queue: Uint8Array[] = [];
  let closed = false;
  let closeResolve!: () => void;
  const closedP = new Promise<void>((r) => (closeResolve = r));
  const link: Link = {
    write: () => {},
    onLine: () => {},
    onClose: () => {},
    close: async () => {},
    get closed() {
      return closed;
    },
  };
  const lines = linesOf((l) => link.onLine(l));
  const flushQueue = (s: Socket<undefined>) => {
    while (queue.length > 0) {
      const b = queue[0] as Uint8Array;
      const n = s.write(b);
      if (n < 0) return;
      if (n < b.length) {
        queue[0] = b.subarray(n);
        return;
      }
      queue.shift();
    }
  };
  const deadline = Date.now() + timeoutMs;
  let sock: Socket<undefined> | undefined;
  let lastErr = "";
  while (!sock) {
    try {
      sock = await Bun.connect<undefined>({
        unix: socketPath,
        socket: {
          binaryType: "uint8array",
          data: (_s, chunk) => lines.push(chunk as unknown as Uint8Array),
          drain: (s) => flushQueue(s),
          close: () => {
            closed = true;
            closeResolve();
            link.onClose();
          },
          error: () => {},
        },
      });
    } catch (e) {
      lastErr = String(e);
      if (Date.now() >= deadline) throw new Error(`cannot connect to ${socketPath}: ${lastErr}`);
      await Bun.sleep(20); // retry pacing while a daemon starts
    }
  }
  const s = sock;
  link.write = (text: string) => {
    if (closed) return;
    const b = encoder.encode(text);
    if (queue.length > 0) {
      queue.push(b);
      return;
    }
    const n = s.write(b);
    if (n >= 0 && n < b.length) queue.push(b.subarray(n));
  };
  link.close = async () => {
    if (closed) return;
    s.end();
    await Promise.race([closedP, Bun.sleep(1000)]);
    if (!closed) s.terminate();
  };
  return link;
}

/** Spawn a backend and talk to its stdio directly (what a host does without a multiplexer). */
export function stdioLink(argv: string[], env: Record<string, string | undefined> = process.env): Link & { pid: number } {
  const proc = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "ignore", env });
  let closed = false;
  const link = {
    pid: proc.pid,
    write(text: string) {
      if (closed) return;
      try {
        const r = proc.stdin.write(text);
        if (r instanceof Promise) r.catch(() => {});
        const f = proc.stdin.flush();
        if (f instanceof Promise) f.catch(() => {});
      } catch {
        // the backend is gone; its exit is reported by onClose
      }
    },
    onLine: (_l: string) => {},
    onClose: () => {},
    async close() {
      try {
        proc.stdin.end();
      } catch {
        // already closed
      }
      const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(2000).then(() => false)]);
      if (!done) {
        proc.kill("SIGKILL");
        await Promise.race([proc.exited, Bun.sleep(1000)]);
      }
    },
    get closed() {
      return closed;
    },
  };
  const lines = linesOf((l) => link.onLine(l));
  void (async () => {
    try {
      for await (const chunk of proc.stdout) lines.push(chunk);
    } catch {
      // stream ended
    }
    closed = true;
    link.onClose();
  })();
  return link;
}

/** initialize + notifications/initialized on a fresh link; rejects after timeoutMs. */
export function handshake(link: Link, timeoutMs = 15_000, clientName = "bench-pipelined"): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no initialize answer within ${timeoutMs} ms`)), timeoutMs);
    link.onLine = (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg?.id === "bench-init") {
        clearTimeout(timer);
        link.onLine = () => {};
        if (msg.error) return reject(new Error(`initialize failed: ${JSON.stringify(msg.error)}`));
        link.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
        resolve();
      }
    };
    link.onClose = () => {
      clearTimeout(timer);
      reject(new Error("connection closed during initialize"));
    };
    link.write(
      `${JSON.stringify({
        jsonrpc: "2.0",
        id: "bench-init",
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: clientName, version: "0.0.1" } },
      })}\n`,
    );
  });
}

export interface PipelinedOptions {
  /** links, each already initialized */
  links: Link[];
  /** virtual clients sharing each link (1 for sockets; N when N clients' load goes into one backend's stdin) */
  lanesPerLink: number;
  depth: number;
  backend: BackendSpec;
  /** absolute performance.now() times: latencies of requests sent in [start, end), throughput of answers in it */
  windowStart: number;
  windowEnd: number;
  /** stop sending after this many requests in total (all links) */
  maxRequests?: number;
  /** stop sending at this performance.now() time whatever else happens (default: windowEnd, or 10 min from now) */
  hardStopAt?: number;
  /** a request without an answer after this long counts as missing */
  timeoutMs?: number;
  /** after sending stops, wait at most this long for the answers still open */
  drainMs?: number;
  /** called every `progressEvery` answered requests (for long runs) */
  onProgress?: (answered: number) => void;
  progressEvery?: number;
}

interface Open {
  lane: number;
  sent: number;
  text: string;
}

/** Run the load until the window ends (or maxRequests are sent), then collect what is still open. */
export async function runPipelined(o: PipelinedOptions): Promise<LoadResult> {
  const counts: Counts = zeroCounts();
  const latencies = new Latencies();
  const problems: string[] = [];
  const timeoutMs = o.timeoutMs ?? 10_000;
  const drainMs = o.drainMs ?? 10_000;
  const { tool, argKey } = o.backend;
  let completedInWindow = 0;
  let answered = 0;
  let sending = true;
  let totalSent = 0;
  let openTotal = 0;
  let wake: (() => void) | null = null;

  const stopSending = () => {
    sending = false;
  };

  let maxLatencyMs = 0;
  const perLink = o.links.map((link, li) => {
    const open = new Map<number, Open>();
    /** ids given up on (timed out), so that their late answers are not taken for misdelivered ones */
    const expired = new Set<number>();
    const inflight = new Array<number>(o.lanesPerLink).fill(0);
    let nextId = 1;
    let out = "";
    const refill = (lane: number) => {
      while (sending && inflight[lane]! < o.depth) {
        if (o.maxRequests !== undefined && totalSent >= o.maxRequests) return stopSending();
        const now = performance.now();
        if (now >= o.windowEnd) return stopSending();
        const id = nextId++;
        const text = `p${li}.${lane}.${id}`;
        out += `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":{"${argKey}":"${text}"}}}\n`;
        open.set(id, { lane, sent: now, text });
        inflight[lane]!++;
        openTotal++;
        totalSent++;
        counts.sent++;
      }
    };
    const flush = () => {
      if (out.length > 0) {
        link.write(out);
        out = "";
      }
    };
    link.onLine = (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        counts.errors++;
        noteProblem(problems, `unparsable line: ${line}`);
        return;
      }
      if (msg === null || typeof msg !== "object" || msg.method !== undefined) return; // notifications, server requests
      const now = performance.now();
      const p = typeof msg.id === "number" ? open.get(msg.id) : undefined;
      if (p === undefined) {
        if (typeof msg.id === "number" && expired.delete(msg.id)) {
          counts.late++;
        } else if (msg.id === null && msg.error) {
          counts.errors++;
          noteProblem(problems, `error without id: ${line}`);
        } else {
          counts.stray++;
          noteProblem(problems, `stray response on link ${li}: ${line}`);
        }
        return;
      }
      open.delete(msg.id);
      openTotal--;
      inflight[p.lane]!--;
      answered++;
      maxLatencyMs = Math.max(maxLatencyMs, now - p.sent);
      const inWindow = now >= o.windowStart && now < o.windowEnd;
      if (inWindow) completedInWindow++;
      if (msg.error || msg.result?.isError) {
        counts.errors++;
        noteProblem(problems, `error for ${p.text}: ${line}`);
      } else if (msg.result?.content?.[0]?.text !== o.backend.expect(p.text)) {
        counts.misrouted++;
        noteProblem(problems, `misrouted: sent ${p.text}, got ${line}`);
      } else if (inWindow) {
        counts.ok++;
      }
      if (p.sent >= o.windowStart && p.sent < o.windowEnd) latencies.push(now - p.sent);
      if (o.onProgress && answered % (o.progressEvery ?? 10_000) === 0) o.onProgress(answered);
      refill(p.lane);
      // one write per chunk: flushed from a microtask so the whole chunk's answers are refilled together
      scheduleFlush();
      if (!sending && openTotal === 0) wake?.();
    };
    let flushScheduled = false;
    const scheduleFlush = () => {
      if (flushScheduled) return;
      flushScheduled = true;
      queueMicrotask(() => {
        flushScheduled = false;
        flush();
      });
    };
    link.onClose = () => {
      if (open.size > 0) noteProblem(problems, `link ${li} closed with ${open.size} requests open`);
      counts.missing += open.size;
      openTotal -= open.size;
      open.clear();
      inflight.fill(0);
      // with every link gone there is nothing left to send on
      if (o.links.every((l) => l.closed)) stopSending();
      if (!sending && openTotal === 0) wake?.();
    };
    return { link, open, expired, inflight, refill, flush };
  });

  // Requests older than the timeout are given up on (and replaced, so the pipeline stays full).
  const sweeper = setInterval(() => {
    const limit = performance.now() - timeoutMs;
    for (const pl of perLink) {
      for (const [id, p] of pl.open) {
        if (p.sent < limit) {
          pl.open.delete(id);
          if (pl.expired.size < 100_000) pl.expired.add(id);
          openTotal--;
          pl.inflight[p.lane]!--;
          counts.missing++;
          noteProblem(problems, `no answer within ${timeoutMs} ms for ${p.text}`);
          pl.refill(p.lane);
        }
      }
      pl.flush();
    }
    if (!sending && openTotal === 0) wake?.();
  }, 500);

  for (const pl of perLink) {
    for (let lane = 0; lane < o.lanesPerLink; lane++) pl.refill(lane);
    pl.flush();
  }
  // Sending stops from the answer path; this timer covers a pipeline that stalled completely, and bounds a run
  // that is limited by count only.
  const stopAt = Math.min(o.windowEnd, o.hardStopAt ?? performance.now() + 600_000);
  const endTimer = setTimeout(
    () => {
      if (sending && stopAt < o.windowEnd) noteProblem(problems, "hard stop: the run took longer than allowed");
      stopSending();
      if (openTotal === 0) wake?.();
    },
    Math.max(0, stopAt - performance.now()) + 5,
  );
  // Wait for the end of sending, then for the open requests (bounded).
  await new Promise<void>((resolve) => {
    wake = resolve;
    if (!sending && openTotal === 0) resolve();
  });
  clearTimeout(endTimer);
  wake = null;
  if (openTotal > 0) {
    await Promise.race([
      new Promise<void>((r) => {
        wake = r;
      }),
      Bun.sleep(drainMs),
    ]);
  }
  clearInterval(sweeper);
  for (const pl of perLink) {
    if (pl.open.size > 0) noteProblem(problems, `${pl.open.size} requests still open after the drain`);
    counts.missing += pl.open.size;
    pl.open.clear();
  }
  const windowMs = Math.min(o.windowEnd, performance.now()) - o.windowStart;
  return { counts, latencies, completedInWindow, windowMs, maxLatencyMs, problems };
}

// ---- standalone -------------------------------------------------------------------------------------------

function parseCli(argv: string[]) {
  const o: Record<string, string> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--stdio" || a === "--help" || a === "-h") {
      flags.add(a.replace(/^-+/, ""));
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    o[m[1] as string] = v;
  }
  return { o, flags };
}

/** Write a mux.toml serving the fixture (or server-everything) on <dir>/<backend>.sock. */
export function writeProfileConfig(dir: string, backend: BackendSpec, maxActive = 256): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "mux.toml");
  writeFileSync(
    file,
    TOML.stringify({
      status_socket: path.join(dir, "daemon.sock"),
      servers: {
        [backend.name]: {
          socket: path.join(dir, `${backend.name}.sock`),
          cmd: backend.cmd,
          args: backend.args,
          max_active_clients: maxActive,
        },
      },
    } as any),
  );
  return file;
}

async function main(): Promise<number> {
  const { o, flags } = parseCli(process.argv.slice(2));
  if (flags.has("help") || flags.has("h")) {
    process.stdout.write(
      (await Bun.file(import.meta.path).text()).split("*/")[0]!.replace(/^#!.*\n\/\*\*\n?/, "").replace(/^ \* ?/gm, ""),
    );
    return 0;
  }
  const backend = BACKENDS[(o.backend ?? "fixture") as BackendName];
  if (!backend) throw new Error(`--backend must be fixture or everything`);
  if (o["write-config"]) {
    const file = writeProfileConfig(o["write-config"], backend);
    console.log(file);
    return 0;
  }
  const clients = Number(o.clients ?? 8);
  const depth = Number(o.depth ?? 32);
  const durationMs = Number(o["duration-ms"] ?? 10_000);
  const warmupMs = Number(o["warmup-ms"] ?? 1000);
  const maxRequests = o.requests ? Number(o.requests) : undefined;
  let links: Link[];
  let lanes = 1;
  if (flags.has("stdio")) {
    const l = stdioLink([backend.cmd, ...backend.args]);
    await handshake(l);
    links = [l];
    lanes = clients;
  } else {
    if (!o.socket) throw new Error("--socket PATH (or --stdio) is required; --help for usage");
    links = await Promise.all(
      Array.from({ length: clients }, async () => {
        const l = await socketLink(o.socket as string);
        await handshake(l);
        return l;
      }),
    );
  }
  const start = performance.now() + warmupMs;
  const end = maxRequests !== undefined ? Number.POSITIVE_INFINITY : start + durationMs;
  console.error(
    `pipelined: ${clients} client(s) x ${depth} in flight, ${flags.has("stdio") ? "into one backend's stdin" : o.socket}, ` +
      (maxRequests !== undefined ? `${maxRequests} requests` : `${warmupMs} ms warm-up + ${durationMs} ms`),
  );
  const t0 = performance.now();
  const r = await runPipelined({ links, lanesPerLink: lanes, depth, backend, windowStart: start, windowEnd: end, maxRequests });
  const elapsed = maxRequests !== undefined ? performance.now() - Math.max(t0, start) : r.windowMs;
  const sorted = r.latencies.sorted();
  await Promise.all(links.map((l) => l.close()));
  const rps = (r.counts.ok / elapsed) * 1000;
  console.log(
    `${rps.toFixed(0)} req/s  p50 ${percentile(sorted, 0.5).toFixed(3)} ms  p99 ${percentile(sorted, 0.99).toFixed(3)} ms  ` +
      `ok ${r.counts.ok}  misrouted ${r.counts.misrouted}  stray ${r.counts.stray}  missing ${r.counts.missing}  errors ${r.counts.errors}` +
      (r.counts.late ? `  late ${r.counts.late}` : ""),
  );
  for (const p of r.problems) console.error(`  ${p}`);
  const bad = r.counts.misrouted + r.counts.stray + r.counts.missing + r.counts.errors;
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`pipelined: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
