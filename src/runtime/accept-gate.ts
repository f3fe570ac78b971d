/**
 * Accepting connections only while the daemon has file descriptors to spare.
 *
 * When a process is out of descriptors, `accept` fails with EMFILE and the connection stays in the listen
 * queue, so the socket is readable again at once: Bun's socket layer then retries without end, at full CPU.
 * The gate keeps the daemon from getting there. It counts the connections of every client socket (the
 * control socket's too), and near the limit (`limit - reserve` descriptors open) it pauses the sockets that
 * serve clients: they stop listening, so connecting fails at once (proxies retry within their window) and
 * nothing spins. Below `limit - 2 × reserve` they listen again. Each pause is logged once.
 *
 * Open descriptors are counted for real (the system's list) on each connection near the limit, and every
 * `recheckMs` whatever happens: descriptors also go to children's pipes and files, and a process already out
 * of them accepts nothing, so no connection would ever trigger the count. Elsewhere the count of connections
 * plus what else was open at the last count stands in for it, so accepting stays cheap.
 */
import type { Logger } from "./log.ts";

/** A listening socket that can stop accepting and start again. */
export interface Pausable {
  pause(): void;
  /** Listens again; false when it could not (it stays paused and is tried again later). */
  resume(): Promise<boolean>;
}

export interface GateOptions {
  /** The soft RLIMIT_NOFILE. */
  limit: number;
  /** Descriptors open now (null: unknown on this system; the connection count is used). */
  countFds: () => number | null;
  log: Logger;
  /** How often the descriptors are counted regardless of connections (default 2000 ms). */
  recheckMs?: number;
}

export class AcceptGate {
  private readonly sockets = new Set<Pausable>();
  private connections = 0;
  /** Descriptors open besides connections, as of the last real count. */
  private overhead = 16;
  private opts: GateOptions | null = null;
  private pausedSince: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private resuming: Promise<void> | null = null;

  /** Starts gating against `opts.limit` (until then the gate only counts). */
  configure(opts: GateOptions): void {
    this.opts = opts;
    this.dispose();
    this.timer = setInterval(() => this.check(), opts.recheckMs ?? 2000);
    (this.timer as { unref?: () => void }).unref?.();
    this.check();
  }

  get paused(): boolean {
    return this.pausedSince !== null;
  }

  /** Descriptors kept free: enough for the control socket, a child's pipes and the log, whatever the limit. */
  get reserve(): number {
    return this.opts === null ? 0 : Math.max(16, Math.floor(this.opts.limit / 16));
  }

  register(s: Pausable): void {
    this.sockets.add(s);
    if (this.paused) s.pause();
  }

  unregister(s: Pausable): void {
    this.sockets.delete(s);
  }

  opened(): void {
    this.connections++;
    // Counting for real costs a directory listing: only near the limit.
    if (this.opts !== null && !this.paused && this.connections + this.overhead >= this.opts.limit - 2 * this.reserve) this.check();
  }

  closed(): void {
    this.connections--;
    if (this.paused && this.connections + this.overhead <= this.resumeAt()) this.check();
  }

  private pauseAt(): number {
    return (this.opts?.limit ?? Infinity) - this.reserve;
  }

  private resumeAt(): number {
    return this.pauseAt() - this.reserve;
  }

  /** Counts for real, and pauses or resumes. */
  check(): void {
    const o = this.opts;
    if (o === null) return;
    const counted = o.countFds();
    const open = counted ?? this.connections + this.overhead;
    if (counted !== null && Number.isFinite(counted)) this.overhead = Math.max(0, counted - this.connections);
    if (!this.paused && open >= this.pauseAt()) return this.pause(open);
    if (this.paused && open <= this.resumeAt()) this.resuming ??= this.resume(open).finally(() => (this.resuming = null));
  }

  /** Resolves once a resume under way (if any) is over. */
  async settled(): Promise<void> {
    await this.resuming;
  }

  private pause(open: number): void {
    const o = this.opts as GateOptions;
    this.pausedSince = performance.now();
    for (const s of this.sockets) s.pause();
    o.log(
      "warn",
      `${Number.isFinite(open) ? open : "all"} of ${o.limit} file descriptors open (RLIMIT_NOFILE): not accepting connections until fewer than ${this.resumeAt()} are; ` +
        "raise the limit (ulimit -n, LimitNOFILE=) or lower max_connections",
    );
  }

  private async resume(open: number): Promise<void> {
    const results = await Promise.all([...this.sockets].map((s) => s.resume()));
    if (results.includes(false)) return; // tried again on the next check
    const since = this.pausedSince ?? performance.now();
    this.pausedSince = null;
    this.opts?.log("info", `${open} file descriptors open: accepting connections again (paused ${Math.round(performance.now() - since)} ms)`);
  }

  /** Stops the recheck timer (the daemon is going down). */
  dispose(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The daemon's one gate: descriptors belong to the process, so every socket shares it. */
export const acceptGate = new AcceptGate();
