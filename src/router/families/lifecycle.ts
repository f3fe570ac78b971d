/**
 * The backend session's life: its state, its one handshake (cached and answered to every client with the
 * client's own id), the replay after a restart, liveness probes, and `ping`.
 *
 * Towards the backend the mux is one client: the first client's `initialize` goes to it, with the
 * capabilities the mux can route and the newest protocol version the mux can shape for every client
 * (versions.ts); every later client is answered from the cached result and never causes a second
 * `initialize` or `notifications/initialized` on the same process. Each client is answered the version it
 * asked for when the backend's session can serve it, with the backend's capabilities as that version
 * defines them. Requests a client sends before the backend is ready wait in its queue.
 */
import { errorLine, INTERNAL_ERROR, notificationLine, resultLine, type MuxErrorReason } from "../../wire/jsonrpc.ts";
import type { Spans } from "../../wire/scan.ts";
import type { Family, RouterContext } from "../context.ts";
import { discoverFromInitialize, envelopeFromInitialize, initializeFromDiscover, refusesLegacy } from "../era/envelope.ts";
import { Kind, Phase, type Session } from "../session.ts";
import type { BackendState, RouterHost } from "../types.ts";
import { answerVersion, capabilitiesFor, GREETING_VERSION, isLegacyVersion, shapeHandshake } from "../versions.ts";

export class Lifecycle implements Family {
  state: BackendState = "idle";
  /** Why the backend is unavailable (failed or stopped), for the errors that say so. */
  private failure = "";
  private initParams: Record<string, unknown> | null = null;
  private initResult: string | null = null;
  /** The cached result, parsed once: the base of each version's answer. */
  private initObject: Record<string, unknown> = {};
  /** The version the backend negotiated. */
  private backendVersion = "";
  /** The answer per client version, built on first use (at most one per known version). */
  private readonly resultByVersion = new Map<string, string>();
  private serverCaps: Record<string, unknown> = {};
  private handshakes = 0;
  /**
   * The backend's era, learned from its answer to `initialize` (a modern-only server refuses it, naming
   * only modern versions) and kept across restarts, so a known-modern server is greeted with
   * `server/discover` directly. Nothing but `initialize` is ever sent first to a server that may be legacy.
   */
  era: "unknown" | "legacy" | "modern" = "unknown";
  private greeting: "initialize" | "server/discover" = "initialize";
  /** A modern backend's `server/discover` result. */
  private discover: Record<string, unknown> | null = null;
  /** The `server/discover` answer for modern clients, when it may be served to every client. */
  discoverText: string | null = null;
  /** Liveness probes in flight, by backend id. */
  private readonly probes = new Map<number, (ok: boolean) => void>();

  constructor(
    private readonly ctx: RouterContext,
    private readonly host: RouterHost,
    /** Routes a client request as if it had just arrived (a queued one, once the backend is ready). */
    private readonly request: (c: Session, msg: Record<string, unknown>, line: string, deadline: number) => void,
    /** Every family's `backendReady`, in order, this one's last. */
    private readonly announceReady: (replay: boolean) => void,
  ) {}

  /** The handshake is cached: a client's `initialize` is answered at once. */
  get cached(): boolean {
    return this.initResult !== null;
  }

  /** The client capabilities the mux declared to the backend; null before its first `initialize`. */
  get declaredCapabilities(): Record<string, unknown> | null {
    return (this.initParams?.capabilities as Record<string, unknown> | undefined) ?? null;
  }

  /** How many backend handshakes completed (1 after the first start; +1 per restart). */
  get handshakeCount(): number {
    return this.handshakes;
  }

  /** The backend's own server capabilities, from its last handshake (empty before one). */
  get capabilities(): Readonly<Record<string, unknown>> {
    return this.serverCaps;
  }

  setState(next: BackendState): void {
    if (this.state === next) return;
    this.state = next;
    this.host.stateChanged?.(next);
  }

  /** Failed or stopped: nothing will serve a request until an operator acts. */
  get final(): boolean {
    return this.state === "failed" || this.state === "stopped";
  }

  unavailable(rawId: string, why: MuxErrorReason = "backend_unavailable"): string {
    const detail = this.failure ? `: ${this.failure}` : "";
    return errorLine(rawId, INTERNAL_ERROR, `Backend unavailable (${this.state}${detail})`, why);
  }

  // ───────────── client side ─────────────

  /** Client `ping`: answered by the mux. */
  ping(c: Session, _msg: Record<string, unknown>, line: string): void {
    this.ctx.emit(c.id, resultLine(this.ctx.rawIdOf(line), "{}"));
  }

  /** The backend's cached `initialize` result (JSON text), once it has answered. */
  get result(): string | null {
    return this.initResult;
  }

  /** Client `initialize`. */
  initialize(c: Session, msg: Record<string, unknown>, line: string): void {
    const params = this.declare(c, msg);
    c.initRawId = this.ctx.rawIdOf(line);
    c.phase = Phase.Initializing;
    if (this.initResult !== null) return this.completeInitialize(c);
    if (this.final) {
      c.phase = Phase.New;
      return this.ctx.emit(c.id, this.unavailable(c.initRawId));
    }
    c.initDeadline = this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs;
    this.ctx.arm();
    this.handshakeWith(params);
  }

  /**
   * A client whose `initialize` the runtime answered already (from the handshake of another process of the same
   * server): its session is ready at once, and this backend is handshaken with its parameters if no client did.
   */
  adopt(c: Session, msg: Record<string, unknown>, answered: string): void {
    const params = this.declare(c, msg);
    // The version it was answered (shapeHandshake, by the runtime): what this client may be sent.
    c.version = answered;
    c.phase = Phase.Ready;
    if (this.state === "idle") this.host.wantBackend();
    if (this.initResult === null && !this.final) this.handshakeWith(params);
  }

  /** What a client's `initialize` declares: its capabilities and protocol version. */
  private declare(c: Session, msg: Record<string, unknown>): Record<string, unknown> {
    const params = (msg.params ?? {}) as Record<string, unknown>;
    const caps = (params.capabilities ?? {}) as Record<string, unknown>;
    c.caps = { roots: caps.roots != null, sampling: caps.sampling != null, elicitation: caps.elicitation != null };
    c.version = typeof params.protocolVersion === "string" ? params.protocolVersion : "";
    const info = (params.clientInfo ?? {}) as { name?: unknown; version?: unknown };
    this.ctx.log("debug", `client ${c.id} handshake: ${String(info.name ?? "?")} ${String(info.version ?? "")} asks for protocol ${c.version || "(none)"}`);
    return params;
  }

  private handshakeWith(params: Record<string, unknown>): void {
    if (this.initParams === null) {
      this.initParams = {
        ...params,
        // Not the first client's version: that would hold every later client to it.
        protocolVersion: GREETING_VERSION,
        // The backend sees one client: the mux, able to route all of these to the clients that declare them.
        capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
        clientInfo: this.ctx.opts.clientInfo ?? { name: "rmcp-mux", version: "0" },
      };
      if (this.state === "starting") this.sendInitialize();
    }
  }

  /**
   * A modern client needs the backend: it never sends `initialize`, so the mux greets the backend with
   * its own (the newest 2025 version and the capabilities it can route) to learn the backend's era.
   */
  want(): void {
    this.handshakeWith({});
  }

  /** The `_meta` envelope of the mux's own requests to a modern backend. */
  muxEnvelope(): Record<string, unknown> {
    return envelopeFromInitialize(this.initParams, this.ctx.opts.clientInfo ?? { name: "rmcp-mux", version: "0" });
  }

  /** Client `notifications/initialized`: the mux sent its own, once, when the backend answered. */
  initialized(): void {}

  private completeInitialize(c: Session): void {
    // The client's own version when the backend's session can serve it, else the backend's: the spec
    // lets a server answer a version it supports, and the client decides whether to go on. From here on
    // `c.version` is the negotiated version, which decides what this client may be sent.
    const asked = c.version;
    if (this.discover === null) {
      c.version = answerVersion(asked, this.backendVersion);
      this.ctx.emit(c.id, resultLine(c.initRawId, this.resultFor(c.version)));
    } else {
      // A modern backend (the reverse bridge, see era/): any 2025 version, described from its server/discover.
      c.version = isLegacyVersion(asked) ? asked : GREETING_VERSION;
      this.ctx.emit(c.id, resultLine(c.initRawId, JSON.stringify(forVersion(initializeFromDiscover(this.discover, c.version), c.version))));
    }
    this.ctx.log("debug", `client ${c.id} handshake done: protocol ${c.version}${asked === c.version ? "" : ` (asked ${asked || "none"})`}`);
    c.phase = Phase.Ready;
    if (this.state === "ready") this.flushQueue(c);
  }

  /** The cached result as a client at `version` sees it: its version, and only the capabilities it defines. */
  private resultFor(version: string): string {
    const raw = this.initResult as string;
    if (version === this.backendVersion) return raw;
    let text = this.resultByVersion.get(version);
    if (text === undefined) {
      text = shapeHandshake(raw, version).result;
      this.resultByVersion.set(version, text);
    }
    return text;
  }

  private flushQueue(c: Session): void {
    if (c.queue.length === 0) return;
    const q = c.queue;
    c.queue = [];
    for (const item of q) this.request(c, item.msg, item.line, item.deadline);
  }

  // ───────────── backend side ─────────────

  /** A backend process is up. The handshake is replayed at once when a client already did it. */
  backendStarted(): void {
    this.setState("starting");
    this.failure = "";
    if (this.initParams !== null) this.sendInitialize();
  }

  private sendInitialize(): void {
    this.setState("handshaking");
    this.greeting = this.era === "modern" ? "server/discover" : "initialize";
    const params = this.era === "modern" ? { _meta: this.muxEnvelope() } : this.initParams;
    this.ctx.internal(this.greeting, params, Kind.Init);
  }

  /** The backend answered `initialize`. */
  backendAnswered(line: string, s: Spans): void {
    if (s.resultStart < 0 && this.greeting === "initialize" && this.refusedAsModern(line, s)) {
      // A modern-only server refuses `initialize` and stays open for a modern greeting.
      this.era = "modern";
      this.ctx.log("info", "backend serves only the 2026-07-28 era: greeting it with server/discover");
      return this.sendInitialize();
    }
    if (s.resultStart < 0) {
      // The backend refused the handshake: pass its error on, and let the next initialize try again.
      const error = s.errorStart >= 0 ? line.slice(s.errorStart, s.errorEnd) : '{"code":-32603,"message":"initialize failed"}';
      this.ctx.log("error", `backend refused initialize: ${error}`);
      for (const c of this.ctx.sessions.values()) {
        if (c.era === "modern") {
          // A modern client has no handshake to fail: what it queued gets the backend's refusal.
          for (const q of c.queue.splice(0)) this.ctx.emit(c.id, `{"jsonrpc":"2.0","id":${this.ctx.rawIdOf(q.line)},"error":${error}}`);
          continue;
        }
        if (c.phase !== Phase.Initializing) continue;
        c.phase = Phase.New;
        this.ctx.emit(c.id, `{"jsonrpc":"2.0","id":${c.initRawId},"error":${error}}`);
      }
      this.initParams = null;
      this.setState("starting");
      return;
    }
    const replay = this.initResult !== null;
    this.initResult = line.slice(s.resultStart, s.resultEnd);
    this.resultByVersion.clear();
    try {
      const obj = JSON.parse(this.initResult) as Record<string, unknown>;
      this.initObject = typeof obj === "object" && obj !== null ? obj : {};
    } catch {
      this.initObject = {};
    }
    const caps = this.initObject.capabilities;
    this.serverCaps = typeof caps === "object" && caps !== null ? (caps as Record<string, unknown>) : {};
    const v = this.initObject.protocolVersion;
    this.backendVersion = typeof v === "string" ? v : "";
    const result = this.initObject;
    this.setState("ready");
    this.handshakes++;
    if (this.greeting === "initialize") {
      this.era = "legacy";
      this.discover = null;
      this.discoverText = JSON.stringify(discoverFromInitialize(result));
      this.ctx.toBackend(notificationLine("notifications/initialized"));
    } else {
      this.discover = result;
      // A result scoped "private" is never served to another client: each client's discover then goes to the backend.
      this.discoverText = result.cacheScope === "public" ? this.initResult : null;
    }
    this.ctx.log("info", replay ? "backend handshake replayed after restart" : "backend initialized");
    this.announceReady(replay);
  }

  /** Last of the ready hooks: waiting clients complete their handshake or send what they queued. */
  backendReady(replay: boolean): void {
    for (const c of this.ctx.sessions.values()) {
      if (c.phase === Phase.Initializing) this.completeInitialize(c);
      else this.flushQueue(c);
      // A modern client hears of changes only on its listens (see era/listen.ts).
      if (replay && c.phase === Phase.Ready && c.era === "legacy") this.announceListsChanged(c.id);
    }
  }

  /** After a restart the new process may offer other tools, prompts or resources. */
  private announceListsChanged(cid: number): void {
    for (const kind of ["tools", "prompts", "resources"]) {
      if (this.serverCaps[kind] != null) this.ctx.emit(cid, notificationLine(`notifications/${kind}/list_changed`));
    }
  }

  /** The process is gone; `willRestart` false: no other is coming, so what waits is failed now. */
  backendExited(reason: string, willRestart: boolean): void {
    this.probes.clear();
    this.setState(willRestart ? "down" : "failed");
    if (!willRestart) this.failAll(reason, "backend_failed");
  }

  /** An operator stopped the server: like a final exit, but with its own wording. */
  backendStopped(): void {
    this.setState("stopped");
    this.failAll("stopped by an operator", "backend_unavailable");
  }

  private failAll(reason: string, why: MuxErrorReason): void {
    this.failure = reason;
    for (const c of this.ctx.sessions.values()) {
      if (c.phase === Phase.Initializing && this.initResult === null) {
        c.phase = Phase.New;
        this.ctx.emit(c.id, this.unavailable(c.initRawId, why));
      }
      const q = c.queue;
      c.queue = [];
      for (const item of q) this.ctx.emit(c.id, this.unavailable(this.ctx.rawIdOf(item.line), why));
    }
  }

  private refusedAsModern(line: string, s: Spans): boolean {
    if (s.errorStart < 0) return false;
    try {
      return refusesLegacy(JSON.parse(line.slice(s.errorStart, s.errorEnd)));
    } catch {
      return false;
    }
  }

  /** A 2025 client is answered from the cached handshake; a modern backend's answer is built per client. */
  get modernBackend(): boolean {
    return this.era === "modern" && this.state !== "idle";
  }

  // ───────────── liveness ─────────────

  /**
   * A liveness probe with a mux-owned id: ids come from the same counter as client requests, so no
   * client can collide with it. `done` gets false on an error answer or a timeout; the caller keeps
   * its own, shorter clock as well.
   */
  probe(done: (ok: boolean) => void): boolean {
    // Nothing but the handshake may come first (some servers exit on anything else): a process waiting for
    // its first client is greeted by the mux itself, and probed once that handshake is done.
    if (this.state === "starting") this.want();
    if (this.state !== "ready") return false;
    // The 2026-07-28 era has no ping: a modern backend is probed with server/discover.
    const modern = this.era === "modern";
    this.probes.set(this.ctx.internal(modern ? "server/discover" : "ping", modern ? { _meta: this.muxEnvelope() } : undefined, Kind.Ping), done);
    return true;
  }

  probeSettled(bid: number, ok: boolean): void {
    const done = this.probes.get(bid);
    this.probes.delete(bid);
    done?.(ok);
  }
}

/** An initialize result for a client at `version`: only the capabilities its version defines. */
function forVersion(result: Record<string, unknown>, version: string): Record<string, unknown> {
  const caps = result.capabilities;
  return typeof caps === "object" && caps !== null ? { ...result, capabilities: capabilitiesFor(caps as Record<string, unknown>, version) } : result;
}
