/**
 * Resource subscriptions, reference-counted per URI: the backend sees the first subscribe and the last
 * unsubscribe (also when a client leaves), the rest are answered here, and
 * `notifications/resources/updated` goes only to the URI's subscribers.
 *
 * A later subscriber is answered `{}` here only once the backend has accepted that URI: until then each
 * subscribe goes to the backend, and one it refuses leaves its client unsubscribed, so no client is told
 * of a subscription the backend never made.
 *
 * Only for a backend that declares `resources.subscribe`: for one that does not, a local `{}` would fake a
 * capability it lacks, so every request goes to it as it is and its own answer comes back.
 */
import { resultLine } from "../../wire/jsonrpc.ts";
import type { Family, RouterContext } from "../context.ts";
import { Kind, type Pending, type Session } from "../session.ts";

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
    this.accepted.delete(uri);
    return true;
  }

  /** URIs the backend accepted a subscribe for (while someone holds them). */
  private readonly accepted = new Set<string>();

  accept(uri: string): void {
    if (this.byUri.has(uri)) this.accepted.add(uri);
  }

  isAccepted(uri: string): boolean {
    return this.accepted.has(uri);
  }

  /** Removes a client everywhere; returns the URIs that lost their last subscriber. */
  removeClient(cid: number): string[] {
    const emptied: string[] = [];
    for (const [uri, set] of this.byUri) {
      if (set.delete(cid) && set.size === 0) {
        this.byUri.delete(uri);
        this.accepted.delete(uri);
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
  /** The URI of each subscribe open at the backend (weak: a request that ends unanswered leaves nothing). */
  private readonly subscribing = new WeakMap<Pending, string>();

  constructor(
    private readonly ctx: RouterContext,
    /** The backend's server capabilities (from its handshake). */
    private readonly backendCaps: () => Readonly<Record<string, unknown>>,
  ) {}

  /** Client `resources/subscribe` and `resources/unsubscribe`. */
  subscription(c: Session, msg: Record<string, unknown>, line: string, deadline: number): void {
    const uri = (msg.params as { uri?: unknown } | undefined)?.uri;
    const canSubscribe = (this.backendCaps().resources as { subscribe?: unknown } | undefined)?.subscribe === true;
    if (typeof uri !== "string" || !canSubscribe) return void this.ctx.forward(c, msg, line, deadline, Kind.Client); // the backend answers for itself
    if (msg.method === "resources/subscribe") {
      const first = this.subscriptions.add(uri, c.id);
      if (first || !this.subscriptions.isAccepted(uri)) {
        this.ctx.forward(c, msg, line, deadline, Kind.Subscribes);
        // forward() has just appended the request to this client's chain
        if (c.last !== null) this.subscribing.set(c.last, uri);
        return;
      }
    } else if (this.subscriptions.remove(uri, c.id)) {
      return void this.ctx.forward(c, msg, line, deadline, Kind.Client);
    }
    this.ctx.emit(c.id, resultLine(this.ctx.rawIdOf(line), "{}"));
  }

  /** The backend answered a client's subscribe: accepted, or its client is not subscribed after all. */
  answered(p: Pending, ok: boolean): void {
    const uri = this.subscribing.get(p);
    if (uri === undefined || p.client === null) return;
    this.subscribing.delete(p);
    if (ok) this.subscriptions.accept(uri);
    else this.subscriptions.remove(uri, p.client.id);
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
