/**
 * Resource subscriptions, reference-counted per URI: the backend sees the first subscribe and the last
 * unsubscribe (also when a client leaves), the rest are answered here, and
 * `notifications/resources/updated` goes only to the URI's subscribers.
 */
import { resultLine } from "../../wire/jsonrpc.ts";
import type { Family, RouterContext } from "../context.ts";
import { Kind, type Session } from "../session.ts";

/** Which clients are subscribed to which URI. Pure. */
export class Subscriptions {
  private readonly byUri = new Map<string, Set<number>>();

  /** Adds the client; true when it is the URI's first subscriber (the backend must be told). */
  add(uri: string, cid: number): boolean {
    let set = this.byUri.get(uri);
    if (set === undefined) {
      set = new Set();
      this.byUri.set(uri, set);
    }
    const first = set.size === 0;
    set.add(cid);
    return first;
  }

  /** Removes the client; true when nobody is left (the backend must be told). */
  remove(uri: string, cid: number): boolean {
    const set = this.byUri.get(uri);
    if (set === undefined || !set.delete(cid)) return false;
    if (set.size > 0) return false;
    this.byUri.delete(uri);
    return true;
  }

  /** Removes a client everywhere; returns the URIs that lost their last subscriber. */
  removeClient(cid: number): string[] {
    const emptied: string[] = [];
    for (const [uri, set] of this.byUri) {
      if (set.delete(cid) && set.size === 0) {
        this.byUri.delete(uri);
        emptied.push(uri);
      }
    }
    return emptied;
  }

  subscribers(uri: string): ReadonlySet<number> | undefined {
    return this.byUri.get(uri);
  }

  uris(): IterableIterator<string> {
    return this.byUri.keys();
  }

  get size(): number {
    return this.byUri.size;
  }
}

export class Resources implements Family {
  readonly subscriptions = new Subscriptions();

  constructor(private readonly ctx: RouterContext) {}

  /** Client `resources/subscribe` and `resources/unsubscribe`. */
  subscription(c: Session, msg: Record<string, unknown>, line: string, deadline: number): void {
    const uri = (msg.params as { uri?: unknown } | undefined)?.uri;
    if (typeof uri !== "string") return void this.ctx.forward(c, msg, line, deadline, Kind.Client); // the backend says what is wrong
    const mustForward = msg.method === "resources/subscribe" ? this.subscriptions.add(uri, c.id) : this.subscriptions.remove(uri, c.id);
    if (mustForward) return void this.ctx.forward(c, msg, line, deadline, Kind.Client);
    this.ctx.emit(c.id, resultLine(this.ctx.rawIdOf(line), "{}"));
  }

  /**
   * A subscription held by a modern client's listen (a negative holder number, never a client id): counted
   * with the others, so the backend is told only about the first and the last.
   */
  hold(uri: string, holder: number): void {
    if (this.subscriptions.add(uri, holder) && this.ctx.backendState() === "ready") this.ctx.internal("resources/subscribe", { uri });
  }

  /** Releases what `hold` took. */
  let(uri: string, holder: number): void {
    if (this.subscriptions.remove(uri, holder) && this.ctx.backendState() === "ready") this.ctx.internal("resources/unsubscribe", { uri });
  }

  /** Backend `notifications/resources/updated`: to the URI's subscribers only (listens are tagged by era/listen.ts). */
  serverUpdated(line: string): void {
    const uri = (JSON.parse(line) as { params?: { uri?: unknown } }).params?.uri;
    const subs = typeof uri === "string" ? this.subscriptions.subscribers(uri) : undefined;
    if (subs !== undefined) for (const cid of subs) if (cid >= 0) this.ctx.emit(cid, line);
  }

  clientGone(c: Session, canTell: boolean): void {
    for (const uri of this.subscriptions.removeClient(c.id)) {
      if (canTell && !this.ctx.modernBackend()) this.ctx.internal("resources/unsubscribe", { uri });
    }
  }

  /** A new process knows no subscriptions: subscribe it to every URI someone still wants (2025 backends). */
  backendReady(): void {
    if (this.ctx.modernBackend()) return;
    for (const uri of this.subscriptions.uris()) this.ctx.internal("resources/subscribe", { uri });
  }
}
