/**
 * Where the eras meet: each client's era, `server/discover`, and how a request and its answer cross from
 * one era to the other.
 *
 * - **A client's era** is shown by its first message: `server/discover`, or any request whose `_meta`
 *   claims a modern version, makes it modern (no handshake: it is ready at once); anything else is 2025.
 * - **`server/discover`** is answered at once: from the backend's cached description, or, on a cold
 *   backend, as soon as the backend's handshake showed its era (the backend is started and greeted with
 *   `initialize` first; see lifecycle). A modern backend's result scoped `private` is not reused: each
 *   client's discover then goes to the backend.
 * - **Same era** on both sides: requests pass with only their id rewritten, `_meta` untouched.
 * - **Modern client, 2025 backend:** results get `resultType`, and cacheable ones `ttlMs`/`cacheScope`.
 * - **2025 client, modern backend:** each request gets the client's `_meta` envelope, built from its
 *   `initialize` (with its log level, when it set one); results lose the modern-only fields.
 */
import { lineWithId } from "../../wire/jsonrpc.ts";
import { splice, type Spans } from "../../wire/scan.ts";
import type { Family, RouterContext } from "../context.ts";
import type { Lifecycle } from "../families/lifecycle.ts";
import type { Logging } from "../families/logging.ts";
import type { Tasks } from "../families/tasks.ts";
import { Kind, Phase, type Capability, type Pending, type Session } from "../session.ts";
import {
  claimedVersion,
  CLIENT_CAPABILITIES_KEY,
  envelopeFromInitialize,
  LOG_LEVEL_KEY,
  metaOf,
  MODERN_VERSION,
  shapeForLegacy,
  shapeForModern,
  withEnvelope,
} from "./envelope.ts";
import type { InputRounds } from "./input-rounds.ts";
import type { Listen } from "./listen.ts";
import type { RequestLogs } from "./request-logs.ts";

type Obj = Record<string, unknown>;

const LEVEL_NAMES = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

export class Eras implements Family {
  /** Each 2025 client's `initialize` parameters, for the envelope a modern backend needs. */
  private readonly initParams = new Map<number, Obj>();

  constructor(
    private readonly ctx: RouterContext,
    private readonly lifecycle: Lifecycle,
    private readonly logging: Logging,
    private readonly tasks: Tasks,
    readonly listen: Listen,
    readonly logs: RequestLogs,
    readonly rounds: InputRounds,
  ) {}

  /** Entries of the per-client era tables (for leak checks). */
  get size(): number {
    return this.initParams.size + this.listen.size + this.logs.size + this.rounds.size;
  }

  /** The first message of a client shows its era. */
  classify(c: Session, msg: Obj): void {
    c.classified = true;
    const version = claimedVersion(msg);
    if (version === undefined && msg.method !== "server/discover") return;
    c.era = "modern";
    // A discover may carry no claim: the era's one version until a request names its own.
    c.version = version ?? MODERN_VERSION;
    c.phase = Phase.Ready;
    this.lifecycle.want();
  }

  /** A 2025 client's `initialize` parameters (kept for its envelope). */
  noteInitialize(c: Session, msg: Obj): void {
    this.initParams.set(c.id, (msg.params ?? {}) as Obj);
  }

  /** Client `server/discover`: answered at once, or queued until the backend's era is known. */
  discover(c: Session, msg: Obj, line: string, deadline: number): void {
    const lc = this.lifecycle;
    if (lc.final) return this.ctx.emit(c.id, lc.unavailable(this.ctx.rawIdOf(line)));
    if (lc.state !== "ready") {
      lc.want();
      if (c.queue.length === 0) this.ctx.arm();
      c.queue.push({ msg, line, deadline });
      return;
    }
    if (lc.discoverText !== null) return this.ctx.emit(c.id, `{"jsonrpc":"2.0","id":${this.ctx.rawIdOf(line)},"result":${lc.discoverText}}`);
    this.ctx.forward(c, msg, line, deadline, Kind.Client);
  }

  /** A client request with no rule of its own, once the backend is ready: forwarded for its era. */
  request(c: Session, msg: Obj, line: string, deadline: number): void {
    const modernBackend = this.ctx.modernBackend();
    if (c.era === "modern") {
      const caps = metaOf(msg)?.[CLIENT_CAPABILITIES_KEY];
      c.version = claimedVersion(msg) ?? c.version;
      if (typeof caps === "object" && caps !== null) {
        const has = (k: Capability) => (caps as Obj)[k] != null;
        c.caps = { roots: has("roots"), sampling: has("sampling"), elicitation: has("elicitation") };
      }
      if (!modernBackend && this.rounds.retry(c, msg, line, deadline)) return;
    }
    let logRank = this.logs.levelOf(msg);
    let bid: number;
    if (c.era === "modern" && !modernBackend) {
      const kind = CACHEABLE.has(msg.method as string) ? Kind.ToModernCacheable : Kind.ToModern;
      bid = this.ctx.forward(c, msg, line, deadline, kind);
    } else if (c.era === "legacy" && modernBackend) {
      const envelope = envelopeFromInitialize(this.initParams.get(c.id) ?? null, this.ctx.opts.clientInfo ?? { name: "rmcp-mux", version: "0" });
      const own = this.logging.levels.of(c.id);
      if (own !== undefined) {
        envelope[LOG_LEVEL_KEY] = LEVEL_NAMES[own];
        logRank = own;
      }
      msg = withEnvelope(msg, envelope);
      bid = this.ctx.forward(c, msg, lineWithId(msg, this.ctx.rawIdOf(line)), deadline, Kind.ToLegacy);
    } else bid = this.tasks.forward(c, msg, line, deadline); // the same era on both sides
    this.logs.note(c.id, bid, logRank);
    this.rounds.opened(c, bid, msg);
  }

  /** The answer to a request of a `kind` that needs more than its id swapped back; "" when nothing goes out yet. */
  answer(p: Pending, cid: number, line: string, s: Spans): string {
    // A call answered with input_required and not retried yet: its answer waits for the retry.
    if (this.rounds.hold(p, line)) return "";
    if (s.resultStart < 0) return s.errorStart < 0 ? splice(line, s.idStart, s.idEnd, p.rawId) : `{"jsonrpc":"2.0","id":${p.rawId},"error":${line.slice(s.errorStart, s.errorEnd)}}`;
    switch (p.kind) {
      case Kind.ToModern:
      case Kind.ToModernCacheable:
      case Kind.ToLegacy:
      case Kind.Listen: {
        const text = line.slice(s.resultStart, s.resultEnd);
        let result: string;
        if (p.kind === Kind.Listen) result = this.listen.answer(p.rawId, text);
        else {
          const parsed = JSON.parse(text) as Obj;
          if (p.kind === Kind.ToLegacy) {
            const round = this.rounds.fromModern(p, parsed);
            if (round !== null) return round;
            result = JSON.stringify(shapeForLegacy(parsed));
          } else result = JSON.stringify(shapeForModern(p.kind === Kind.ToModernCacheable ? "tools/list" : "", parsed));
        }
        return `{"jsonrpc":"2.0","id":${p.rawId},"result":${result}}`;
      }
      default:
        return this.tasks.answer(p, cid, line, s);
    }
  }

  clientGone(c: Session): void {
    this.initParams.delete(c.id);
  }
}
