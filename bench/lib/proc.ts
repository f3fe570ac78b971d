/**
 * Processes for the benchmark: /proc readings (CPU ticks, VmHWM/VmRSS, descendants), a sampler that
 * attributes every descendant of this process to a role, and cleanup that ends only what we started.
 *
 * Linux only (the benchmark reads /proc). Every wait here is bounded.
 */
import { spawnSync, type Subprocess } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { streamLines } from "../../src/runtime/text-lines.ts";

export const SELF = process.pid;

/** Clock ticks per second for utime/stime in /proc/<pid>/stat. */
export const CLK_TCK: number = (() => {
  try {
    const r = spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
    const n = Number(r.stdout.toString().trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

export interface StatInfo {
  ppid: number;
  state: string;
  /** utime + stime, in clock ticks (all threads) */
  ticks: number;
  /** start time in ticks since boot: with the pid, identifies one process (pids are reused) */
  start: number;
}

/** /proc/<pid>/stat, or null when the process is gone. The command name may contain spaces and ")". */
export function readStat(pid: number): StatInfo | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  // fields after ")": [0]=state [1]=ppid ... [11]=utime [12]=stime ... [19]=starttime
  const f = text.slice(close + 2).split(" ");
  return { state: f[0] ?? "?", ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: Number(f[19]) };
}

export interface MemInfo {
  rssKb: number;
  hwmKb: number;
}

/** VmRSS / VmHWM from /proc/<pid>/status (kB), or null when gone (or a zombie without them). */
export function readMem(pid: number): MemInfo | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  if (!rss || !hwm) return null;
  return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
}

/** pid -> ppid for every process visible in /proc. */
export function processTable(): Map<number, StatInfo> {
  const out = new Map<number, StatInfo>();
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(n);
    const st = readStat(pid);
    if (st) out.set(pid, st);
  }
  return out;
}

/** Descendants of `root` (not root itself), parents before children. */
export function descendants(root: number, table: Map<number, StatInfo> = processTable()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, st] of table) {
    let list = children.get(st.ppid);
    if (!list) children.set(st.ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0 && out.length < 100_000) {
    const pid = stack.shift() as number;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== "Z" && st.state !== "X";
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** End every process we started (all descendants of this process), politely then firmly. */
export async function killAllDescendants(graceMs = 2000): Promise<number> {
  const tree = descendants(SELF);
  if (tree.length === 0) return 0;
  for (const pid of tree) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && tree.some(pidAlive)) await Bun.sleep(20);
  let killed = 0;
  for (const pid of [...tree, ...descendants(SELF)]) {
    if (pidAlive(pid)) {
      signal(pid, "SIGKILL");
      killed++;
    }
  }
  return killed;
}

/** Drain a child's output stream into a bounded tail of lines (a child blocked on a full pipe would skew results). */
export function drainLines(stream: ReadableStream<Uint8Array> | null | undefined, tail: string[], max = 40): Promise<void> {
  if (!stream) return Promise.resolve();
  const keep = (l: string) => {
    tail.push(l);
    if (tail.length > max) tail.shift();
  };
  // A process writing without newlines gets its output cut into 64 KB lines rather than buffered whole.
  return streamLines(stream, keep, 64 * 1024);
}

/** Every (pid, start) ever seen below this process: ended at exit even if re-parenting hid it from the tree. */
const seen = new Map<string, { pid: number; start: number }>();

function noteSeen(pids: Iterable<number>, table: Map<number, StatInfo>): void {
  for (const pid of pids) {
    const st = table.get(pid);
    if (st) seen.set(`${pid}:${st.start}`, { pid, start: st.start });
  }
  if (seen.size > 20_000) {
    for (const [k, p] of seen) if (!sameAlive(p)) seen.delete(k);
  }
}

/** Remember the current tree below this process (call after starting things). */
export function rememberTree(): void {
  const table = processTable();
  noteSeen(descendants(SELF, table), table);
}

/** Final cleanup: every descendant, then every remembered process that still runs. */
export async function cleanupEverything(graceMs = 2000): Promise<void> {
  rememberTree();
  await killAllDescendants(graceMs);
  await endSnapshot([...seen.values()], 500);
}

export type Role = "mux" | "backend" | "proxy";

/** How a cell's processes are attributed: top-level children of this process by pid, their descendants likewise. */
export interface Attribution {
  /** the multiplexer/gateway process (its descendants are backends) */
  muxPid?: number;
  /** role for other top-level children of this process (direct backends, rmcp-mux-proxy processes) */
  otherRole: Role;
}

export interface CpuSnapshot {
  at: number;
  byPid: Map<number, { role: Role; ticks: number }>;
}

export interface RoleCpu {
  mux: number;
  backend: number;
  proxy: number;
  total: number;
}

/**
 * Samples every descendant of this process: the per-process peak of VmHWM (so a process that exits keeps its
 * peak), the largest sum of VmRSS per role at one instant, and CPU snapshots on demand.
 */
export class Sampler {
  readonly peakHwmKb = new Map<number, { role: Role; kb: number }>();
  readonly rssSeries: Array<{ t: number; muxKb: number; backendKb: number; proxyKb: number }> = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly attr: Attribution,
    private readonly intervalMs = 250,
    private readonly keepSeries = false,
  ) {}

  classify(table: Map<number, StatInfo>): Map<number, Role> {
    const roles = new Map<number, Role>();
    noteSeen(descendants(SELF, table), table);
    for (const top of descendants(SELF, table).filter((p) => table.get(p)?.ppid === SELF)) {
      const topRole: Role = top === this.attr.muxPid ? "mux" : this.attr.otherRole;
      roles.set(top, topRole);
      for (const d of descendants(top, table)) roles.set(d, topRole === "mux" ? "backend" : topRole);
    }
    return roles;
  }

  sample(): void {
    const table = processTable();
    const sums = { mux: 0, backend: 0, proxy: 0 };
    for (const [pid, role] of this.classify(table)) {
      const m = readMem(pid);
      if (!m) continue;
      sums[role] += m.rssKb;
      const prev = this.peakHwmKb.get(pid);
      if (!prev || m.hwmKb > prev.kb) this.peakHwmKb.set(pid, { role, kb: m.hwmKb });
    }
    if (this.keepSeries) this.rssSeries.push({ t: performance.now(), muxKb: sums.mux, backendKb: sums.backend, proxyKb: sums.proxy });
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /** Sum of per-process peaks, by role, in MB. */
  peakMb(): { mux: number; backend: number; proxy: number } {
    const out = { mux: 0, backend: 0, proxy: 0 };
    for (const { role, kb } of this.peakHwmKb.values()) out[role] += kb / 1024;
    return out;
  }

  cpu(): CpuSnapshot {
    const table = processTable();
    const byPid = new Map<number, { role: Role; ticks: number }>();
    for (const [pid, role] of this.classify(table)) byPid.set(pid, { role, ticks: table.get(pid)!.ticks });
    return { at: performance.now(), byPid };
  }
}

/** CPU seconds used between two snapshots, by role (processes born in between count from zero). */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): RoleCpu {
  const out: RoleCpu = { mux: 0, backend: 0, proxy: 0, total: 0 };
  for (const [pid, { role, ticks }] of b.byPid) {
    const before = a.byPid.get(pid)?.ticks ?? 0;
    const s = Math.max(0, ticks - before) / CLK_TCK;
    out[role] += s;
    out.total += s;
  }
  return out;
}

/** A process tree remembered by (pid, start time), so that it can be ended even after re-parenting. */
export function snapshotTree(rootPid: number): Array<{ pid: number; start: number }> {
  const table = processTable();
  noteSeen([rootPid, ...descendants(rootPid, table)], table);
  return [rootPid, ...descendants(rootPid, table)].flatMap((pid) => {
    const st = table.get(pid);
    return st ? [{ pid, start: st.start }] : [];
  });
}

function sameAlive(p: { pid: number; start: number }): boolean {
  const st = readStat(p.pid);
  return st !== null && st.start === p.start && st.state !== "Z" && st.state !== "X";
}

/** SIGTERM, wait up to graceMs, SIGKILL: for a remembered tree (only processes still matching pid+start). */
export async function endSnapshot(tree: Array<{ pid: number; start: number }>, graceMs = 2000): Promise<void> {
  const live = tree.filter(sameAlive);
  if (live.length === 0) return;
  for (const p of live) signal(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some(sameAlive)) await Bun.sleep(20);
  for (const p of live) if (sameAlive(p)) signal(p.pid, "SIGKILL");
}

/**
 * Stop a subprocess we spawned and everything it started: `sig` to the root (its own shutdown path first), wait up
 * to timeoutMs, then end whatever is left of the tree remembered before the signal (children re-parented away
 * from a dead root included).
 */
export async function stopProcess(proc: Subprocess, sig: NodeJS.Signals = "SIGTERM", timeoutMs = 3000): Promise<void> {
  const tree = snapshotTree(proc.pid);
  if (proc.exitCode === null && proc.signalCode === null) {
    try {
      proc.kill(sig);
    } catch {
      // gone
    }
    await Promise.race([proc.exited, Bun.sleep(timeoutMs)]);
  }
  await endSnapshot(tree, 1000);
  await Promise.race([proc.exited, Bun.sleep(1000)]);
}
