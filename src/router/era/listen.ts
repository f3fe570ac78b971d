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
  return JSON.stringify(msg).replace(JSON.stringify(SENTINEL), rawId);
}

const LIST_FLAGS: Record<string, keyof Filter> = {
  "notifications/tools/list_changed": "toolsListChanged",
  "notifications/prompts/list_changed": "promptsListChanged",
  "notifications/resources/list_changed": "resourcesListChanged",
};

export class Listen implements Family {
  private readonly bridged = new Map<number, Bridged[]>();
  private nextHolder = -1;

  constructor(
    private readonly ctx: RouterContext,
    private readonly resources: Resources,
    private readonly capabilities: () => Obj,
  ) {}

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
    const list = this.bridged.get(c.id);
    if (list === undefined) return;
    this.bridged.delete(c.id);
    for (const b of list) this.release(b);
  }
}
