/**
 * `subscriptions/listen` (2026-07-28): a long-lived request whose notifications carry its id in
 * `_meta["io.modelcontextprotocol/subscriptionId"]`.
 *
 * - **Modern backend.** The listen is forwarded like any request, under a fresh backend id, and never
 *   times out. Each notification the backend tags with that id goes to the listen's client only, with the
 *   client's own id put back; so does the listen's closing result. A client that leaves has every open
 *   request cancelled at the backend, its listens included.
 * - **2025 backend (the bridge).** The mux answers the listen itself: it acknowledges the part of the
 *   filter the backend can honour, turns each resource URI into a reference-counted `resources/subscribe`
 *   (shared with 2025 clients' own subscriptions), and tags the backend's `list_changed` and
 *   `resources/updated` notifications for each listen that asked for them.
 * - **2025 clients, modern backend (the reverse bridge).** `resources/subscribe` is counted per URI as for a
 *   2025 backend; the first subscriber makes the mux open its own listen for that URI, the last one leaving
 *   cancels it. One more listen of the mux's, for `list_changed` of tools, prompts and resources, is open
 *   while the backend runs. What arrives on these goes to the 2025 clients, untagged, by the 2025 rules.
 */
import type { Family, RouterContext } from "../context.ts";
import type { Resources } from "../families/resources.ts";
import { Kind, Phase, type Session } from "../session.ts";
import { SUBSCRIPTION_ID_KEY } from "./envelope.ts";

type Obj = Record<string, unknown>;

interface Filter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/** A listen the mux answers itself (2025 backend). */
interface Bridged {
  /** The listen's id as the client wrote it (the subscription id), and parsed (what a cancel names). */
  rawId: string;
  key: unknown;
  filter: Filter;
  /** Its holder number in the URI reference counts (negative: never a client id). */
  holder: number;
}

const SENTINEL = "\u0000rmcp-mux-subscription\u0000";

/** `line` with the subscription id inside `_meta` replaced by `rawId`, byte for byte. */
export function retagged(msg: Obj, meta: Obj, rawId: string): string {
  meta[SUBSCRIPTION_ID_KEY] = SENTINEL;
  // A function, not a string: `$'`, `$&` and `$$` in an id are replacement patterns for String.replace.
  return JSON.stringify(msg).replace(JSON.stringify(SENTINEL), () => rawId);
}

const LIST_FLAGS: Record<string, keyof Filter> = {
  "notifications/tools/list_changed": "toolsListChanged",
  "notifications/prompts/list_changed": "promptsListChanged",
  "notifications/resources/list_changed": "resourcesListChanged",
};

export class Listen implements Family {
  private readonly bridged = new Map<number, Bridged[]>();
  private nextHolder = -1;
  /** The mux's own listens at a modern backend: URI → backend id. */
  private readonly muxListens = new Map<string, number>();

  constructor(
    private readonly ctx: RouterContext,
    private readonly resources: Resources,
    private readonly capabilities: () => Obj,
    /** The `_meta` envelope of the mux's own requests. */
    private readonly envelope: () => Obj,
  ) {}

  /** True while `c` is owed an answer: an open listen is not owed one (it ends only when someone ends it). */
  owes(c: Session): boolean {
    for (let p = c.first; p !== null; p = p.next) if (p.kind !== Kind.Listen) return true;
    return false;
  }

  /** Client `resources/subscribe` and `resources/unsubscribe`: counted per URI; at a modern backend, as listens. */
  subscription(c: Session, msg: Obj, line: string, deadline: number): void {
    const uri = (msg.params as { uri?: unknown } | undefined)?.uri;
    if (!this.ctx.modernBackend() || typeof uri !== "string") return this.resources.subscription(c, msg, line, deadline);
    const subs = this.resources.subscriptions;
    if (msg.method === "resources/subscribe") {
      if (subs.add(uri, c.id)) this.open(uri);
    } else if (subs.remove(uri, c.id)) this.close(uri);
    this.ctx.emit(c.id, `{"jsonrpc":"2.0","id":${this.ctx.rawIdOf(line)},"result":{}}`);
  }

  private open(uri: string): void {
    const params = { _meta: this.envelope(), notifications: { resourceSubscriptions: [uri] } };
    this.muxListens.set(uri, this.ctx.internal("subscriptions/listen", params, Kind.MuxListen));
  }

  private close(uri: string): void {
    const bid = this.muxListens.get(uri);
    this.muxListens.delete(uri);
    const p = bid === undefined ? undefined : this.ctx.pendingOf(bid);
    if (p === undefined) return;
    this.ctx.drop(p);
    this.ctx.toBackend(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":${p.bid},"_meta":${JSON.stringify(this.envelope())}}}`);
  }

  /** A modern backend is ready: the mux's listens are opened on it (again, after a restart). */
  backendReady(): void {
    this.muxListens.clear();
    if (!this.ctx.modernBackend()) return;
    const lists = { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true };
    this.muxListens.set("", this.ctx.internal("subscriptions/listen", { _meta: this.envelope(), notifications: lists }, Kind.MuxListen));
    for (const uri of this.resources.subscriptions.uris()) this.open(uri);
  }

  /** Bridged listens open (for leak checks). */
  get size(): number {
    let n = 0;
    for (const l of this.bridged.values()) n += l.length;
    return n;
  }

  /** Client `subscriptions/listen`. */
  listen(c: Session, msg: Obj, line: string, deadline: number): void {
    if (this.ctx.modernBackend()) {
      // A stream stays open until someone ends it: no deadline.
      this.ctx.forward(c, msg, line, c.era === "modern" ? Infinity : deadline, c.era === "modern" ? Kind.Listen : Kind.Client);
      return;
    }
    const rawId = this.ctx.rawIdOf(line);
    const asked = ((msg.params as Obj | undefined)?.notifications ?? {}) as Filter;
    const caps = this.capabilities();
    const flag = (cap: string, what: "listChanged" | "subscribe") => (caps[cap] as Obj | undefined)?.[what] === true;
    const filter: Filter = {};
    if (asked.toolsListChanged === true && flag("tools", "listChanged")) filter.toolsListChanged = true;
    if (asked.promptsListChanged === true && flag("prompts", "listChanged")) filter.promptsListChanged = true;
    if (asked.resourcesListChanged === true && flag("resources", "listChanged")) filter.resourcesListChanged = true;
    if (Array.isArray(asked.resourceSubscriptions) && flag("resources", "subscribe")) {
      filter.resourceSubscriptions = asked.resourceSubscriptions.filter((u): u is string => typeof u === "string");
    }
    const b: Bridged = { rawId, key: msg.id, filter, holder: this.nextHolder-- };
    let list = this.bridged.get(c.id);
    if (list === undefined) this.bridged.set(c.id, (list = []));
    list.push(b);
    const tag = `"_meta":{${JSON.stringify(SUBSCRIPTION_ID_KEY)}:${rawId}}`;
    const ack = `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"notifications":${JSON.stringify(filter)},${tag}}}`;
    this.ctx.emit(c.id, ack);
    for (const uri of filter.resourceSubscriptions ?? []) this.resources.hold(uri, b.holder);
  }

  /** A client's `notifications/cancelled`: true when it ended one of its bridged listens. */
  cancelled(c: Session, msg: Obj): boolean {
    const list = this.bridged.get(c.id);
    if (list === undefined) return false;
    const key = (msg.params as { requestId?: unknown } | undefined)?.requestId;
    const i = list.findIndex((b) => b.key === key);
    if (i < 0) return false;
    this.release(list.splice(i, 1)[0] as Bridged);
    if (list.length === 0) this.bridged.delete(c.id);
    return true;
  }

  private release(b: Bridged): void {
    for (const uri of b.filter.resourceSubscriptions ?? []) this.resources.let(uri, b.holder);
  }

  /**
   * A backend notification that may belong to a listen. A tagged one (modern backend) goes to its
   * listen's client only; an untagged one (2025 backend) goes to the 2025 clients as before, and to each
   * bridged listen that asked for it.
   */
  serverNotification(method: string, line: string): void {
    const msg = JSON.parse(line) as Obj;
    const params = msg.params as Obj | undefined;
    const meta = params?._meta as Obj | undefined;
    const tag = meta?.[SUBSCRIPTION_ID_KEY];
    if (typeof tag === "number") {
      const p = this.ctx.pendingOf(tag);
      if (p?.client != null && p.kind === Kind.Listen) this.ctx.emit(p.client.id, retagged(msg, meta as Obj, p.rawId));
      else if (p?.kind === Kind.MuxListen) this.toLegacyClients(method, msg, meta as Obj);
      else this.ctx.log("debug", `backend notification for unknown subscription ${tag}, dropped`);
      return;
    }
    if (method === "notifications/subscriptions/acknowledged") return;
    if (method === "notifications/resources/updated") this.resources.serverUpdated(line);
    else for (const c of this.ctx.sessions.values()) if (c.phase === Phase.Ready && c.era === "legacy") this.ctx.emit(c.id, line);
    const uri = params?.uri;
    const flag = LIST_FLAGS[method];
    for (const [cid, list] of this.bridged) {
      for (const b of list) {
        const wants = flag !== undefined ? b.filter[flag] === true : typeof uri === "string" && (b.filter.resourceSubscriptions ?? []).includes(uri);
        if (!wants) continue;
        const copy = { ...msg, params: { ...params, _meta: { ...(meta ?? {}) } } };
        this.ctx.emit(cid, retagged(copy, (copy.params as Obj)._meta as Obj, b.rawId));
      }
    }
  }

  /** A notification on one of the mux's own listens: to the 2025 clients, untagged, by the 2025 rules. */
  private toLegacyClients(method: string, msg: Obj, meta: Obj): void {
    if (method === "notifications/subscriptions/acknowledged") return;
    delete meta[SUBSCRIPTION_ID_KEY];
    const line = JSON.stringify(msg);
    if (method === "notifications/resources/updated") return this.resources.serverUpdated(line);
    for (const c of this.ctx.sessions.values()) if (c.phase === Phase.Ready && c.era === "legacy") this.ctx.emit(c.id, line);
  }

  /** A modern listen's closing result: the subscription id inside it becomes the client's id again. */
  answer(rawId: string, resultText: string): string {
    try {
      const result = JSON.parse(resultText) as Obj;
      const meta = result._meta as Obj | undefined;
      if (meta === undefined || meta[SUBSCRIPTION_ID_KEY] === undefined) return resultText;
      return retagged(result, meta, rawId);
    } catch {
      return resultText;
    }
  }

  clientGone(c: Session): void {
    // The mux's listens nobody holds any more (resources forgot the client first).
    for (const uri of [...this.muxListens.keys()]) if (uri !== "" && this.resources.subscriptions.subscribers(uri) === undefined) this.close(uri);
    const list = this.bridged.get(c.id);
    if (list === undefined) return;
    this.bridged.delete(c.id);
    for (const b of list) this.release(b);
  }
}
