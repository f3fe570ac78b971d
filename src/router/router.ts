/**
 * The routing core: one backend session shared by many client sessions.
 *
 * Pure logic — messages in, messages out through `RouterHost`, time from `Clock`. No sockets,
 * no processes, so every rule of `mcp-mux-routing.md` is unit-testable. The runtime feeds it
 * client lines, backend lines and backend lifecycle events.
 *
 * Hot path (a request and its response): the client line validated once, by a walk that allocates
 * nothing for a plain request (plain-request.ts) and by `JSON.parse` otherwise; the answer's id found
 * where SDKs put it (scan.ts); an array slot each way (pending.ts); the id spliced into the text.
 * Nothing is re-serialised unless a token inside `params` must change.
 */
import {
  errorLine,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  isValidId,
  notificationLine,
  NULL_ID,
  PARSE_ERROR,
  requestLine,
  resultLine,
  type JsonId,
  type MuxErrorReason,
} from "./jsonrpc.ts";
import { Batches } from "./batch.ts";
import { levelRank, LogLevels } from "./log-levels.ts";
import { emptySpans, methodOf, plainIntegerAt, quickRequestId, quickResponseId, scanTopLevel, splice, type Spans } from "./scan.ts";
import { append, PendingTable, unlink, type Chain } from "./pending.ts";
import { emptyRequestSpans, scanPlainRequest } from "./plain-request.ts";
import { ServerRequests, type Candidate } from "./server-requests.ts";
import { Subscriptions } from "./subscriptions.ts";
import { TaskOwners } from "./tasks.ts";
import { realClock, type BackendState, type Clock, type RouterHost, type RouterOptions, type RouterStats } from "./types.ts";

const enum Phase {
  New,
  Initializing,
  Ready,
}

const enum Kind {
  Client,
  Init,
  Internal,
  Ping,
}

interface Caps {
  roots: boolean;
  sampling: boolean;
  elicitation: boolean;
}

interface Queued {
  msg: Record<string, unknown>;
  line: string;
  deadline: number;
}

/** A client, with its open requests chained through their Pending entries (for cancellation and disconnect). */
interface Client extends Chain<Pending> {
  readonly id: number;
  active: boolean;
  waitDeadline: number;
  waitLines: string[];
  phase: Phase;
  initRawId: string;
  initDeadline: number;
  caps: Caps;
  queue: Queued[];
  readonly subs: Set<string>;
  /** The protocol version the client asked for (batches depend on it). */
  version: string;
}

interface Pending {
  readonly bid: number;
  kind: Kind;
  /** The client that asked (Kind.Client; null for the mux's own requests); its chain holds this entry while it is open. */
  client: Client | null;
  rawId: string;
  /** The client's parsed id: what its cancellation names ("1" and 1 are different ids). */
  key: JsonId;
  deadline: number;
  /** Mux progress token to release when the request ends; 0 when none. */
  token: number;
  /** What the answer needs beyond the id swap (Flag bits). */
  flags: number;
  onDone: ((ok: boolean, line: string) => void) | undefined;
  prev: Pending | null;
  next: Pending | null;
}

const WAIT_LINES_MAX = 1024;

/** Methods the router handles itself or whose params it reads: never on the plain path. Compared in place. */
const OWN_RULES = [
  "initialize",
  "ping",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
  "tasks/get",
  "tasks/result",
  "tasks/cancel",
  "tasks/list",
];

function hasOwnRule(line: string, start: number, end: number): boolean {
  const len = end - start;
  for (const m of OWN_RULES) if (m.length === len && line.startsWith(m, start)) return true;
  return false;
}

/** Answers that need more than an id swap. */
const enum Flag {
  CreatesTask = 1,
  ListsTasks = 2,
}

export class Router {
  private state: BackendState = "idle";
  private failure = "";
  private readonly clients = new Map<number, Client>();
  private readonly pending = new PendingTable<Pending>();
  private readonly progress = new Map<number, { cid: number; token: unknown; bid: number }>();
  private readonly subscriptions = new Subscriptions();
  private readonly levels = new LogLevels();
  private readonly tasks = new TaskOwners();
  private readonly batches: Batches;
  private readonly spans: Spans = emptySpans();
  private readonly plain = emptyRequestSpans();
  private readonly clock: Clock;
  private initParams: Record<string, unknown> | null = null;
  private initResult: string | null = null;
  private serverCaps: Record<string, unknown> = {};
  private nextBackendId = 1;
  private nextToken = 1;
  private activeCount = 0;
  private timer: unknown = null;
  private handshakes = 0;
  private readonly counters = { served: 0, timeouts: 0, cancelled: 0 };

  private readonly serverRequests: ServerRequests;

  constructor(
    private readonly host: RouterHost,
    private readonly opts: RouterOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.batches = new Batches({
      send: (cid, line) => this.host.toClient(cid, line),
      rawIdOf: (line) => this.rawIdOf(line),
      dispatch: (cid, msg, line) => {
        const c = this.clients.get(cid);
        if (c !== undefined) this.dispatch(c, msg, line);
      },
    });
    this.serverRequests = new ServerRequests({
      toClient: (cid, line) => this.emit(cid, line),
      toBackend: (line) => this.host.toBackend(line),
      backendReady: () => this.state === "ready",
      candidates: (cap) => {
        const out: Candidate[] = [];
        for (const c of this.clients.values()) if (c.phase === Phase.Ready && c.caps[cap]) out.push({ id: c.id, busy: c.open > 0 });
        return out;
      },
      taskOwner: (taskId, cap) => {
        const owner = this.clients.get(this.tasks.ownerOf(taskId) ?? -1);
        return owner !== undefined && owner.caps[cap] ? owner.id : undefined;
      },
    });
  }

  // ───────────────────────────── clients ─────────────────────────────

  clientConnected(cid: number): void {
    const now = this.clock.now();
    const active = this.activeCount < this.opts.maxActiveClients;
    if (active) this.activeCount++;
    this.clients.set(cid, {
      id: cid,
      active,
      waitDeadline: active ? 0 : now + this.opts.requestTimeoutMs,
      waitLines: [],
      phase: Phase.New,
      initRawId: NULL_ID,
      initDeadline: 0,
      caps: { roots: false, sampling: false, elicitation: false },
      first: null,
      last: null,
      open: 0,
      queue: [],
      subs: new Set(),
      version: "",
    });
    if (!active) {
      this.host.log("info", `client ${cid} waits for a slot (max_active_clients=${this.opts.maxActiveClients})`);
      this.arm();
    }
  }

  clientLine(cid: number, line: string): void {
    const c = this.clients.get(cid);
    if (c === undefined) return;
    if (!c.active) {
      if (c.waitLines.length >= WAIT_LINES_MAX) {
        this.host.closeClient(cid, `sent more than ${WAIT_LINES_MAX} messages while waiting for a client slot`);
        return;
      }
      c.waitLines.push(line);
      return;
    }
    if (this.state === "idle") this.host.wantBackend();
    if (this.state === "ready" && c.phase !== Phase.Initializing && this.plainRequest(c, line)) return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      this.emit(cid, errorLine(NULL_ID, PARSE_ERROR, `Parse error: ${(e as Error).message}`, "parse_error"));
      return;
    }
    if (Array.isArray(msg)) return this.clientBatch(c, msg, line);
    if (typeof msg !== "object" || msg === null) return this.invalid(cid, NULL_ID, "a message must be a JSON object");
    this.dispatch(c, msg as Record<string, unknown>, line);
  }

  /** A line over `max_request_bytes`: answered here, the connection stays usable. */
  clientOversize(cid: number, bytes: number, limit: number): void {
    this.host.log("warn", `client ${cid} sent a ${bytes}-byte line; max_request_bytes is ${limit}`);
    this.emit(
      cid,
      errorLine(NULL_ID, INVALID_REQUEST, `Request too large: over max_request_bytes (${limit} bytes)`, "too_large", {
        limit,
      }),
    );
  }

  clientClosed(cid: number): void {
    const c = this.clients.get(cid);
    if (c === undefined) return;
    this.clients.delete(cid);
    const canTell = this.state === "ready";
    for (let p = c.first; p !== null; p = p.next) {
      this.pending.take(p.bid);
      if (p.token !== 0) this.progress.delete(p.token);
      if (canTell) this.cancelAtBackend(p.bid, "client disconnected");
    }
    c.first = c.last = null;
    c.open = 0;
    for (const uri of this.subscriptions.removeClient(cid)) {
      if (canTell) this.internal("resources/unsubscribe", { uri });
    }
    this.levels.remove(cid);
    if (canTell) this.pushLevel();
    this.tasks.removeClient(cid);
    this.batches.clientGone(cid);
    this.serverRequests.clientGone(cid);
    if (c.active) {
      this.activeCount--;
      this.promoteWaiting();
    }
  }

  /** Every line for a client goes through here, so a batch can collect its answers. */
  private emit(cid: number, line: string): void {
    if (this.batches.active && this.batches.collect(cid, line)) return;
    this.host.toClient(cid, line);
  }

  private clientBatch(c: Client, items: unknown[], line: string): void {
    if (c.version !== "2025-03-26") {
      return this.emit(
        c.id,
        errorLine(NULL_ID, INVALID_REQUEST, `Invalid Request: JSON-RPC batches are only allowed in protocol 2025-03-26 (this session uses ${c.version || "none yet"})`, "batch_not_supported"),
      );
    }
    if (items.length === 0) return this.invalid(c.id, NULL_ID, "an empty batch");
    this.batches.receive(c.id, items, line);
  }

  private promoteWaiting(): void {
    for (const c of this.clients.values()) {
      if (this.activeCount >= this.opts.maxActiveClients) return;
      if (c.active) continue;
      c.active = true;
      this.activeCount++;
      this.host.log("info", `client ${c.id} got a slot`);
      const lines = c.waitLines;
      c.waitLines = [];
      for (const l of lines) this.clientLine(c.id, l);
    }
  }

  private dispatch(c: Client, msg: Record<string, unknown>, line: string): void {
    const method = msg.method;
    const hasId = "id" in msg;
    if (msg.jsonrpc !== "2.0") {
      return this.invalid(c.id, hasId && isValidId(msg.id) ? JSON.stringify(msg.id) : NULL_ID, 'jsonrpc must be "2.0"');
    }
    if (typeof method === "string") {
      if (!hasId) return this.clientNotification(c, method, msg, line);
      if (!isValidId(msg.id)) return this.invalid(c.id, NULL_ID, "id must be a string or a number");
      return this.clientRequest(c, method, msg, line, this.clock.now() + this.opts.requestTimeoutMs);
    }
    if (method === undefined && hasId && ("result" in msg || "error" in msg)) {
      if (!this.serverRequests.answer(c.id, msg, line)) {
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
    scanTopLevel(line, this.spans);
    return line.slice(this.spans.idStart, this.spans.idEnd);
  }

  private clientRequest(c: Client, method: string, msg: Record<string, unknown>, line: string, deadline: number): void {
    switch (method) {
      case "initialize":
        return this.clientInitialize(c, msg, line);
      case "ping":
        return this.emit(c.id, resultLine(this.rawIdOf(line), "{}"));
    }
    if (this.state === "failed" || this.state === "stopped") {
      return this.emit(c.id, this.unavailable(this.rawIdOf(line)));
    }
    if (this.state !== "ready" || c.phase === Phase.Initializing) {
      if (c.queue.length === 0) this.arm();
      c.queue.push({ msg, line, deadline });
      return;
    }
    switch (method) {
      case "logging/setLevel":
        return this.setLevel(c, msg, line);
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.subscription(c, method, msg, line, deadline);
      case "tasks/get":
      case "tasks/result":
      case "tasks/cancel": {
        const taskId = (msg.params as { taskId?: unknown } | undefined)?.taskId;
        if (typeof taskId !== "string" || this.tasks.ownerOf(taskId) !== c.id) {
          return this.emit(c.id, errorLine(this.rawIdOf(line), INVALID_PARAMS, "Invalid params: unknown taskId", "unknown_task"));
        }
        break;
      }
      case "tasks/list":
        return this.forward(c, msg, line, deadline, Flag.ListsTasks);
    }
    const task = (msg.params as { task?: unknown } | undefined)?.task;
    this.forward(c, msg, line, deadline, task != null ? Flag.CreatesTask : 0);
  }

  private forward(c: Client, msg: Record<string, unknown>, line: string, deadline: number, flags = 0): void {
    const bid = this.nextBackendId++;
    const s = this.spans;
    const id = msg.id as JsonId;
    if (!quickRequestId(line, s, id)) scanTopLevel(line, s);
    const rawId = line.slice(s.idStart, s.idEnd);
    let token = 0;
    let out: string;
    const params = msg.params as { _meta?: { progressToken?: unknown } } | undefined;
    const meta = params?._meta;
    if (meta !== undefined && meta !== null && meta.progressToken !== undefined) {
      // Clients often reuse their request id as the token, so tokens collide across clients.
      token = this.nextToken++;
      this.progress.set(token, { cid: c.id, token: meta.progressToken, bid });
      meta.progressToken = token;
      out = JSON.stringify({ ...msg, id: bid });
    } else {
      out = splice(line, s.idStart, s.idEnd, String(bid));
    }
    this.track(c, bid, id, rawId, deadline, token, flags);
    this.host.toBackend(out);
  }

  /**
   * The common request, forwarded without `JSON.parse` (plain-request.ts): a line with no escapes, an
   * id that is a plain integer or string, and a method with no rule of its own. False: parse it as usual.
   */
  private plainRequest(c: Client, line: string): boolean {
    const s = this.plain;
    if (!scanPlainRequest(line, s) || s.idStart < 0 || s.methodStart < 0) return false;
    if (s.jsonrpcEnd - s.jsonrpcStart !== 5 || !line.startsWith('"2.0"', s.jsonrpcStart)) return false;
    if (line.charCodeAt(s.methodStart) !== 34 || hasOwnRule(line, s.methodStart + 1, s.methodEnd - 1)) return false;
    let key: JsonId;
    if (line.charCodeAt(s.idStart) === 34) key = line.slice(s.idStart + 1, s.idEnd - 1);
    else {
      key = plainIntegerAt(line, s.idStart, s.idEnd);
      if (key < 0) return false;
    }
    const bid = this.nextBackendId++;
    this.track(c, bid, key, line.slice(s.idStart, s.idEnd), this.clock.now() + this.opts.requestTimeoutMs, 0, 0);
    this.host.toBackend(splice(line, s.idStart, s.idEnd, String(bid)));
    return true;
  }

  /** A client request is now open at the backend as `bid`. */
  private track(c: Client, bid: number, key: JsonId, rawId: string, deadline: number, token: number, flags: number): void {
    if (this.pending.size === 0) this.arm();
    const p: Pending = { bid, kind: Kind.Client, client: c, rawId, key, deadline, token, flags, onDone: undefined, prev: null, next: null };
    this.pending.add(p);
    append(c, p);
  }

  private clientNotification(c: Client, method: string, msg: Record<string, unknown>, line: string): void {
    switch (method) {
      case "notifications/initialized":
        return; // the mux sent its own, once, when the backend answered initialize
      case "notifications/cancelled":
        return this.clientCancelled(c, msg);
    }
    if (this.state === "ready") this.host.toBackend(line);
  }

  private clientCancelled(c: Client, msg: Record<string, unknown>): void {
    const params = msg.params as { requestId?: unknown; reason?: unknown } | undefined;
    const rid = params?.requestId;
    if (!isValidId(rid)) return;
    const key = rid;
    // The newest request with that id, as a client reusing an id means its latest one.
    let p = c.last;
    while (p !== null && p.key !== key) p = p.prev;
    if (p === null) {
      // Still queued here: it never reached the backend, so drop it quietly.
      c.queue = c.queue.filter((q) => q.msg.id !== key);
      return;
    }
    unlink(c, p);
    this.pending.take(p.bid);
    if (p.token !== 0) this.progress.delete(p.token);
    this.counters.cancelled++;
    if (this.state === "ready") this.cancelAtBackend(p.bid, typeof params?.reason === "string" ? params.reason : undefined);
  }

  private cancelAtBackend(bid: number, reason?: string): void {
    this.host.toBackend(
      notificationLine("notifications/cancelled", reason === undefined ? { requestId: bid } : { requestId: bid, reason }),
    );
  }

  // ───────────────────────────── handshake ─────────────────────────────

  private clientInitialize(c: Client, msg: Record<string, unknown>, line: string): void {
    const params = (msg.params ?? {}) as Record<string, unknown>;
    const caps = (params.capabilities ?? {}) as Record<string, unknown>;
    c.caps = { roots: caps.roots != null, sampling: caps.sampling != null, elicitation: caps.elicitation != null };
    c.initRawId = this.rawIdOf(line);
    c.version = typeof params.protocolVersion === "string" ? params.protocolVersion : "";
    const info = (params.clientInfo ?? {}) as { name?: unknown; version?: unknown };
    this.host.log("debug", `client ${c.id} handshake: ${String(info.name ?? "?")} ${String(info.version ?? "")} asks for protocol ${c.version || "(none)"}`);
    c.phase = Phase.Initializing;
    if (this.initResult !== null) return this.completeInitialize(c);
    if (this.state === "failed" || this.state === "stopped") {
      c.phase = Phase.New;
      return this.emit(c.id, this.unavailable(c.initRawId));
    }
    c.initDeadline = this.clock.now() + this.opts.requestTimeoutMs;
    this.arm();
    if (this.initParams === null) {
      this.initParams = {
        ...params,
        // The backend sees one client: the mux, able to route all of these to the clients that declare them.
        capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
        clientInfo: this.opts.clientInfo ?? { name: "rmcp-mux", version: "0" },
      };
      if (this.state === "starting") this.sendInitialize();
    }
  }

  private completeInitialize(c: Client): void {
    // The backend's protocol version is answered even to a client that asked for another: the spec
    // lets a server answer a version it supports, and the client decides whether to go on.
    this.emit(c.id, resultLine(c.initRawId, this.initResult as string));
    this.host.log("debug", `client ${c.id} handshake done`);
    c.phase = Phase.Ready;
    if (this.state === "ready") this.flushQueue(c);
  }

  private sendInitialize(): void {
    this.setState("handshaking");
    this.internal("initialize", this.initParams, Kind.Init);
  }

  private backendInitialized(line: string, s: Spans): void {
    if (s.resultStart < 0) {
      // The backend refused the handshake: pass its error on, and let the next initialize try again.
      const error = s.errorStart >= 0 ? line.slice(s.errorStart, s.errorEnd) : '{"code":-32603,"message":"initialize failed"}';
      this.host.log("error", `backend refused initialize: ${error}`);
      for (const c of this.clients.values()) {
        if (c.phase !== Phase.Initializing) continue;
        c.phase = Phase.New;
        this.emit(c.id, `{"jsonrpc":"2.0","id":${c.initRawId},"error":${error}}`);
      }
      this.initParams = null;
      this.setState("starting");
      return;
    }
    const replay = this.initResult !== null;
    this.initResult = line.slice(s.resultStart, s.resultEnd);
    try {
      this.serverCaps = ((JSON.parse(this.initResult) as { capabilities?: Record<string, unknown> }).capabilities ?? {});
    } catch {
      this.serverCaps = {};
    }
    this.setState("ready");
    this.handshakes++;
    this.host.toBackend(notificationLine("notifications/initialized"));
    this.host.log("info", replay ? "backend handshake replayed after restart" : "backend initialized");
    // What the previous process was told must be told to this one too.
    this.levels.backendReset();
    this.pushLevel();
    for (const uri of this.subscriptions.uris()) this.internal("resources/subscribe", { uri });
    for (const c of this.clients.values()) {
      if (!c.active) continue;
      if (c.phase === Phase.Initializing) this.completeInitialize(c);
      else this.flushQueue(c);
      if (replay && c.phase === Phase.Ready) this.announceListsChanged(c.id);
    }
  }

  /** After a restart the new process may offer other tools, prompts or resources. */
  private announceListsChanged(cid: number): void {
    for (const kind of ["tools", "prompts", "resources"]) {
      if (this.serverCaps[kind] != null) this.emit(cid, notificationLine(`notifications/${kind}/list_changed`));
    }
  }

  private flushQueue(c: Client): void {
    if (c.queue.length === 0) return;
    const q = c.queue;
    c.queue = [];
    for (const item of q) this.clientRequest(c, item.msg.method as string, item.msg, item.line, item.deadline);
  }

  // ───────────────────────────── backend ─────────────────────────────

  /** A backend process is up. The handshake is replayed at once when a client already did it. */
  backendStarted(): void {
    this.setState("starting");
    this.failure = "";
    if (this.initParams !== null) this.sendInitialize();
  }

  /**
   * The backend process is gone. Every request it held is answered with an error now; requests that
   * never reached it stay queued for the next process (resending those cannot repeat a side effect).
   */
  backendExited(reason: string, willRestart: boolean): void {
    const pending = this.pending.list();
    this.pending.clear();
    this.progress.clear();
    for (const p of pending) {
      const c = p.client;
      if (c === null) continue;
      unlink(c, p);
      this.emit(
        c.id,
        errorLine(p.rawId, INTERNAL_ERROR, `Backend exited before answering (${reason})`, "backend_exited"),
      );
    }
    this.serverRequests.backendGone();
    this.setState(willRestart ? "down" : "failed");
    if (!willRestart) this.failAll(reason, "backend_failed");
  }

  /** An operator stopped the server: like a final exit, but with its own wording. */
  backendStopped(): void {
    this.setState("stopped");
    this.failAll("stopped by an operator", "backend_unavailable");
  }

  private setState(next: BackendState): void {
    if (this.state === next) return;
    this.state = next;
    this.host.stateChanged?.(next);
  }

  get backendState(): BackendState {
    return this.state;
  }

  private failAll(reason: string, why: MuxErrorReason): void {
    this.failure = reason;
    for (const c of this.clients.values()) {
      if (c.phase === Phase.Initializing && this.initResult === null) {
        c.phase = Phase.New;
        this.emit(c.id, this.unavailable(c.initRawId, why));
      }
      const q = c.queue;
      c.queue = [];
      for (const item of q) this.emit(c.id, this.unavailable(this.rawIdOf(item.line), why));
    }
  }

  private unavailable(rawId: string, why: MuxErrorReason = "backend_unavailable"): string {
    const detail = this.failure ? `: ${this.failure}` : "";
    return errorLine(rawId, INTERNAL_ERROR, `Backend unavailable (${this.state}${detail})`, why);
  }

  /** One line from the backend. Whatever it holds, it never throws: a bad line is logged and skipped. */
  backendLine(line: string): void {
    try {
      this.routeBackendLine(line);
    } catch (e) {
      this.host.log("warn", `backend message could not be routed (${(e as Error).message}), skipped: ${line.slice(0, 200)}`);
    }
  }

  private routeBackendLine(line: string): void {
    const s = this.spans;
    // The common case first: a plain success answer to a client's request, its id found without a full scan.
    if (quickResponseId(line, s)) {
      // Backend ids are ours: plain digits.
      const bid = plainIntegerAt(line, s.idStart, s.idEnd);
      const p = this.pending.get(bid);
      if (p !== undefined && p.kind === Kind.Client && p.flags === 0) return this.answerClient(bid, p, line, s);
    }
    if (!scanTopLevel(line, s)) {
      this.host.log("warn", `backend wrote a line that is not a JSON-RPC message, skipped: ${line.slice(0, 200)}`);
      return;
    }
    if (s.methodStart >= 0) {
      const method = methodOf(line, s);
      if (method === undefined) return this.host.log("warn", "backend message with a non-string method, skipped");
      if (s.idStart >= 0) return this.serverRequests.route(method, line, s.idStart, s.idEnd);
      return this.serverNotification(method, line);
    }
    if (s.idStart < 0) return this.host.log("warn", `backend message without id or method, skipped: ${line.slice(0, 200)}`);
    const bid = Number(line.slice(s.idStart, s.idEnd));
    const p = this.pending.get(bid);
    if (p === undefined) {
      // Late (timed out or cancelled) or never ours.
      this.host.log("debug", `backend answered unknown id ${line.slice(s.idStart, s.idEnd)}, dropped`);
      return;
    }
    switch (p.kind) {
      case Kind.Client:
        return this.answerClient(bid, p, line, s);
      case Kind.Init:
        this.pending.take(bid);
        return this.backendInitialized(line, s);
      case Kind.Internal:
        this.pending.take(bid);
        if (s.errorStart >= 0) this.host.log("warn", `backend refused a mux request: ${line.slice(s.errorStart, s.errorEnd)}`);
        return;
      case Kind.Ping:
        this.pending.take(bid);
        p.onDone?.(s.errorStart < 0, line);
        return;
    }
  }

  /** The backend answered a client's request: the client gets it with its own id back. */
  private answerClient(bid: number, p: Pending, line: string, s: Spans): void {
    this.pending.take(bid);
    const c = p.client;
    // A closed client's requests leave the table with it, so this is only a guard.
    if (c === null) return;
    unlink(c, p);
    if (p.token !== 0) this.progress.delete(p.token);
    this.counters.served++;
    if (p.flags !== 0 && s.resultStart >= 0) return this.emit(c.id, this.rewriteResult(p, c.id, line, s));
    this.emit(c.id, splice(line, s.idStart, s.idEnd, p.rawId));
  }


  /** Answers that carry tasks: record the owner, or show a client only its own tasks. */
  private rewriteResult(p: Pending, cid: number, line: string, s: Spans): string {
    const result = line.slice(s.resultStart, s.resultEnd);
    try {
      if (p.flags === Flag.CreatesTask) {
        this.tasks.recordFromResult(result, cid);
        return splice(line, s.idStart, s.idEnd, p.rawId);
      }
      return resultLine(p.rawId, this.tasks.filterList(result, cid));
    } catch {
      // Unreadable: forwarding it could hand this client another client's tasks.
      return errorLine(p.rawId, INTERNAL_ERROR, "The backend's answer was not valid JSON", "invalid_request");
    }
  }

  /** A mux-owned request (its answer is not for any client). */
  private internal(method: string, params: unknown, kind: Kind = Kind.Internal, onDone?: Pending["onDone"]): number {
    const bid = this.nextBackendId++;
    if (this.pending.size === 0) this.arm();
    this.pending.add({
      bid,
      kind,
      client: null,
      rawId: NULL_ID,
      key: 0,
      deadline: this.clock.now() + this.opts.requestTimeoutMs,
      token: 0,
      flags: 0,
      onDone,
      prev: null,
      next: null,
    });
    this.host.toBackend(requestLine(bid, method, params));
    return bid;
  }

  /**
   * A liveness probe with a mux-owned id: ids come from the same counter as client requests, so no
   * client can collide with it. `done` gets false on an error answer or a timeout; the caller keeps
   * its own, shorter clock as well.
   */
  pingBackend(done: (ok: boolean) => void): boolean {
    // ping is allowed before the handshake, so a process waiting for its first client is probed too.
    if (this.state !== "ready" && this.state !== "starting" && this.state !== "handshaking") return false;
    this.internal("ping", undefined, Kind.Ping, (ok) => done(ok));
    return true;
  }

  // ─────────────────────── per-client state the backend shares ───────────────────────

  private setLevel(c: Client, msg: Record<string, unknown>, line: string): void {
    const rank = levelRank((msg.params as { level?: unknown } | undefined)?.level);
    const rawId = this.rawIdOf(line);
    if (rank < 0) {
      return this.emit(c.id, errorLine(rawId, INVALID_PARAMS, "Invalid params: unknown logging level", "invalid_request"));
    }
    this.levels.set(c.id, rank);
    this.pushLevel();
    this.emit(c.id, resultLine(rawId, "{}"));
  }

  private pushLevel(): void {
    const level = this.levels.wanted();
    if (level !== undefined && this.state === "ready") this.internal("logging/setLevel", { level });
  }

  private subscription(c: Client, method: string, msg: Record<string, unknown>, line: string, deadline: number): void {
    const uri = (msg.params as { uri?: unknown } | undefined)?.uri;
    if (typeof uri !== "string") return this.forward(c, msg, line, deadline); // let the backend say what is wrong
    const mustForward =
      method === "resources/subscribe" ? this.subscriptions.add(uri, c.id) : this.subscriptions.remove(uri, c.id);
    if (method === "resources/subscribe") c.subs.add(uri);
    else c.subs.delete(uri);
    if (mustForward) return this.forward(c, msg, line, deadline);
    this.emit(c.id, resultLine(this.rawIdOf(line), "{}"));
  }

  // ─────────────────────── backend → client traffic ───────────────────────

  private serverNotification(method: string, line: string): void {
    switch (method) {
      case "notifications/progress": {
        const msg = JSON.parse(line) as { params?: { progressToken?: unknown } };
        const tok = msg.params?.progressToken;
        const entry = typeof tok === "number" ? this.progress.get(tok) : undefined;
        if (entry === undefined || msg.params === undefined) return;
        msg.params.progressToken = entry.token;
        return this.emit(entry.cid, JSON.stringify(msg));
      }
      case "notifications/cancelled": {
        const params = (JSON.parse(line) as { params?: { requestId?: unknown; reason?: unknown } }).params;
        if (isValidId(params?.requestId)) this.serverRequests.cancelled(params.requestId, params.reason);
        return;
      }
      case "notifications/message": {
        const rank = levelRank((JSON.parse(line) as { params?: { level?: unknown } }).params?.level);
        for (const c of this.clients.values()) {
          if (c.phase === Phase.Ready && this.levels.admits(c.id, rank)) this.emit(c.id, line);
        }
        return;
      }
      case "notifications/tasks/status": {
        const taskId = (JSON.parse(line) as { params?: { taskId?: unknown } }).params?.taskId;
        const owner = typeof taskId === "string" ? this.tasks.ownerOf(taskId) : undefined;
        if (owner !== undefined) this.emit(owner, line);
        return;
      }
      case "notifications/elicitation/complete": {
        const id = (JSON.parse(line) as { params?: { elicitationId?: unknown } }).params?.elicitationId;
        const owner = typeof id === "string" ? this.serverRequests.takeElicitationOwner(id) : undefined;
        if (owner !== undefined) this.emit(owner, line);
        return;
      }
      case "notifications/resources/updated": {
        const uri = (JSON.parse(line) as { params?: { uri?: unknown } }).params?.uri;
        const subs = typeof uri === "string" ? this.subscriptions.subscribers(uri) : undefined;
        if (subs !== undefined) for (const cid of subs) this.emit(cid, line);
        return;
      }
    }
    // list_changed and anything we do not know: every client that finished its handshake.
    for (const c of this.clients.values()) if (c.phase === Phase.Ready) this.emit(c.id, line);
  }

  // ───────────────────────────── time ─────────────────────────────

  private arm(): void {
    if (this.timer !== null) return;
    this.timer = this.clock.setTimer(this.opts.requestTimeoutMs, () => this.onTimer());
  }

  private onTimer(): void {
    this.timer = null;
    const next = this.sweep(this.clock.now());
    if (next !== Infinity) this.timer = this.clock.setTimer(Math.max(1, next - this.clock.now()), () => this.onTimer());
  }

  /** Expires whatever is due; returns the next deadline (Infinity when nothing waits). */
  sweep(now: number): number {
    let next = Infinity;
    for (const p of this.pending.list()) {
      if (p.deadline > now) {
        next = Math.min(next, p.deadline);
        continue;
      }
      // An expiry can end the backend, and with it every other entry of this snapshot.
      if (this.pending.take(p.bid) === undefined) continue;
      this.expire(p.bid, p);
    }
    for (const c of [...this.clients.values()]) {
      if (!c.active) {
        if (c.waitDeadline <= now) this.expireWaiting(c);
        else next = Math.min(next, c.waitDeadline);
        continue;
      }
      if (c.phase === Phase.Initializing && this.initResult === null) {
        if (c.initDeadline <= now) {
          c.phase = Phase.New;
          this.emit(c.id, this.timeoutError(c.initRawId));
        } else next = Math.min(next, c.initDeadline);
      }
      while (c.queue.length > 0 && (c.queue[0] as Queued).deadline <= now) {
        const q = c.queue.shift() as Queued;
        this.counters.timeouts++;
        this.emit(c.id, this.timeoutError(this.rawIdOf(q.line)));
      }
      if (c.queue.length > 0) next = Math.min(next, (c.queue[0] as Queued).deadline);
    }
    return next;
  }

  private timeoutError(rawId: string): string {
    return errorLine(rawId, INTERNAL_ERROR, `Request timed out after ${this.opts.requestTimeoutMs} ms (request_timeout_ms)`, "timeout", {
      timeoutMs: this.opts.requestTimeoutMs,
    });
  }

  private expire(bid: number, p: Pending): void {
    switch (p.kind) {
      case Kind.Client: {
        this.counters.timeouts++;
        const c = p.client;
        if (c === null) return;
        unlink(c, p);
        if (p.token !== 0) this.progress.delete(p.token);
        this.emit(c.id, this.timeoutError(p.rawId));
        if (this.state === "ready") this.cancelAtBackend(bid, "request timed out in rmcp-mux");
        return;
      }
      case Kind.Init:
        this.host.log("error", `backend did not answer initialize within ${this.opts.requestTimeoutMs} ms`);
        return this.host.restartBackend("initialize timed out");
      case Kind.Ping:
        return p.onDone?.(false, "");
      case Kind.Internal:
        return;
    }
  }

  private expireWaiting(c: Client): void {
    const message = `No client slot freed within ${this.opts.requestTimeoutMs} ms: the server allows ${this.opts.maxActiveClients} active clients (max_active_clients)`;
    let answered = false;
    for (const l of c.waitLines) {
      try {
        const m = JSON.parse(l) as { id?: unknown; method?: unknown };
        if (typeof m.method === "string" && isValidId(m.id)) {
          this.emit(c.id, errorLine(this.rawIdOf(l), INTERNAL_ERROR, message, "client_limit"));
          answered = true;
        }
      } catch {
        // a waiting client's garbage is dropped with the connection
      }
    }
    if (!answered) this.emit(c.id, errorLine(NULL_ID, INTERNAL_ERROR, message, "client_limit"));
    c.waitLines = [];
    this.host.closeClient(c.id, "no client slot freed in time");
    this.clientClosed(c.id);
  }

  /** True while a client is owed an answer (for closing a half-closed connection only when it has them all). */
  clientBusy(cid: number): boolean {
    const c = this.clients.get(cid);
    if (c === undefined) return false;
    return !c.active || c.open > 0 || c.queue.length > 0 || c.phase === Phase.Initializing || this.batches.has(cid);
  }

  /** Ends every timer: the router is being discarded. */
  dispose(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  stats(): RouterStats {
    let queued = 0;
    // Clients' requests only: the mux's own (heartbeat pings, the handshake, subscriptions) are not "pending requests".
    let pending = 0;
    for (const c of this.clients.values()) {
      queued += c.queue.length + c.waitLines.length;
      pending += c.open;
    }
    return {
      connected: this.clients.size,
      active: this.activeCount,
      waiting: this.clients.size - this.activeCount,
      pending,
      queued,
      served: this.counters.served,
      timeouts: this.counters.timeouts,
      cancelled: this.counters.cancelled,
      subscriptions: this.subscriptions.size,
    };
  }

  /** How many backend handshakes completed (1 after the first start; +1 per restart). */
  get handshakeCount(): number {
    return this.handshakes;
  }
}
