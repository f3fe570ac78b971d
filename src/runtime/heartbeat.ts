/**
 * Liveness probe for one backend: a `ping` every interval with a mux-owned id. A ping that is not
 * answered within the timeout is a failure; `maxFailures` in a row and the child is replaced.
 * A slow answer inside the timeout is a success — only silence counts against a server.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  maxFailures: number;
}

/** Sends one ping; calls `done(ok)` once. Returns false when no backend can be pinged now. */
export type Probe = (done: (ok: boolean) => void) => boolean;

export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight = 0;
  private seq = 0;
  failures = 0;
  latencyMs: number | null = null;

  constructor(
    private readonly o: HeartbeatOptions,
    private readonly probe: Probe,
    private readonly onDead: (reason: string) => void,
    private readonly onResult: () => void,
  ) {}

  start(): void {
    if (this.timer === null) this.timer = setInterval(() => this.beat(), this.o.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.inFlight = 0;
  }

  /** A new child: its predecessor's failures are not its own, and it gets a full interval to start up. */
  reset(): void {
    this.failures = 0;
    this.latencyMs = null;
    this.inFlight = 0;
    if (this.timer !== null) {
      this.stop();
      this.start();
    }
  }

  private beat(): void {
    if (this.inFlight !== 0) return;
    const id = ++this.seq;
    const t0 = performance.now();
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled || this.inFlight !== id) return;
      settled = true;
      this.inFlight = 0;
      clearTimeout(timer);
      if (ok) {
        this.failures = 0;
        this.latencyMs = Math.round((performance.now() - t0) * 100) / 100;
      } else if (++this.failures >= this.o.maxFailures) {
        const n = this.failures;
        this.failures = 0;
        this.onDead(`heartbeat: ${n} ping${n === 1 ? "" : "s"} in a row got no answer within ${this.o.timeoutMs} ms`);
      }
      this.onResult();
    };
    this.inFlight = id;
    const timer = setTimeout(() => settle(false), this.o.timeoutMs);
    if (!this.probe(settle)) {
      this.inFlight = 0;
      clearTimeout(timer);
    }
  }
}
