/**
 * Input rounds across the eras. In 2026-07-28 a server that needs input answers the call with an
 * `InputRequiredResult` (`inputRequests`, `requestState`) and the client retries the call with
 * `inputResponses`; in 2025 the server sends `sampling/createMessage`, `elicitation/create` or `roots/list`
 * to the client while the call is open. Between two clients and a backend of the same era the mux only
 * routes by id; across eras it translates, by id as well, and never guesses:
 *
 * - **Modern client, 2025 backend.** A backend request that the server-requests rules send to a modern
 *   client becomes an `InputRequiredResult` answering that client's one open call that may take input
 *   (`tools/call`, `prompts/get`, `resources/read`). The call stays open at the backend. The client's retry,
 *   recognised by the mux's `requestState`, answers the backend's request with the client's response,
 *   and the call's result is then delivered as the answer to the retry. With no such call, or several,
 *   the backend's request gets an error.
 * - **2025 client, modern backend.** An `InputRequiredResult` to a 2025 client's call becomes one request
 *   per input to that client (each needs the capability the client declared). Once it answered them all,
 *   the mux retries the call with `inputResponses` and the backend's `requestState`, and the client gets
 *   the final result under its own id.
 */
import { errorLine, INTERNAL_ERROR, INVALID_PARAMS } from "../../wire/jsonrpc.ts";
import type { Family, RouterContext } from "../context.ts";
import type { ServerRequests } from "../families/server-requests.ts";
import { capabilityOf } from "../families/server-requests.ts";
import { Kind, type Pending, type Session } from "../session.ts";
import { shapeForModern } from "./envelope.ts";

type Obj = Record<string, unknown>;

const TAKES_INPUT = new Set(["tools/call", "prompts/get", "resources/read"]);
const STATE_PREFIX = "rmcp-mux:";

/** A modern client's call answered with input_required, still open at the 2025 backend. */
interface Parked {
  bid: number;
  cid: number;
  /** The mux ids of the backend requests it carried, by input key. */
  inputs: Map<string, number>;
  /** The call's answer line, when the backend answered it before the client retried. */
  held?: string;
  method: string;
}

/** A 2025 client's call waiting for the client's answers before the mux retries it. */
interface Round {
  cid: number;
  rawId: string;
  msg: Obj;
  requestState: unknown;
  waiting: Map<string, string>;
  responses: Obj;
  /** The client answers the round's requests by then, or its call gets the timeout error. */
  deadline: number;
}

export class InputRounds implements Family {
  /** Calls of modern clients open at a 2025 backend, by backend id: their method. */
  private readonly calls = new Map<number, { cid: number; method: string }>();
  private readonly parked = new Map<string, Parked>();
  /** 2025 clients' calls at a modern backend, by backend id: the request, for a retry. */
  private readonly sent = new Map<number, Obj>();
  private readonly rounds = new Map<string, Round>();
  private next = 1;

  constructor(
    private readonly ctx: RouterContext,
    private readonly serverRequests: () => ServerRequests,
  ) {}

  get size(): number {
    return this.calls.size + this.parked.size + this.sent.size + this.rounds.size;
  }

  /** A request was forwarded as `bid`: remember what a round would need. */
  opened(c: Session, bid: number, msg: Obj): void {
    const method = msg.method as string;
    if (!TAKES_INPUT.has(method)) return;
    this.prune();
    if (c.era === "modern" && !this.ctx.modernBackend()) this.calls.set(bid, { cid: c.id, method });
    else if (c.era === "legacy" && this.ctx.modernBackend()) this.sent.set(bid, msg);
  }

  private prune(): void {
    if (this.calls.size + this.sent.size < 64) return;
    for (const bid of this.calls.keys()) if (this.ctx.pendingOf(bid) === undefined) this.calls.delete(bid);
    for (const bid of this.sent.keys()) if (this.ctx.pendingOf(bid) === undefined) this.sent.delete(bid);
  }

  // ───────────── modern client, 2025 backend ─────────────

  /**
   * A backend request the server-requests rules send to modern client `cid`, already under its mux id.
   * It answers the client's one open call that may take input.
   */
  toModern(cid: number, line: string): void {
    const req = JSON.parse(line) as { id?: number; method?: string; params?: Obj };
    // Notifications about such requests (cancelled, elicitation complete) have no modern counterpart.
    if (typeof req.id !== "number" || typeof req.method !== "string") return;
    let pick: Pending | undefined;
    let count = 0;
    for (const [bid, call] of this.calls) {
      const p = this.ctx.pendingOf(bid);
      if (p === undefined) {
        this.calls.delete(bid);
        continue;
      }
      if (call.cid !== cid || this.isParked(bid)) continue;
      pick = p;
      count++;
    }
    if (pick === undefined || count !== 1) {
      const why = count === 0 ? "the client has no open call that can take input" : "the client has several open calls and the mux will not guess which";
      const error = errorLine(String(req.id), INTERNAL_ERROR, `Cannot route ${req.method}: ${why}`, count === 0 ? "no_client_for_request" : "ambiguous_client");
      this.serverRequests().answer(cid, JSON.parse(error) as Obj, error);
      return;
    }
    const token = `${STATE_PREFIX}${this.next++}`;
    const key = `input-${req.id}`;
    this.parked.set(token, { bid: pick.bid, cid, inputs: new Map([[key, req.id]]), method: this.calls.get(pick.bid)?.method ?? "" });
    // The call stays open at the backend; its answer will go to the retry. The client has a request
    // timeout to retry: one that never does gets the timeout error and the call is cancelled at the backend.
    pick.deadline = this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs;
    this.ctx.arm();
    const { _meta: _m, ...params } = req.params ?? {};
    const result = { resultType: "input_required", inputRequests: { [key]: { method: req.method, params } }, requestState: token };
    this.ctx.emit(cid, `{"jsonrpc":"2.0","id":${pick.rawId},"result":${JSON.stringify(result)}}`);
  }

  private parkedOf(bid: number): Parked | undefined {
    if (this.parked.size === 0) return undefined;
    for (const p of this.parked.values()) if (p.bid === bid) return p;
    return undefined;
  }

  private isParked(bid: number): boolean {
    return this.parkedOf(bid) !== undefined;
  }

  /** The backend answered a parked call before its retry: the answer is kept for the retry. True when kept. */
  hold(p: Pending, line: string): boolean {
    const parked = this.parkedOf(p.bid);
    if (parked === undefined) return false;
    parked.held = line;
    return true;
  }

  /** A modern client's request on a 2025 backend: true when it was the retry of a parked call (consumed). */
  retry(c: Session, msg: Obj, line: string, deadline: number): boolean {
    const params = msg.params as Obj | undefined;
    const token = params?.requestState;
    if (typeof token !== "string" || !token.startsWith(STATE_PREFIX)) return false;
    const parked = this.parked.get(token);
    const rawId = this.ctx.rawIdOf(line);
    const p = parked === undefined ? undefined : this.ctx.pendingOf(parked.bid);
    if (parked === undefined || parked.cid !== c.id || (p === undefined && parked.held === undefined)) {
      this.ctx.emit(c.id, errorLine(rawId, INVALID_PARAMS, "Invalid params: requestState names no open call of this client", "invalid_request"));
      return true;
    }
    this.parked.delete(token);
    const responses = (params?.inputResponses ?? {}) as Obj;
    for (const [key, muxId] of parked.inputs) {
      const value = responses[key];
      const answer =
        value === undefined
          ? errorLine(String(muxId), INTERNAL_ERROR, "The client retried without answering this request", "no_client_for_request")
          : `{"jsonrpc":"2.0","id":${muxId},"result":${JSON.stringify(value)}}`;
      this.serverRequests().answer(c.id, JSON.parse(answer) as Obj, answer);
    }
    if (parked.held !== undefined) {
      // The call ended meanwhile (the backend gave up waiting): the retry gets that answer.
      const held = JSON.parse(parked.held) as Obj;
      const body = held.error !== undefined ? { error: held.error } : { result: shapeForModern(parked.method, held.result as Obj) };
      this.ctx.emit(c.id, `{"jsonrpc":"2.0","id":${rawId},${JSON.stringify(body).slice(1)}`);
      return true;
    }
    const open = p as Pending;
    open.rawId = rawId;
    open.key = msg.id as never;
    open.deadline = deadline;
    this.ctx.arm();
    return true;
  }

  // ───────────── 2025 client, modern backend ─────────────

  /**
   * A modern backend's result to a 2025 client's call: an `InputRequiredResult` starts a round (the
   * client gets requests, and nothing yet: "" is returned); any other result returns null.
   */
  fromModern(p: Pending, result: Obj): string | null {
    const msg = this.sent.get(p.bid);
    this.sent.delete(p.bid);
    if (result.resultType !== "input_required") return null;
    const c = p.client;
    if (msg === undefined || c === null) return errorLine(p.rawId, INTERNAL_ERROR, "The server asked for input on a call that cannot take it", "no_client_for_request");
    const inputs = (result.inputRequests ?? {}) as Record<string, { method?: unknown; params?: unknown }>;
    const deadline = this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs;
    const round: Round = { cid: c.id, rawId: p.rawId, msg, requestState: result.requestState, waiting: new Map(), responses: {}, deadline };
    for (const [key, input] of Object.entries(inputs)) {
      const method = typeof input?.method === "string" ? input.method : "";
      const cap = capabilityOf(method);
      if (cap === undefined || !c.caps[cap]) {
        return errorLine(p.rawId, INTERNAL_ERROR, `The server needs ${method || "input"}, which this client did not declare`, "no_client_for_request");
      }
      round.waiting.set(JSON.stringify(`rmcp-mux-input-${this.next++}`), key);
    }
    if (round.waiting.size === 0) {
      this.retryAtBackend(round);
      return "";
    }
    const roundId = `r${this.next++}`;
    this.rounds.set(roundId, round);
    this.ctx.arm();
    for (const [muxId, key] of round.waiting) {
      const input = inputs[key] as { method: string; params?: unknown };
      const params = input.params === undefined ? "" : `,"params":${JSON.stringify(input.params)}`;
      this.ctx.emit(c.id, `{"jsonrpc":"2.0","id":${muxId},"method":${JSON.stringify(input.method)}${params}}`);
    }
    return "";
  }

  /** A 2025 client's answer to one of a round's requests; false when it answers none. */
  answer(c: Session, msg: Obj): boolean {
    if (typeof msg.id !== "string" || !msg.id.startsWith("rmcp-mux-input-")) return false;
    const muxId = JSON.stringify(msg.id);
    for (const [roundId, round] of this.rounds) {
      const key = round.waiting.get(muxId);
      if (key === undefined || round.cid !== c.id) continue;
      round.waiting.delete(muxId);
      if (msg.error !== undefined) {
        this.rounds.delete(roundId);
        this.ctx.emit(c.id, errorLine(round.rawId, INTERNAL_ERROR, "The client refused the server's request for input", "no_client_for_request"));
        return true;
      }
      round.responses[key] = msg.result;
      if (round.waiting.size === 0) {
        this.rounds.delete(roundId);
        this.retryAtBackend(round);
      }
      return true;
    }
    return false;
  }

  private retryAtBackend(round: Round): void {
    const c = this.ctx.sessions.get(round.cid);
    if (c === undefined) return;
    const params: Obj = { ...((round.msg.params ?? {}) as Obj), inputResponses: round.responses };
    if (round.requestState !== undefined) params.requestState = round.requestState;
    const msg: Obj = { ...round.msg, params };
    const { id: _id, jsonrpc: _j, ...rest } = msg;
    const body = JSON.stringify(rest).slice(1, -1);
    const line = `{"jsonrpc":"2.0","id":${round.rawId},${body}}`;
    const bid = this.ctx.forward(c, msg, line, this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs, Kind.ToLegacy);
    this.sent.set(bid, msg);
  }

  /** Input rounds' own leftovers, by their clients. */
  /** Rounds whose client did not answer in time: its call gets `timeout(rawId)`. Returns the next deadline. */
  expire(now: number, timeout: (rawId: string) => string): number {
    let next = Infinity;
    for (const [id, r] of this.rounds) {
      if (r.deadline > now) {
        next = Math.min(next, r.deadline);
        continue;
      }
      this.rounds.delete(id);
      this.ctx.counters.timeouts++;
      this.ctx.emit(r.cid, timeout(r.rawId));
    }
    return next;
  }

  /** True while client `cid` is owed the answer to a call whose round is under way. */
  owes(cid: number): boolean {
    for (const r of this.rounds.values()) if (r.cid === cid) return true;
    return false;
  }

  clientGone(c: Session): void {
    for (const [bid, call] of this.calls) if (call.cid === c.id) this.calls.delete(bid);
    for (const [token, p] of this.parked) if (p.cid === c.id) this.parked.delete(token);
    for (const [id, r] of this.rounds) if (r.cid === c.id) this.rounds.delete(id);
    // `sent` entries end with their requests, which the router has closed.
    for (const bid of this.sent.keys()) if (this.ctx.pendingOf(bid) === undefined) this.sent.delete(bid);
  }
}
