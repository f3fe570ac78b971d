/**
 * JSON-RPC batches (allowed by MCP 2025-03-26 only): the mux splits a batch, forwards each message
 * singly, and collects the answers so the client gets one array back, as it would from the server.
 */
import { errorLine, INVALID_REQUEST, isValidId, NULL_ID } from "../../wire/jsonrpc.ts";
import { emptySpans, scanArray, scanTopLevel } from "../../wire/scan.ts";
import type { Family } from "../context.ts";
import type { Session } from "../session.ts";
import { supports } from "../versions.ts";

export class Batch {
  /** Raw id text of each request still waiting for its answer. */
  readonly open = new Set<string>();
  readonly answers: string[] = [];
  /** Every item has been dispatched: only now may the array go out. */
  sealed = false;

  /** Takes an answer if it belongs here; returns true when it did. */
  take(rawId: string, line: string): boolean {
    if (!this.open.delete(rawId)) return false;
    this.answers.push(line);
    return true;
  }

  get complete(): boolean {
    return this.open.size === 0;
  }

  /** The array to send; undefined when the batch held only notifications (JSON-RPC: no reply). */
  reply(): string | undefined {
    return this.answers.length === 0 ? undefined : `[${this.answers.join(",")}]`;
  }
}

/** What the router lends the batch table. */
export interface BatchPeer {
  /** Deliver to the client directly (a finished batch's array). */
  send(cid: number, line: string): void;
  /** Answer the client the usual way (a refused batch). */
  reply(cid: number, line: string): void;
  /** The raw id text of one message. */
  rawIdOf(line: string): string;
  /** Route one item as if it had arrived alone. */
  dispatch(cid: number, msg: Record<string, unknown>, line: string): void;
}

/** Every client's open batches, and the collection of their answers. */
export class Batches implements Family {
  private readonly byClient = new Map<number, Batch[]>();
  /** The batch whose items are being dispatched right now, if any. */
  private current: { cid: number; batch: Batch } | null = null;
  private readonly spans = emptySpans();

  constructor(private readonly peer: BatchPeer) {}

  /** True when any client has a batch open: the common case skips `collect` entirely. */
  get active(): boolean {
    return this.byClient.size > 0;
  }

  /** Clients with a batch open. */
  get size(): number {
    return this.byClient.size;
  }

  has(cid: number): boolean {
    return this.byClient.has(cid);
  }

  /** A client's JSON array: refused outside 2025-03-26 and when empty, else split and dispatched. */
  receive(c: Session, items: unknown[], line: string): void {
    if (!supports(c.version, "batches")) {
      const why = `JSON-RPC batches are only allowed in protocol 2025-03-26 (this session uses ${c.version || "none yet"})`;
      return this.peer.reply(c.id, errorLine(NULL_ID, INVALID_REQUEST, `Invalid Request: ${why}`, "batch_not_supported"));
    }
    if (items.length === 0) return this.peer.reply(c.id, errorLine(NULL_ID, INVALID_REQUEST, "Invalid Request: an empty batch", "invalid_request"));
    this.split(c.id, items, line);
  }

  private split(cid: number, items: unknown[], line: string): void {
    // Each item travels as its own original text, so its id comes back digit for digit.
    const spans = scanArray(line);
    const texts = items.map((item, k) => {
      const span = spans?.[k];
      return span !== undefined ? line.slice(span[0], span[1]) : JSON.stringify(item);
    });
    const batch = new Batch();
    const list = this.byClient.get(cid) ?? [];
    list.push(batch);
    this.byClient.set(cid, list);
    items.forEach((item, k) => {
      const m = item as Record<string, unknown> | null;
      if (typeof m === "object" && m !== null && typeof m.method === "string" && isValidId(m.id) && m.method !== "initialize") {
        batch.open.add(this.peer.rawIdOf(texts[k] as string));
      }
    });
    // Answers the mux makes while the items are dispatched (errors, local answers) belong in the array too.
    this.current = { cid, batch };
    try {
      items.forEach((item, k) => {
        const m = item as Record<string, unknown> | null;
        if (typeof m !== "object" || m === null || Array.isArray(m)) {
          batch.answers.push(errorLine(NULL_ID, INVALID_REQUEST, "Invalid Request: a batch item must be an object", "invalid_request"));
        } else if (m.method === "initialize") {
          const rawId = isValidId(m.id) ? this.peer.rawIdOf(texts[k] as string) : NULL_ID;
          batch.answers.push(errorLine(rawId, INVALID_REQUEST, "Invalid Request: initialize cannot be batched", "invalid_request"));
        } else {
          this.peer.dispatch(cid, m, texts[k] as string);
        }
      });
    } finally {
      this.current = null;
    }
    batch.sealed = true;
    if (batch.complete) this.finish(cid, batch);
  }

  /** A line bound for `cid`: true when one of its batches took it (then it must not be sent alone). */
  collect(cid: number, line: string): boolean {
    const list = this.byClient.get(cid);
    if (list === undefined) return false;
    const s = this.spans;
    if (!scanTopLevel(line, s) || s.methodStart >= 0 || s.idStart < 0) return false;
    const rawId = line.slice(s.idStart, s.idEnd);
    for (const b of list) {
      if (!b.take(rawId, line)) continue;
      if (b.complete && b.sealed) this.finish(cid, b);
      return true;
    }
    if (this.current !== null && this.current.cid === cid) {
      this.current.batch.answers.push(line);
      return true;
    }
    return false;
  }

  /**
   * The client cancelled `rawId`: no answer will come for it (the mux drops the late one), so its batch
   * must stop waiting for it, and goes out now if that was its last open request.
   */
  cancelled(cid: number, rawId: string): void {
    const list = this.byClient.get(cid);
    if (list === undefined) return;
    for (const b of list) {
      if (!b.open.delete(rawId)) continue;
      if (b.complete && b.sealed) this.finish(cid, b);
      return;
    }
  }

  clientGone(c: Session): void {
    this.byClient.delete(c.id);
  }

  private finish(cid: number, batch: Batch): void {
    const list = this.byClient.get(cid);
    if (list === undefined) return;
    const i = list.indexOf(batch);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byClient.delete(cid);
    const reply = batch.reply();
    if (reply !== undefined) this.peer.send(cid, reply);
  }
}
