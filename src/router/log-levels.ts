/**
 * `logging/setLevel` is per session in MCP, but the backend has one session: the mux keeps each
 * client's level, asks the backend for the most verbose one, and filters `notifications/message`
 * per client so nobody receives what they did not ask for.
 */
export const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type LogLevel = (typeof LEVELS)[number];

export function levelRank(level: unknown): number {
  return typeof level === "string" ? LEVELS.indexOf(level as LogLevel) : -1;
}

export class LogLevels {
  private readonly byClient = new Map<number, number>();
  /** The level last sent to the backend, as a rank; -1 when none was sent. */
  private sent = -1;

  set(cid: number, rank: number): void {
    this.byClient.set(cid, rank);
  }

  remove(cid: number): void {
    this.byClient.delete(cid);
  }

  /** Clients with a level of their own. */
  get size(): number {
    return this.byClient.size;
  }

  /** True when a client at `rank` should see a message of `messageRank`. No level set: it sees all. */
  admits(cid: number, messageRank: number): boolean {
    const r = this.byClient.get(cid);
    return r === undefined || messageRank < 0 || messageRank >= r;
  }

  /** The level the backend should now run at, or undefined when it is already there (or nobody asked). */
  wanted(): LogLevel | undefined {
    let min = Infinity;
    for (const r of this.byClient.values()) if (r < min) min = r;
    if (min === Infinity || min === this.sent) return undefined;
    this.sent = min;
    return LEVELS[min];
  }

  /** A new backend process starts at its own default: forget what the old one was told. */
  backendReset(): void {
    this.sent = -1;
  }
}
