/**
 * Per-request log levels (2026-07-28): a request may carry `_meta["io.modelcontextprotocol/logLevel"]`, and
 * the server may then send `notifications/message` while that request is open. On stdio nothing in the
 * message names its request, so the mux routes by what it knows and never guesses:
 *
 * - a message goes to the one client that has a request open with a log level admitting the message;
 * - when requests of several clients qualify, the message is dropped (logged at debug): sending it to all
 *   of them would show one client's logs to another;
 * - on a 2025 backend, 2025 clients keep the session rules of the logging family, and a modern client's
 *   level also raises the backend's level (the most verbose any client wants).
 */
import type { Family, RouterContext } from "../context.ts";
import { levelRank, type Logging } from "../families/logging.ts";
import type { Session } from "../session.ts";
import { LOG_LEVEL_KEY, metaOf } from "./envelope.ts";

interface Open {
  cid: number;
  rank: number;
}

export class RequestLogs implements Family {
  /** Backend id → the request's client and level, while the request is open (pruned as requests end). */
  private readonly open = new Map<number, Open>();

  constructor(
    private readonly ctx: RouterContext,
    private readonly logging: Logging,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** The level a request asks for, as a rank; -1 when none. */
  levelOf(msg: Record<string, unknown>): number {
    return levelRank(metaOf(msg)?.[LOG_LEVEL_KEY]);
  }

  /** Request `bid` of client `cid` asked for logs at `rank`. */
  note(cid: number, bid: number, rank: number): void {
    if (rank < 0) return;
    if (this.open.size >= 64) this.prune();
    this.open.set(bid, { cid, rank });
    if (!this.ctx.modernBackend()) this.logging.want(cid, rank);
  }

  private prune(): void {
    for (const bid of this.open.keys()) if (this.ctx.pendingOf(bid) === undefined) this.open.delete(bid);
  }

  /** Backend `notifications/message`. */
  serverMessage(line: string): void {
    const rank = levelRank((JSON.parse(line) as { params?: { level?: unknown } }).params?.level);
    if (!this.ctx.modernBackend()) this.logging.serverMessage(line, rank);
    this.prune();
    let target = -1;
    for (const o of this.open.values()) {
      if (rank >= 0 && rank < o.rank) continue;
      if (target >= 0 && target !== o.cid) {
        this.ctx.log("debug", "log message while requests of several clients asked for logs: dropped, it names no request");
        return;
      }
      target = o.cid;
    }
    if (target >= 0) this.ctx.emit(target, line);
  }

  clientGone(c: Session): void {
    for (const [bid, o] of this.open) if (o.cid === c.id) this.open.delete(bid);
  }
}
