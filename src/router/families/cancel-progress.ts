/**
 * Cancellation and progress: the two rules that carry a request's id or token inside `params`.
 *
 * - A client's `notifications/cancelled` names its own id: the newest open request with that id is closed
 *   here, the backend is told under the id it knows, and the late answer is dropped. A request still
 *   queued in the mux never reached the backend and is dropped quietly.
 * - The backend's `notifications/cancelled` names one of its own server→client requests (server-requests).
 * - `_meta.progressToken`: clients often reuse their request id as the token, so tokens collide across
 *   clients. Each forwarded request with a token gets a mux-unique one; progress goes to its owner alone,
 *   with the token restored, and never after the request's answer.
 */
import { isValidId, notificationLine } from "../../wire/jsonrpc.ts";
import type { Family, RouterContext } from "../context.ts";
import type { Session } from "../session.ts";
import type { Batches } from "./batch.ts";
import type { ServerRequests } from "./server-requests.ts";

export class CancelProgress implements Family {
  /** Mux token → the client that owns it and the token it used. */
  private readonly tokens = new Map<number, { cid: number; token: unknown }>();
  private nextToken = 1;

  constructor(
    private readonly ctx: RouterContext,
    private readonly batches: Batches,
    private readonly serverRequests: ServerRequests,
  ) {}

  get size(): number {
    return this.tokens.size;
  }

  /** A mux-unique token for the client's own `token`, to put in the forwarded request. */
  claim(cid: number, token: unknown): number {
    const t = this.nextToken++;
    this.tokens.set(t, { cid, token });
    return t;
  }

  release(token: number): void {
    this.tokens.delete(token);
  }

  /** Client `notifications/cancelled`. */
  clientCancelled(c: Session, msg: Record<string, unknown>): void {
    const params = msg.params as { requestId?: unknown; reason?: unknown } | undefined;
    const key = params?.requestId;
    if (!isValidId(key)) return;
    // The newest request with that id, as a client reusing an id means its latest one.
    let p = c.last;
    while (p !== null && p.key !== key) p = p.prev;
    if (p === null) {
      // Still queued here: it never reached the backend, so drop it quietly.
      const dropped = c.queue.filter((q) => q.msg.id === key);
      if (dropped.length === 0) return;
      c.queue = c.queue.filter((q) => q.msg.id !== key);
      if (this.batches.active) for (const q of dropped) this.batches.cancelled(c.id, this.ctx.rawIdOf(q.line));
      return;
    }
    this.ctx.drop(p);
    // A cancelled request is never answered, so a batch holding it must not wait for it.
    if (this.batches.active) this.batches.cancelled(c.id, p.rawId);
    this.ctx.counters.cancelled++;
    if (this.ctx.backendState() === "ready") this.cancelAtBackend(p.bid, typeof params?.reason === "string" ? params.reason : undefined);
  }

  /** Tells the backend to stop working on `bid` (its answer, if any, is dropped as unknown). */
  cancelAtBackend(bid: number, reason?: string): void {
    this.ctx.toBackend(notificationLine("notifications/cancelled", reason === undefined ? { requestId: bid } : { requestId: bid, reason }));
  }

  /** Backend `notifications/cancelled`: one of its requests to a client is void. */
  serverCancelled(line: string): void {
    const params = (JSON.parse(line) as { params?: { requestId?: unknown; reason?: unknown } }).params;
    if (isValidId(params?.requestId)) this.serverRequests.cancelled(params.requestId, params.reason);
  }

  /** Backend `notifications/progress`: to the token's owner, with its own token. */
  serverProgress(line: string): void {
    const msg = JSON.parse(line) as { params?: { progressToken?: unknown } };
    const tok = msg.params?.progressToken;
    const entry = typeof tok === "number" ? this.tokens.get(tok) : undefined;
    if (entry === undefined || msg.params === undefined) return;
    msg.params.progressToken = entry.token;
    this.ctx.emit(entry.cid, JSON.stringify(msg));
  }

  backendGone(): void {
    this.tokens.clear();
  }
}
