/**
 * A server's child process, as decisions: when to start one, what its end means, when to start the next.
 * Pure: the process itself, the router and time come in through `SupervisorEffects`, so every path
 * (crash, backoff, giving up, an operator's restart, stop and start, an unhealthy child) is unit-tested
 * with a fake clock and no process.
 *
 * Why a child ends decides what follows:
 * - replaced on purpose (an operator's restart): the next starts at once; not a failure;
 * - unhealthy (heartbeat silence, an initialize never answered): a failed run, as a crash is;
 * - ended on its own: a failed run: back off, or give up after `max_restarts` consecutive failures;
 * - stopped by an operator: nothing starts until `startChild()`;
 * - the server is stopping: nothing more.
 */
import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { Logger } from "./log.ts";

export interface Timers {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export interface SupervisorEffects {
  /**
   * Starts a child: its pid, or why it could not start (then it counts as a failed run), or `pending`
   * while its command is still being worked out (`want()` is called again once it is).
   */
  spawn(): { pid: number } | { error: string } | { pending: true };
  /** Ends the running child gracefully; its exit arrives later through `childExited`. */
  endChild(): Promise<void>;
  /** The router's view of the backend. */
  backendStarted(): void;
  backendExited(reason: string, willRestart: boolean): void;
  backendStopped(): void;
  log: Logger;
  /** Something the status shows moved. */
  changed(): void;
}

/** Why the running child is being ended on purpose. */
type Ending = { kind: "replace" | "unhealthy"; reason: string };

export class Supervisor {
  private pid: number | null = null;
  private startedAt = 0;
  private restartTimer: unknown = null;
  private ending: Ending | null = null;
  /** An operator stopped the server: only `startChild()` brings a child back. */
  private operatorStopped = false;
  private stopping = false;
  /** Why the requests still open when the server stops are failed. */
  private stopReason = "the daemon is shutting down";
  private readonly backoff: Backoff;
  restarts = 0;
  lastRestartReason: string | null = null;
  /** Why there is no healthy child (failed, stopped, backing off); null while one runs. */
  statusReason: string | null = null;

  constructor(
    opts: BackoffOptions,
    private readonly fx: SupervisorEffects,
    private readonly timers: Timers,
  ) {
    this.backoff = new Backoff(opts);
  }

  get childPid(): number | null {
    return this.pid;
  }

  get backingOff(): boolean {
    return this.restartTimer !== null;
  }

  /** Milliseconds the current child has run; null without one. */
  uptimeMs(): number | null {
    return this.pid === null ? null : this.timers.now() - this.startedAt;
  }

  /** A client needs the backend (lazy start), or the server starts eagerly. */
  want(): void {
    if (!this.operatorStopped) this.spawn();
  }

  private spawn(): void {
    if (this.pid !== null || this.stopping || this.restartTimer !== null) return;
    this.startedAt = this.timers.now();
    const r = this.fx.spawn();
    if ("pending" in r) return;
    if ("error" in r) {
      this.fx.log("error", r.error);
      return this.afterRun(r.error);
    }
    this.pid = r.pid;
    this.statusReason = null;
    this.fx.backendStarted();
    this.fx.changed();
  }

  /** The child ended (for whatever reason; `reason` is how: an exit code or a signal). */
  childExited(reason: string): void {
    const pid = this.pid;
    this.pid = null;
    const ending = this.ending;
    this.ending = null;
    if (this.stopping) return this.fx.backendExited(this.stopReason, false);
    if (this.operatorStopped) {
      // The router already refuses new requests, but what the process held will never be answered
      // now: fail it at once (as for any exit), then stay stopped.
      this.fx.backendExited("stopped by an operator", false);
      this.fx.backendStopped();
      return;
    }
    if (ending?.kind === "replace") {
      this.fx.backendExited(ending.reason, true);
      this.noteRestart(ending.reason);
      this.spawn();
      return this.fx.changed();
    }
    const why = ending?.kind === "unhealthy" ? ending.reason : reason;
    this.fx.log("warn", `pid ${pid} ended: ${why}`);
    this.afterRun(why);
  }

  /** A run ended on its own (or never started): back off, or give up after max_restarts. */
  private afterRun(reason: string): void {
    const delay = this.backoff.runEnded(this.timers.now() - this.startedAt);
    if (delay === undefined) {
      const why = `${reason}; gave up after ${this.backoff.consecutiveFailures} failed runs (max_restarts=${this.backoff.maxRestarts})`;
      this.fx.log("error", why);
      this.statusReason = why;
      this.fx.backendExited(why, false);
      return this.fx.changed();
    }
    this.statusReason = `${reason}; restarting in ${delay} ms`;
    this.fx.backendExited(reason, true);
    this.fx.log("info", `restarting in ${delay} ms`);
    this.restartTimer = this.timers.setTimer(delay, () => {
      this.restartTimer = null;
      this.noteRestart(reason);
      this.spawn();
    });
    this.fx.changed();
  }

  private noteRestart(reason: string): void {
    this.restarts++;
    this.lastRestartReason = reason;
  }

  private cancelRestart(): void {
    if (this.restartTimer !== null) this.timers.clearTimer(this.restartTimer);
    this.restartTimer = null;
  }

  /**
   * End a child that is alive but useless (heartbeat silence, an initialize that never came back).
   * Unlike an operator's restart this is a failed run: it backs off and counts towards max_restarts,
   * so a server that always hangs ends up failed instead of being replaced forever.
   */
  async replaceUnhealthy(reason: string): Promise<void> {
    if (this.pid === null || this.stopping || this.operatorStopped || this.ending !== null) return;
    this.ending = { kind: "unhealthy", reason };
    await this.fx.endChild();
  }

  /** Replace the child now (an operator's restart). Clients stay connected. */
  async restart(reason: string): Promise<void> {
    if (this.stopping) return;
    this.cancelRestart();
    this.backoff.reset();
    this.operatorStopped = false;
    if (this.pid === null) {
      this.noteRestart(reason);
      return this.spawn();
    }
    this.ending = { kind: "replace", reason };
    await this.fx.endChild();
  }

  /** Operator stop: the child ends, the socket stays, clients get an error until `startChild()`. */
  async stopChild(): Promise<void> {
    if (this.stopping) return;
    this.operatorStopped = true;
    this.cancelRestart();
    this.statusReason = "stopped by an operator";
    this.fx.backendStopped();
    this.fx.changed();
    if (this.pid !== null) await this.fx.endChild();
    this.fx.changed();
  }

  /** Operator start: after a stop or a failure, try again with a fresh backoff. */
  startChild(): void {
    if (this.stopping || this.pid !== null) return;
    this.operatorStopped = false;
    this.cancelRestart();
    this.backoff.reset();
    this.spawn();
  }

  /** The server is stopping: no more children; what is open fails with `reason`. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopReason = reason;
    this.cancelRestart();
    this.fx.backendExited(reason, false);
    if (this.pid !== null) await this.fx.endChild();
  }

  get isStopping(): boolean {
    return this.stopping;
  }
}
