/**
 * Time: one timer for the whole router, armed for the earliest deadline. Requests open at the backend,
 * requests queued in the mux, client handshakes and requests waiting for a client slot each expire with an error
 * to their client (and a cancellation to the backend for what it holds).
 */
import { errorLine, INTERNAL_ERROR } from "../wire/jsonrpc.ts";
import type { Admission } from "./admission.ts";
import type { RouterContext } from "./context.ts";
import type { CancelProgress } from "./families/cancel-progress.ts";
import type { Lifecycle } from "./families/lifecycle.ts";
import type { PendingTable } from "./pending.ts";
import { Kind, Phase, type Pending, type Queued } from "./session.ts";
import type { RouterHost } from "./types.ts";

export interface ExpiryDeps {
  ctx: RouterContext;
  host: RouterHost;
  pending: PendingTable<Pending>;
  lifecycle: Lifecycle;
  admission: Admission;
  cancelProgress: CancelProgress;
  /** Input rounds of 2025 clients at a modern backend: they live in the mux, with their own deadlines. */
  rounds: { expire(now: number, timeout: (rawId: string) => string): number };
}

export class Expiry {
  private timer: unknown = null;

  constructor(private readonly d: ExpiryDeps) {}

  /** Starts the clock if it is not running (it then runs until nothing waits). */
  arm(): void {
    if (this.timer !== null) return;
    this.timer = this.d.ctx.clock.setTimer(this.d.ctx.opts.requestTimeoutMs, () => this.onTimer());
  }

  private onTimer(): void {
    this.timer = null;
    const { clock } = this.d.ctx;
    const next = this.sweep(clock.now());
    if (next === Infinity) return;
    // A request the sweep let through (a freed slot) may have armed the clock for a full timeout; every
    // deadline still open is sooner than that.
    if (this.timer !== null) clock.clearTimer(this.timer);
    this.timer = clock.setTimer(Math.max(1, next - clock.now()), () => this.onTimer());
  }

  dispose(): void {
    if (this.timer !== null) this.d.ctx.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /** Expires whatever is due; returns the next deadline (Infinity when nothing waits). */
  sweep(now: number): number {
    const { ctx, pending, lifecycle, admission } = this.d;
    let next = Infinity;
    for (const p of pending.list()) {
      if (p.deadline > now) {
        next = Math.min(next, p.deadline);
        continue;
      }
      // An expiry can end the backend, and with it every other entry of this snapshot.
      if (pending.take(p.bid) === undefined) continue;
      this.expire(p);
    }
    for (const c of [...ctx.sessions.values()]) {
      if (c.phase === Phase.Initializing && !lifecycle.cached) {
        if (c.initDeadline <= now) {
          c.phase = Phase.New;
          ctx.emit(c.id, this.timeoutError(c.initRawId));
        } else next = Math.min(next, c.initDeadline);
      }
      while (c.queue.length > 0 && (c.queue[0] as Queued).deadline <= now) {
        const q = c.queue.shift() as Queued;
        ctx.counters.timeouts++;
        ctx.emit(c.id, this.timeoutError(ctx.rawIdOf(q.line)));
      }
      if (c.queue.length > 0) next = Math.min(next, (c.queue[0] as Queued).deadline);
    }
    // A timed-out request may have been a busy client's last: its slot goes to a waiting request before
    // the waits that are due now are given up.
    next = Math.min(next, this.d.rounds.expire(now, (rawId) => this.timeoutError(rawId)));
    admission.settle();
    return Math.min(next, admission.expire(now));
  }

  private timeoutError(rawId: string): string {
    const ms = this.d.ctx.opts.requestTimeoutMs;
    return errorLine(rawId, INTERNAL_ERROR, `Request timed out after ${ms} ms (request_timeout_ms)`, "timeout", { timeoutMs: ms });
  }

  /** `p`, already out of the table, is past its deadline. */
  private expire(p: Pending): void {
    const { ctx, host, lifecycle, cancelProgress } = this.d;
    switch (p.kind) {
      case Kind.Client:
      case Kind.CreatesTask:
      case Kind.ListsTasks:
      case Kind.Subscribes:
      case Kind.ListsTools:
      case Kind.ToModern:
      case Kind.ToModernCacheable:
      case Kind.ToLegacy:
      case Kind.Listen: {
        ctx.counters.timeouts++;
        const c = p.client;
        if (c === null) return;
        ctx.drop(p);
        ctx.emit(c.id, this.timeoutError(p.rawId));
        if (lifecycle.state === "ready") cancelProgress.cancelAtBackend(p.bid, "request timed out in rmcp-mux");
        return;
      }
      case Kind.Init:
        ctx.log("error", `backend did not answer initialize within ${ctx.opts.requestTimeoutMs} ms`);
        return host.restartBackend("initialize timed out");
      case Kind.Ping:
        return lifecycle.probeSettled(p.bid, false);
      case Kind.Internal:
      case Kind.MuxListen:
        return;
    }
  }
}
