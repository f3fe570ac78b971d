/**
 * What leaves for the backend under a mux id: a client's request (its id spliced, or the message written
 * again when a progress token must change), the plain request on the fast path, and the mux's own requests.
 * Each opens an entry in the pending table (pending.ts) that the answer, a cancel or the clock closes.
 *
 * Backend ids come from one counter for clients and the mux alike, so no client id can collide with a
 * mux request. Scratch spans are this file's own: a nested call never overwrites its caller's.
 */
import { NULL_ID, requestLine, type JsonId } from "../wire/jsonrpc.ts";
import { emptyRequestSpans } from "../wire/plain-request.ts";
import { emptySpans, quickRequestId, scanTopLevel, splice } from "../wire/scan.ts";
import type { RouterContext } from "./context.ts";
import type { Families } from "./dispatch.ts";
import { append, type PendingTable, unlink } from "./pending.ts";
import { plainKey } from "./plain-path.ts";
import { Kind, type Pending, type Session } from "./session.ts";

type Msg = Record<string, unknown>;

export class Outbound {
  private nextBackendId = 1;
  private readonly spans = emptySpans();
  private readonly plain = emptyRequestSpans();

  constructor(
    private readonly ctx: RouterContext,
    private readonly pending: PendingTable<Pending>,
    /** The families, built after this (they send through it). */
    private readonly f: () => Families,
    /** Request methods with a rule of their own: the fast path compares with these, in place. */
    private readonly ownRules: () => readonly string[],
  ) {}

  /** A client's request, opened at the backend under a fresh id; `kind` says what its answer needs. */
  forward(c: Session, msg: Msg, line: string, deadline: number, kind: Kind): number {
    const bid = this.nextBackendId++;
    const s = this.spans;
    const id = msg.id as JsonId;
    if (!quickRequestId(line, s, id)) scanTopLevel(line, s);
    const rawId = line.slice(s.idStart, s.idEnd);
    let token = 0;
    let out: string;
    const f = this.f();
    const meta = (msg.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
    if (meta !== undefined && meta !== null && meta.progressToken !== undefined) {
      token = f.cancelProgress.claim(c.id, meta.progressToken);
      meta.progressToken = token;
      f.meta.stampParsed(c.id, msg);
      out = JSON.stringify({ ...msg, id: bid });
    } else {
      out = f.meta.stamp(c.id, splice(line, s.idStart, s.idEnd, String(bid)));
    }
    this.track(c, bid, kind, id, rawId, deadline, token);
    this.ctx.toBackend(out);
    return bid;
  }

  /** The common request forwarded unparsed: no escapes, a plain integer or string id, a method with no rule of its own. */
  plainRequest(c: Session, line: string): boolean {
    const s = this.plain;
    const key = plainKey(line, s, this.ownRules());
    if (key === null) return false;
    const bid = this.nextBackendId++;
    const deadline = this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs;
    this.track(c, bid, Kind.Client, key, line.slice(s.idStart, s.idEnd), deadline, 0);
    this.ctx.toBackend(this.f().meta.stamp(c.id, splice(line, s.idStart, s.idEnd, String(bid))));
    return true;
  }

  /** A client request is now open at the backend as `bid`. */
  private track(c: Session, bid: number, kind: Kind, key: JsonId, rawId: string, deadline: number, token: number): void {
    if (this.pending.size === 0) this.ctx.arm();
    const p: Pending = { bid, kind, client: c, rawId, key, deadline, token, prev: null, next: null };
    this.pending.add(p);
    append(c, p);
  }

  /** Closes an open request without an answer (cancelled or timed out); safe to call twice. */
  drop(p: Pending): void {
    this.pending.take(p.bid);
    if (p.client !== null) unlink(p.client, p);
    if (p.token !== 0) this.f().cancelProgress.release(p.token);
  }

  /** A mux-owned request (its answer is not for any client); returns its backend id. */
  internal(method: string, params: unknown, kind: Kind = Kind.Internal): number {
    const bid = this.nextBackendId++;
    if (this.pending.size === 0) this.ctx.arm();
    // The mux's own listen lasts as long as the backend does.
    const deadline = kind === Kind.MuxListen ? Infinity : this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs;
    this.pending.add({ bid, kind, client: null, rawId: NULL_ID, key: 0, deadline, token: 0, prev: null, next: null });
    this.ctx.toBackend(requestLine(bid, method, params));
    return bid;
  }
}
