/**
 * The Streamable HTTP front: one `Bun.serve` for the daemon, `POST|GET|DELETE /mcp/<server>`, and
 * `GET /health`. Each 2025-era session (Mcp-Session-Id) and each 2026-07-28 stateless request is one
 * client link attached to that server, exactly like a socket client. Loaded (dynamic import) only when
 * [http] is on.
 *
 * A relay of our own rather than the SDK's server transport: that one hosts an McpServer, so it would
 * parse and validate each message, hand us objects and serialise them again, and keep its own session
 * table beside the router's. Here a body goes to the router as the text it is, and an answer comes back
 * as the line the router spliced, found by its raw id.
 */
import type { Server } from "bun";
import type { HttpConfig } from "../../config/http.ts";
import type { Pausable } from "../accept-gate.ts";
import type { Logger } from "../log.ts";
import { emptySpans, methodOf, scanArray, scanTopLevel } from "../../wire/scan.ts";
import { HttpAuth } from "./http-auth.ts";
import { preflight, withCors } from "./http-cors.ts";
import { type Accepts, Exchange } from "./http-exchange.ts";
import { HttpSession } from "./http-session.ts";
import { ensureToken } from "./http-token.ts";
import type { ClientLink, LinkEvents } from "./link.ts";

/** A server as the front needs it (a MuxServer). */
export interface HttpTarget {
  attach(link: ClientLink, hello?: { transport?: "unix" | "http" }): LinkEvents | null;
  readonly config: { max_request_bytes: number; max_client_buffer_bytes: number };
}

export interface HttpFrontDeps {
  lookup(name: string): HttpTarget | undefined;
  log: Logger;
  now?: () => number;
  /**
   * The daemon's accept gate: near the open-files limit it pauses the front with the Unix sockets (no new
   * connections; sessions, open streams and requests in flight go on), and resumes it on the same port.
   */
  gate?: { register(p: Pausable): void; unregister(p: Pausable): void };
}

const spans = emptySpans();
const HELLO = { transport: "http" } as const;

function accepts(req: Request): Accepts {
  const a = req.headers.get("accept");
  if (a === null || a.includes("*/*")) return { json: true, sse: true };
  return { json: a.includes("application/json"), sse: a.includes("text/event-stream") };
}

const text = (status: number, body: string, headers?: Record<string, string>) => new Response(`${body}\n`, { status, headers });

/** A JSON-RPC error as an HTTP answer (no id: it answers the HTTP request, not a message). */
const rpcError = (status: number, code: number, message: string) =>
  Response.json({ jsonrpc: "2.0", id: null, error: { code, message } }, { status });

/** A request's progress token as JSON text (a key comparable with the router's notifications), if any. */
function progressToken(item: string): string | undefined {
  // Most requests carry none: parse only those that name one.
  if (!item.includes('"progressToken"')) return undefined;
  try {
    const t = (JSON.parse(item) as { params?: { _meta?: { progressToken?: unknown } } }).params?._meta?.progressToken;
    return t === undefined ? undefined : JSON.stringify(t);
  } catch {
    return undefined;
  }
}

interface Body {
  /** Raw id text of each request. */
  ids: string[];
  /** Progress tokens of those requests (JSON text). */
  tokens: string[];
  initialize: boolean;
}

/** The requests of a body; null when it is not JSON-RPC at all. */
function readBody(body: string): Body | null {
  const items = body.trimStart().startsWith("[") ? scanArray(body)?.map(([a, b]) => body.slice(a, b)) : [body];
  if (items === undefined || items.length === 0) return null;
  const ids: string[] = [];
  const tokens: string[] = [];
  let initialize = false;
  for (const item of items) {
    if (!scanTopLevel(item, spans)) return null;
    if (spans.methodStart < 0 || spans.idStart < 0) continue;
    const id = item.slice(spans.idStart, spans.idEnd);
    if (id === "null") continue;
    ids.push(id);
    if (methodOf(item, spans) === "initialize") initialize = true;
    const token = progressToken(item);
    if (token !== undefined) tokens.push(token);
  }
  return { ids, tokens, initialize };
}

export class HttpFront implements Pausable {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly auth: HttpAuth;
  /** Listening now; null while paused. */
  private server: Server<undefined> | null;
  /** Paused listeners whose connections are still being served. */
  private readonly draining: Server<undefined>[] = [];
  private readonly port: number;
  private readonly sweeper: ReturnType<typeof setInterval>;
  /** 2026-07-28 stateless requests in flight: each is a session of its own, ended with its POST. */
  private readonly requesters = new Set<HttpSession>();
  private readonly now: () => number;
  /** Where it listens, as a base URL (`http://127.0.0.1:7337`). */
  readonly url: string;

  constructor(
    private readonly cfg: HttpConfig,
    private readonly deps: HttpFrontDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.auth = new HttpAuth(ensureToken(cfg.tokenFile), cfg.allowedOrigins);
    const server = this.listen(cfg.port);
    this.server = server;
    this.port = server.port as number;
    const host = cfg.hostname.includes(":") ? `[${cfg.hostname}]` : cfg.hostname;
    this.url = `http://${host}:${this.port}`;
    deps.gate?.register(this);
    const every = Math.min(30_000, Math.max(50, Math.floor(cfg.sessionIdleMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref?.();
  }

  private listen(port: number): Server<undefined> {
    return Bun.serve({
      hostname: this.cfg.hostname,
      port,
      // No idle cut-off: an answer may take as long as request_timeout_ms and a GET stream may stay quiet for
      // hours; lifting it per request costs more than the rest of the front's work. Sessions expire on their own.
      idleTimeout: 0,
      fetch: (req) => this.front(req),
      error: (e) => {
        this.deps.log("error", `http: ${e.stack ?? e.message}`);
        return text(500, "Internal Server Error");
      },
    });
  }

  /** Stops accepting connections (the gate: out of file descriptors soon); those open go on being served. */
  pause(): void {
    if (this.server === null) return;
    this.server.stop(false);
    this.draining.push(this.server);
    this.server = null;
  }

  /** Listens again on the same address; false when the port could not be had back (tried again later). */
  async resume(): Promise<boolean> {
    if (this.server !== null) return true;
    try {
      this.server = this.listen(this.port);
      return true;
    } catch (e) {
      this.deps.log("warn", `http: cannot listen again on ${this.url}: ${(e as Error).message}`);
      return false;
    }
  }

  /** Requests from a browser page of an allowed origin get CORS headers; everything else goes straight on. */
  private front(req: Request): Response | Promise<Response> {
    const origin = req.headers.get("origin");
    if (origin === null || !this.auth.allows(origin)) return this.route(req);
    if (req.method === "OPTIONS") return preflight(origin);
    const r = this.route(req);
    return r instanceof Promise ? r.then((x) => withCors(x, origin)) : withCors(r, origin);
  }

  private route(req: Request): Response | Promise<Response> {
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", start);
    const path = url.slice(start, q < 0 ? undefined : q);
    if (path === "/health") return req.method === "GET" || req.method === "HEAD" ? text(200, "ok") : text(405, "Method Not Allowed", { Allow: "GET" });
    if (!path.startsWith("/mcp/")) return text(404, "Not Found: MCP servers are at /mcp/<server>");
    const refused = this.auth.check(req);
    if (refused !== null) return refused;
    let name: string;
    try {
      name = decodeURIComponent(path.slice(5));
    } catch {
      return text(404, "Not Found");
    }
    const target = this.deps.lookup(name);
    if (target === undefined) return text(404, `Not Found: no server named ${JSON.stringify(name)} in this daemon`);
    switch (req.method) {
      case "POST":
        return this.post(req, name, target);
      case "GET":
        return this.get(req, name);
      case "DELETE":
        return this.delete(req, name);
      default:
        return text(405, "Method Not Allowed", { Allow: "GET, POST, DELETE" });
    }
  }

  private session(req: Request, name: string): HttpSession | Response {
    const sid = req.headers.get("mcp-session-id");
    if (sid === null) return rpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    const s = this.sessions.get(sid);
    // A deleted, expired or never-issued id, or one of another server: the client must start a new session.
    if (s === undefined || s.server !== name) return rpcError(404, -32001, "Session not found");
    return s;
  }

  private open(name: string, target: HttpTarget, stateless: boolean): HttpSession | Response {
    const id = stateless ? "" : crypto.randomUUID();
    const s = new HttpSession(id, name, { maxQueuedBytes: target.config.max_client_buffer_bytes }, this.now, (gone) => {
      if (gone.id !== "") this.sessions.delete(gone.id);
      else this.requesters.delete(gone);
    });
    const events = target.attach(s, HELLO);
    if (events === null) {
      // Refused: past max_connections (the server said why, as a JSON-RPC error), or stopping.
      if (s.refusal !== null) return new Response(s.refusal, { status: 503, headers: { "Content-Type": "application/json" } });
      return text(503, "Service Unavailable: the server is stopping");
    }
    s.events = events;
    if (!stateless) this.sessions.set(id, s);
    else this.requesters.add(s);
    return s;
  }

  private async post(req: Request, name: string, target: HttpTarget): Promise<Response> {
    const limit = target.config.max_request_bytes;
    // A declared length over the limit is refused before the body is read into memory.
    if (Number(req.headers.get("content-length") ?? 0) > limit)
      return rpcError(413, -32600, `Request too large: over max_request_bytes (${limit} bytes)`);
    const body = await req.text();
    if (body.length > limit && Buffer.byteLength(body) > limit)
      return rpcError(413, -32600, `Request too large: over max_request_bytes (${limit} bytes)`);
    const read = readBody(body);
    if (read === null) return rpcError(400, -32700, "Parse error: the body is not a JSON-RPC message or batch");
    // The router and the child frame on newlines. JSON has none inside strings, so a pretty-printed body's
    // are whitespace: made spaces, it stays one message (a nested line could otherwise reach the child whole).
    const line = body.includes("\n") || body.includes("\r") ? body.replace(/[\r\n]/g, " ") : body;
    let s: HttpSession | Response | null;
    const sid = req.headers.get("mcp-session-id");
    const stateless = sid === null && !read.initialize && (req.headers.get("mcp-protocol-version") ?? "") >= "2026";
    if (sid === null && (read.initialize || stateless)) {
      s = this.open(name, target, stateless);
    } else s = this.session(req, name);
    if (s instanceof Response) return s;
    const session = s;
    if (read.ids.length === 0) {
      session.receive(line);
      if (stateless) session.close();
      return new Response(null, { status: 202 });
    }
    // A reused id would take the earlier POST's answer, and that POST would wait for ever.
    const reused = read.ids.find((id) => session.isWaiting(id));
    if (reused !== undefined) return rpcError(409, -32600, `Invalid Request: id ${reused} is already in use by an unanswered request of this session`);
    const headers: Record<string, string> = stateless ? {} : { "Mcp-Session-Id": session.id };
    const ex = new Exchange(req, read.ids, accepts(req), headers, target.config.max_client_buffer_bytes, (n) => session.overflow(n));
    session.begin(ex, read.tokens);
    session.receive(line);
    if (stateless) void ex.finished.then(() => session.close());
    return ex.response;
  }

  private get(req: Request, name: string): Response {
    const s = this.session(req, name);
    if (s instanceof Response) return s;
    if (!accepts(req).sse) return text(406, "Not Acceptable: the GET stream is text/event-stream");
    return s.openStream({ "Mcp-Session-Id": s.id });
  }

  private delete(req: Request, name: string): Response {
    const s = this.session(req, name);
    if (s instanceof Response) return s;
    this.deps.log("debug", `http: session ${s.id} deleted by its client`);
    s.close();
    return new Response(null, { status: 200 });
  }

  /** Closes sessions idle for session_idle_ms: the router cancels their requests and drops their subscriptions. */
  private sweep(): void {
    const cutoff = this.now() - this.cfg.sessionIdleMs;
    let expired = 0;
    for (const s of this.sessions.values()) {
      s.pruneAborted();
      if (!s.idle || s.lastActive > cutoff) continue;
      s.close();
      expired++;
    }
    if (expired > 0) this.deps.log("info", `http: closed ${expired} session(s) idle for ${this.cfg.sessionIdleMs} ms`);
    // A stateless request whose client went away (a listen waits for ever otherwise) ends with its POST.
    for (const s of [...this.requesters]) s.pruneAborted();
  }

  /** Stop listening and end every session. */
  stop(): void {
    clearInterval(this.sweeper);
    this.deps.gate?.unregister(this);
    for (const s of [...this.sessions.values(), ...this.requesters]) s.close();
    for (const server of [this.server, ...this.draining]) server?.stop(true);
    this.server = null;
  }
}
