/**
 * The routing core: one backend session shared by many client sessions. Pure logic: messages in, messages
 * out through `RouterHost`, time from `Clock`; every rule is unit-testable (docs/routing.md lists them).
 * This facade receives lines and lifecycle events, looks a method up in the one dispatch table
 * (dispatch.ts), and owns the sessions, the open-request table and answering; what goes to the backend
 * goes through outbound.ts, and the rest of a method's rule lives in its family (families/). Hot path: a
 * plain request validated by a walk that allocates nothing (wire/plain-request.ts), an answer's id found
 * in place (wire/scan.ts), the id spliced.
 */
import { errorLine, INTERNAL_ERROR, INVALID_REQUEST, isValidId, NULL_ID, parseErrorLine } from "../wire/jsonrpc.ts";
import { emptySpans, methodOf, plainIntegerAt, quickResponseId, scanTopLevel, splice, type Spans } from "../wire/scan.ts";
import { Admission } from "./admission.ts";
import type { RouterContext } from "./context.ts";
import { dispatchTable, type DispatchTable, type Families } from "./dispatch.ts";
import { Expiry } from "./expiry.ts";
import { createFamilies, perClient } from "./families/index.ts";
import { Outbound } from "./outbound.ts";
import { routerFootprint, routerStats } from "./report.ts";
import { PendingTable, unlink } from "./pending.ts";
import { isClientKind, Kind, newSession, Phase, type Pending, type Session } from "./session.ts";
import { realClock, type BackendState, type RouterFootprint, type RouterHost, type RouterOptions, type RouterStats } from "./types.ts";

type Msg = Record<string, unknown>;

export class Router {
  private readonly sessions = new Map<number, Session>();
  private readonly pending = new PendingTable<Pending>();
  private readonly ctx: RouterContext;
  private readonly f: Families;
  private readonly table: DispatchTable;
  private readonly admission: Admission;
  private readonly expiry: Expiry;
  private readonly counters = { served: 0, timeouts: 0, cancelled: 0 };
  private readonly out: Outbound;
  // Scratch spans, one per use: a nested call (a handshake answer flushing queued requests) never overwrites its caller's.
  private readonly backendSpans: Spans = emptySpans();
  private readonly idSpans: Spans = emptySpans();

  constructor(
    private readonly host: RouterHost,
    private readonly opts: RouterOptions,
  ) {
    const clock = opts.clock ?? realClock;
    const ctx: RouterContext = {
      opts,
      clock,
      sessions: this.sessions,
      counters: this.counters,
      backendState: () => this.f.lifecycle.state,
      log: (level, m) => host.log(level, m),
      emit: (cid, line) => this.emit(cid, line),
      toBackend: (line) => host.toBackend(line),
      forward: (c, msg, line, deadline, kind) => this.out.forward(c, msg, line, deadline, kind),
      pendingOf: (bid) => this.pending.get(bid),
      modernBackend: () => this.f.lifecycle.modernBackend,
      internal: (method, params, kind) => this.out.internal(method, params, kind),
      drop: (p) => this.out.drop(p),
      rawIdOf: (line) => this.rawIdOf(line),
      arm: () => this.expiry.arm(),
    };
    this.ctx = ctx;
    this.out = new Outbound(ctx, this.pending, () => this.f, () => ownRules);
    this.f = createFamilies(ctx, host, {
      sessions: this.sessions,
      dispatch: (c, msg, line) => this.dispatch(c, msg, line),
      request: (c, msg, line, deadline) => this.clientRequest(c, msg.method as string, msg, line, deadline),
    });
    this.table = dispatchTable(this.f);
    const ownRules = [...this.table.request.keys()];
    // Busy: owed an answer. An open listen is not (it ends only when someone ends it), so it holds no slot.
    this.admission = new Admission(ctx, (c) => this.f.eras.listen.owes(c) || c.queue.length > 0 || this.f.batches.has(c.id), (cid, l) => this.clientLine(cid, l, true));
    const { lifecycle, cancelProgress } = this.f;
    this.expiry = new Expiry({ ctx, host, pending: this.pending, lifecycle, admission: this.admission, cancelProgress, rounds: this.f.eras.rounds });
  }

  // ───────────────────────────── clients ─────────────────────────────

  clientConnected(cid: number): void {
    this.sessions.set(cid, newSession(cid));
  }

  clientLine(cid: number, line: string, admitted = false /* it waited for its slot already (admission.ts) */): void {
    try {
      const c = this.sessions.get(cid);
      if (c === undefined || (!c.slot && !admitted && this.admission.hold(c, line))) return;
      const state = this.f.lifecycle.state;
      if (state === "idle") this.host.wantBackend();
      // The fast path serves a client of the backend's own era, once its first line showed which it is.
      const sameEra = c.classified && (c.era === "modern") === this.f.lifecycle.modernBackend;
      if (state === "ready" && sameEra && c.phase !== Phase.Initializing && this.out.plainRequest(c, line)) return;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch (e) {
        this.emit(cid, parseErrorLine(e));
        return;
      }
      if (Array.isArray(msg)) return this.f.batches.receive(c, msg, line);
      if (typeof msg !== "object" || msg === null) return this.invalid(cid, NULL_ID, "a message must be a JSON object");
      this.dispatch(c, msg as Msg, line);
    } finally {
      if (this.admission.waiting > 0) this.admission.settle();
    }
  }

  /** A client whose `initialize` the runtime answered from another process of the same server (Lifecycle.adopt). */
  clientAdopted(cid: number, initialize: Record<string, unknown>, answered: string): void {
    const c = this.sessions.get(cid);
    if (c === undefined) return;
    this.f.lifecycle.adopt(c, initialize, answered);
    // Its own notifications/initialized was consumed by the runtime: it joins the roots union here.
    this.f.roots.clientJoined(c);
  }

  /** A line over `max_request_bytes`: answered here, the connection stays usable. */
  clientOversize(cid: number, bytes: number, limit: number): void {
    this.host.log("warn", `client ${cid} sent a ${bytes}-byte line; max_request_bytes is ${limit}`);
    const message = `Request too large: over max_request_bytes (${limit} bytes)`;
    this.emit(cid, errorLine(NULL_ID, INVALID_REQUEST, message, "too_large", { limit }));
  }

  clientClosed(cid: number): void {
    const c = this.sessions.get(cid);
    if (c === undefined) return;
    this.sessions.delete(cid);
    const canTell = this.f.lifecycle.state === "ready";
    for (let p = c.first; p !== null; p = p.next) {
      this.pending.take(p.bid);
      if (p.token !== 0) this.f.cancelProgress.release(p.token);
      if (canTell) this.f.cancelProgress.cancelAtBackend(p.bid, "client disconnected");
    }
    c.first = c.last = null;
    c.open = 0;
    for (const family of perClient(this.f)) family.clientGone?.(c, canTell);
    this.admission.release(c);
  }

  /** Every line for a client goes through here, so a batch can collect its answers. */
  private emit(cid: number, line: string): void {
    if (this.f.batches.active && this.f.batches.collect(cid, line)) return;
    this.host.toClient(cid, line);
  }

  private dispatch(c: Session, msg: Msg, line: string): void {
    const method = msg.method;
    const hasId = "id" in msg;
    if (!c.classified && typeof method === "string") this.f.eras.classify(c, msg);
    if (msg.jsonrpc !== "2.0") {
      return this.invalid(c.id, hasId && isValidId(msg.id) ? JSON.stringify(msg.id) : NULL_ID, 'jsonrpc must be "2.0"');
    }
    if (typeof method === "string") {
      if (!hasId) return this.clientNotification(c, method, msg, line);
      if (!isValidId(msg.id)) return this.invalid(c.id, NULL_ID, "id must be a string or a number");
      return this.clientRequest(c, method, msg, line, this.ctx.clock.now() + this.opts.requestTimeoutMs);
    }
    if (method === undefined && hasId && ("result" in msg || "error" in msg)) {
      if (!this.f.serverRequests.answer(c.id, msg, line) && !this.f.eras.rounds.answer(c, msg)) {
        this.host.log("debug", `client ${c.id} answered a request it was never sent (id ${JSON.stringify(msg.id)}), dropped`);
      }
      return;
    }
    return this.invalid(c.id, hasId && isValidId(msg.id) ? JSON.stringify(msg.id) : NULL_ID, "not a request, notification or response");
  }

  private invalid(cid: number, rawId: string, why: string): void {
    this.emit(cid, errorLine(rawId, INVALID_REQUEST, `Invalid Request: ${why}`, "invalid_request"));
  }

  private rawIdOf(line: string): string {
    const s = this.idSpans;
    scanTopLevel(line, s);
    return line.slice(s.idStart, s.idEnd);
  }

  private clientRequest(c: Session, method: string, msg: Msg, line: string, deadline: number): void {
    const rule = this.table.request.get(method);
    if (rule?.beforeReady) return rule.handle(c, msg, line, deadline);
    const lifecycle = this.f.lifecycle;
    if (lifecycle.final) return this.emit(c.id, lifecycle.unavailable(this.rawIdOf(line)));
    if (lifecycle.state !== "ready" || c.phase === Phase.Initializing) {
      if (c.queue.length === 0) this.expiry.arm();
      c.queue.push({ msg, line, deadline });
      return;
    }
    if (rule !== undefined) return rule.handle(c, msg, line, deadline);
    this.f.eras.request(c, msg, line, deadline);
  }

  private clientNotification(c: Session, method: string, msg: Msg, line: string): void {
    const rule = this.table.notification.get(method);
    if (rule !== undefined) return rule(c, msg, line);
    if (this.f.lifecycle.state === "ready") this.host.toBackend(line);
  }

  // ───────────────────────────── backend ─────────────────────────────

  backendStarted(): void {
    this.f.lifecycle.backendStarted();
  }

  /** The backend process is gone: what it held gets an error now; what never reached it waits for the next one. */
  backendExited(reason: string, willRestart: boolean): void {
    const pending = this.pending.list();
    this.pending.clear();
    for (const p of pending) {
      const c = p.client;
      if (c === null) continue;
      unlink(c, p);
      this.emit(c.id, errorLine(p.rawId, INTERNAL_ERROR, `Backend exited before answering (${reason})`, "backend_exited"));
    }
    this.f.cancelProgress.backendGone();
    this.f.serverRequests.backendGone();
    this.f.lifecycle.backendExited(reason, willRestart);
    this.admission.settle();
  }

  /** An operator stopped the server: like a final exit, but with its own wording. */
  backendStopped(): void {
    this.f.lifecycle.backendStopped();
    this.admission.settle();
  }

  get backendState(): BackendState {
    return this.f.lifecycle.state;
  }

  /** One line from the backend. Whatever it holds, it never throws: a bad line is logged and skipped. */
  backendLine(line: string): void {
    try {
      this.routeBackendLine(line);
    } catch (e) {
      this.host.log("warn", `backend message could not be routed (${(e as Error).message}), skipped: ${line.slice(0, 200)}`);
    }
    if (this.admission.waiting > 0) this.admission.settle(); // that answer may have freed a slot
  }

  private routeBackendLine(line: string): void {
    const s = this.backendSpans;
    // The common case first: a plain success answer to a client's request, its id found without a full scan.
    if (quickResponseId(line, s)) {
      // Backend ids are ours: plain digits.
      const p = this.pending.get(plainIntegerAt(line, s.idStart, s.idEnd));
      if (p !== undefined && p.kind === Kind.Client) return this.answerClient(p, line, s);
    }
    if (!scanTopLevel(line, s)) {
      this.host.log("warn", `backend wrote a line that is not a JSON-RPC message, skipped: ${line.slice(0, 200)}`);
      return;
    }
    if (s.methodStart >= 0) {
      const method = methodOf(line, s);
      if (method === undefined) return this.host.log("warn", "backend message with a non-string method, skipped");
      if (s.idStart >= 0) return this.f.serverRequests.route(method, line, s.idStart, s.idEnd);
      const rule = this.table.server.get(method);
      if (rule !== undefined) return rule(line);
      // Anything we do not know: every 2025 client that finished its handshake (modern clients get listens' only).
      for (const c of this.sessions.values()) if (c.phase === Phase.Ready && c.era === "legacy") this.emit(c.id, line);
      return;
    }
    if (s.idStart < 0) return this.host.log("warn", `backend message without id or method, skipped: ${line.slice(0, 200)}`);
    const bid = Number(line.slice(s.idStart, s.idEnd));
    const p = this.pending.get(bid);
    if (p === undefined) {
      // Late (timed out or cancelled) or never ours.
      this.host.log("debug", `backend answered unknown id ${line.slice(s.idStart, s.idEnd)}, dropped`);
      return;
    }
    if (isClientKind(p.kind)) return this.answerClient(p, line, s);
    this.pending.take(bid);
    switch (p.kind) {
      case Kind.Init:
        this.f.sharing.initResult(line, s);
        return this.f.lifecycle.backendAnswered(line, s);
      case Kind.Ping:
        return this.f.lifecycle.probeSettled(bid, s.errorStart < 0);
      default:
        if (s.errorStart >= 0) this.host.log("warn", `backend refused a mux request: ${line.slice(s.errorStart, s.errorEnd)}`);
    }
  }

  /** The backend answered a client's request: the client gets it with its own id back. */
  private answerClient(p: Pending, line: string, s: Spans): void {
    this.pending.take(p.bid);
    const c = p.client;
    if (c === null) return; // a closed client's requests leave the table with it: only a guard
    unlink(c, p);
    if (p.token !== 0) this.f.cancelProgress.release(p.token);
    this.counters.served++;
    if (p.kind === Kind.Subscribes) this.f.resources.answered(p, s.resultStart >= 0);
    else if (p.kind === Kind.ListsTools) this.f.sharing.toolsResult(line, s);
    // Other kinds' answers are shaped (tasks, eras); "" when nothing goes to the client yet (an input round).
    const shaped = p.kind === Kind.CreatesTask || p.kind === Kind.ListsTasks ? s.resultStart >= 0 : p.kind >= Kind.ToModern;
    const out = shaped ? this.f.eras.answer(p, c.id, line, s) : null;
    if (out !== null) return out === "" ? undefined : this.emit(c.id, out);
    this.emit(c.id, splice(line, s.idStart, s.idEnd, p.rawId));
  }

  /** A liveness probe (see Lifecycle.probe); false when the backend cannot be probed now. */
  pingBackend(done: (ok: boolean) => void): boolean {
    return this.f.lifecycle.probe(done);
  }

  // ───────────────────────────── time and state ─────────────────────────────

  /** Expires whatever is due; returns the next deadline (Infinity when nothing waits). */
  sweep(now: number): number {
    return this.expiry.sweep(now);
  }

  /** True while a client is owed an answer (for closing a half-closed connection only when it has them all). */
  clientBusy(cid: number): boolean {
    const c = this.sessions.get(cid);
    // An open listen is owed no answer: it ends only when someone ends it (era/listen.ts).
    return c !== undefined && (c.waiting.length > 0 || this.f.eras.listen.owes(c) || this.f.eras.rounds.owes(cid) || c.queue.length > 0 || c.phase === Phase.Initializing || this.f.batches.has(cid));
  }

  /** A client's workspace (its roots, its proxy's folder, or "global"), named in `session-aware` `_meta`. */
  setClientWorkspace(cid: number, workspace: string): void {
    if (this.sessions.has(cid)) this.f.meta.setWorkspace(cid, workspace);
  }

  /** A `session-aware` server: each forwarded request names its client's session and workspace in `_meta`. */
  setSessionAware(on: boolean, seed: string = crypto.randomUUID().slice(0, 8)): void {
    this.f.meta.enable(on, seed);
  }

  /** Ends every timer: the router is being discarded. */
  dispose(): void {
    this.expiry.dispose();
  }

  stats(): RouterStats {
    return routerStats(this.sessions, this.admission, this.counters, this.f);
  }

  /** Every table's size, so tests can prove that nothing is left behind for clients that have gone. */
  footprint(): RouterFootprint {
    return routerFootprint(this.sessions, this.pending.size, this.f);
  }

  /** How many backend handshakes completed (1 after the first start; +1 per restart). */
  get handshakeCount(): number {
    return this.f.lifecycle.handshakeCount;
  }

  /** The backend's `initialize` result (JSON text) once it has answered; null before. */
  get handshake(): string | null {
    return this.f.lifecycle.result;
  }
}
