/**
 * Client slots (`max_active_clients`): how many clients may have requests in flight at once.
 *
 * A slot belongs to a busy client, not to a connection: a connected client that waits for its user holds
 * none, so idle sessions never block another. A client takes a slot with its first request that needs one
 * (everything but `initialize`, `ping`, notifications and answers to server requests); it keeps it while
 * anything it asked is open (at the backend, queued for the backend, or a batch still collecting), and
 * gives it up when its last request is answered, cancelled or timed out, or when it leaves.
 *
 * Slots are given back lazily: a holder that went idle keeps its slot (so a client that sends one request
 * after another never pays for a new one) until a client without a slot needs it. When every slot is held
 * by a busy client, the request waits, in order of arrival and bounded per client, and is routed as soon as
 * one frees; if none frees within `request_timeout_ms` it gets an error naming the limit. The connection
 * stays open either way.
 */
import { errorLine, idKey, INTERNAL_ERROR, isValidId, NULL_ID } from "../wire/jsonrpc.ts";
import { emptySpans, methodOf, scanArray, scanTopLevel } from "../wire/scan.ts";
import type { RouterContext } from "./context.ts";
import type { Session, Waiting } from "./session.ts";

/** Requests one client may have waiting for a slot; past it, each further one is refused at once. */
export const WAIT_MAX = 256;

/** What a line of a client without a slot needs. */
const enum Need {
  /** Route it now, always: `ping`, an answer to a server request, or something the router refuses anyway. */
  None,
  /** `initialize` or a notification: no slot, but it keeps its place behind requests of its client that wait. */
  Order,
  /** A request (or a batch): it needs a slot. */
  Slot,
  /** `notifications/cancelled`: it may name a request that is still waiting. */
  Cancel,
}

export class Admission {
  /** Sessions holding a slot (some may have gone idle since: see `reclaim`). */
  private readonly holders = new Set<Session>();
  /** Sessions with requests waiting for a slot, in the order they started waiting. */
  private readonly queue = new Set<Session>();
  private waitingCount = 0;
  private settling = false;
  private readonly spans = emptySpans();

  constructor(
    private readonly ctx: RouterContext,
    /** True while the client has something in flight (the router knows what that covers). */
    private readonly busy: (c: Session) => boolean,
    /** Routes a line that waited (without asking for a slot again). */
    private readonly replay: (cid: number, line: string) => void,
  ) {}

  /** Clients with a request in flight. */
  get active(): number {
    let n = 0;
    for (const c of this.holders) if (this.busy(c)) n++;
    return n;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.waitingCount;
  }

  /**
   * A line of a client that holds no slot. False: route it now (it needs none, or the client just took
   * one). True: the line waits for a slot (or it was a cancellation of a waiting request, now settled).
   */
  hold(c: Session, line: string): boolean {
    const need = this.needOf(line);
    if (need === Need.None) return false;
    const waits = c.waiting.length > 0;
    if (need === Need.Cancel && waits && this.cancelWaiting(c, line)) return true;
    if (need !== Need.Slot) {
      if (!waits) return false;
      // Behind its client's waiting requests, so that (say) an `initialize` cannot change what they mean.
      this.wait(c, line, false);
      return true;
    }
    if (!waits && this.take(c)) return false;
    this.wait(c, line, true);
    return true;
  }

  /** A client left: what it had waiting is forgotten, and its slot goes to whoever waits. */
  release(c: Session): void {
    this.holders.delete(c);
    c.slot = false;
    if (this.queue.delete(c)) for (const w of c.waiting) if (w.request) this.waitingCount--;
    c.waiting = [];
    this.settle();
  }

  /**
   * Gives freed slots to waiting clients, oldest first, and routes what they had waiting. The router calls
   * this after each event that may end a request, whenever something waits.
   */
  settle(): void {
    if (this.settling || this.queue.size === 0) return;
    this.settling = true;
    try {
      for (const c of this.queue) {
        if (!this.take(c)) return;
        this.queue.delete(c);
        const lines = c.waiting;
        c.waiting = [];
        const requests = lines.filter((w) => w.request).length;
        this.waitingCount -= requests;
        this.ctx.log("info", `client ${c.id} got a slot (${requests} request(s) waited)`);
        for (const w of lines) this.replay(c.id, w.line);
      }
    } finally {
      this.settling = false;
    }
  }

  /** Answers the waiting requests that are due; returns the next deadline (Infinity when nothing waits). */
  expire(now: number): number {
    let next = Infinity;
    for (const c of this.queue) {
      for (let w = c.waiting[0]; w !== undefined && (!w.request || w.deadline <= now); w = c.waiting[0]) {
        c.waiting.shift();
        if (!w.request) {
          // It only kept its place behind a request that is gone now.
          this.replay(c.id, w.line);
          continue;
        }
        this.waitingCount--;
        this.refuse(c, w.line, this.timeoutMessage());
      }
      if (c.waiting.length === 0) this.queue.delete(c);
      else next = Math.min(next, (c.waiting[0] as Waiting).deadline);
    }
    return next;
  }

  /** A free slot for `c`, taking back slots of holders that went idle if none is free. */
  private take(c: Session): boolean {
    const max = this.ctx.opts.maxActiveClients;
    if (this.holders.size >= max) this.reclaim();
    if (this.holders.size >= max) return false;
    this.holders.add(c);
    c.slot = true;
    return true;
  }

  private reclaim(): void {
    for (const h of this.holders) {
      if (this.busy(h)) continue;
      this.holders.delete(h);
      h.slot = false;
    }
  }

  private wait(c: Session, line: string, request: boolean): void {
    if (c.waiting.length >= WAIT_MAX) {
      const max = this.ctx.opts.maxActiveClients;
      return this.refuse(c, line, `Too many requests waiting for a client slot (at most ${WAIT_MAX} per client; max_active_clients = ${max})`);
    }
    if (c.waiting.length === 0) {
      this.queue.add(c);
      const max = this.ctx.opts.maxActiveClients;
      this.ctx.log("info", `client ${c.id} waits for a slot: ${this.holders.size} busy client(s) hold all of max_active_clients = ${max}`);
    }
    const deadline = this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs;
    c.waiting.push({ line, deadline, key: request ? this.keyOf(line) : null, request });
    if (request) this.waitingCount++;
    this.ctx.arm();
  }

  private needOf(line: string): Need {
    try {
      return this.scanNeed(line);
    } catch {
      return Need.None; // not JSON the scanner can walk: the router answers it with a parse error
    }
  }

  private scanNeed(line: string): Need {
    const s = this.spans;
    if (!scanTopLevel(line, s)) return line.trimStart().startsWith("[") ? Need.Slot : Need.None;
    // A response (to a server request): a busy client's request may be waiting on it.
    if (s.methodStart < 0) return Need.None;
    const method = methodOf(line, s);
    if (s.idStart < 0) return method === "notifications/cancelled" ? Need.Cancel : Need.Order;
    if (method === "ping") return Need.None;
    return method === "initialize" ? Need.Order : Need.Slot;
  }

  /** The id key of a waiting request (null for a batch: its items are not cancelled one by one here). */
  private keyOf(line: string): string | null {
    try {
      const m = JSON.parse(line) as { id?: unknown };
      return isValidId(m.id) ? idKey(m.id) : null;
    } catch {
      return null;
    }
  }

  /** A cancellation naming a waiting request: the request never reached anyone, so it is dropped quietly. */
  private cancelWaiting(c: Session, line: string): boolean {
    let rid: unknown;
    try {
      rid = (JSON.parse(line) as { params?: { requestId?: unknown } }).params?.requestId;
    } catch {
      return false;
    }
    if (!isValidId(rid)) return false;
    const key = idKey(rid);
    // The newest one with that id, as for requests in flight.
    for (let i = c.waiting.length - 1; i >= 0; i--) {
      if ((c.waiting[i] as Waiting).key !== key) continue;
      c.waiting.splice(i, 1);
      this.waitingCount--;
      this.ctx.counters.cancelled++;
      // What waited only for its place behind it goes out now.
      while (c.waiting.length > 0 && !(c.waiting[0] as Waiting).request) this.replay(c.id, (c.waiting.shift() as Waiting).line);
      if (c.waiting.length === 0) this.queue.delete(c);
      return true;
    }
    return false;
  }

  private timeoutMessage(): string {
    const { maxActiveClients, requestTimeoutMs } = this.ctx.opts;
    return `No client slot freed within ${requestTimeoutMs} ms: ${maxActiveClients} other clients had requests in flight the whole time (max_active_clients = ${maxActiveClients})`;
  }

  /** Answers a request (or each request of a batch) that will not be routed, with the client-limit error. */
  private refuse(c: Session, line: string, message: string): void {
    const extra = { maxActiveClients: this.ctx.opts.maxActiveClients };
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (!Array.isArray(parsed)) {
      if (isValidId((parsed as { id?: unknown }).id)) this.ctx.emit(c.id, errorLine(this.ctx.rawIdOf(line), INTERNAL_ERROR, message, "client_limit", extra));
      return;
    }
    // Only 2025-03-26 has batches: elsewhere the batch is one invalid message, answered once with id null.
    if (c.version !== "2025-03-26") return this.ctx.emit(c.id, errorLine(NULL_ID, INTERNAL_ERROR, message, "client_limit", extra));
    // Each item's id as the client spelled it (the batch's own text), as every answer of the mux gives it back.
    const spans = scanArray(line);
    const errors = parsed.flatMap((m: { id?: unknown; method?: unknown } | null, k: number) => {
      if (m === null || typeof m !== "object" || typeof m.method !== "string" || !isValidId(m.id)) return [];
      const span = spans?.[k];
      const rawId = span !== undefined ? this.ctx.rawIdOf(line.slice(span[0], span[1])) : JSON.stringify(m.id);
      return [errorLine(rawId, INTERNAL_ERROR, message, "client_limit", extra)];
    });
    if (errors.length > 0) this.ctx.emit(c.id, `[${errors.join(",")}]`);
  }
}
