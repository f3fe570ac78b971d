/** Latency recording and the counters every load generator reports. */

/** Growable store of latencies (ms). */
export class Latencies {
  private buf = new Float64Array(4096);
  n = 0;

  push(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }
}

/** Nearest-rank percentile of a sorted array (q in 0..1); NaN when empty. */
export function percentile(sorted: Float64Array | number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1] as number;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return percentile(s, 0.5);
}

/** What one load run counts. Every response is checked against what its request asked for. */
export interface Counts {
  /** requests answered correctly inside the measurement window */
  ok: number;
  /** a response carrying another request's answer (wrong text for that id) */
  misrouted: number;
  /** a response for an id this client never had open (delivered to the wrong client, or twice) */
  stray: number;
  /** no answer before the per-request timeout, or the connection ended first */
  missing: number;
  /** a JSON-RPC error / isError result, or a client connection the other side closed */
  errors: number;
  /** an answer to one of this client's own requests that came after it had been given up on (counted in missing) */
  late: number;
  /** requests sent (warm-up included) */
  sent: number;
}

export const zeroCounts = (): Counts => ({ ok: 0, misrouted: 0, stray: 0, missing: 0, errors: 0, late: 0, sent: 0 });

export interface LoadResult {
  counts: Counts;
  latencies: Latencies;
  /** completed (answered, any outcome) requests whose answer arrived inside the window */
  completedInWindow: number;
  windowMs: number;
  /** the slowest answer of the whole run, warm-up included */
  maxLatencyMs: number;
  /** the first few problems, for the log */
  problems: string[];
}

export function noteProblem(list: string[], text: string): void {
  if (list.length < 8) list.push(text.length > 300 ? `${text.slice(0, 300)}…` : text);
}
