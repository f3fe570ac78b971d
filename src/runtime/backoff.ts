/**
 * Restart policy: exponential backoff between failed runs, reset by a run that lasted.
 * `max_restarts` is the number of restarts allowed after consecutive failed runs (0 = unlimited), as in the
 * Rust original: with `max_restarts = N` the server runs N + 1 times before it gives up.
 */
export interface BackoffOptions {
  restart_backoff_ms: number;
  restart_backoff_max_ms: number;
  max_restarts: number;
  stable_run_ms: number;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly o: BackoffOptions) {}

  /**
   * Records the end of a run that lasted `ranMs`. Returns the delay before the next start,
   * or undefined when no more restarts are allowed.
   */
  runEnded(ranMs: number): number | undefined {
    if (ranMs >= this.o.stable_run_ms) this.failures = 0;
    this.failures++;
    if (this.o.max_restarts > 0 && this.failures > this.o.max_restarts) return undefined;
    const delay = this.o.restart_backoff_ms * 2 ** (this.failures - 1);
    return Math.min(delay, this.o.restart_backoff_max_ms);
  }

  get maxRestarts(): number {
    return this.o.max_restarts;
  }

  /** Consecutive failed runs so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}
