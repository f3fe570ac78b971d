/**
 * Logging: each client sets its own level, the backend (one session) runs at the most verbose level any
 * client wants, and `notifications/message` reaches each client whose level admits it.
 *
 * Only for a backend that declares the `logging` capability: answering `{}` for one that does not would
 * fake a capability it lacks. Then `logging/setLevel` goes to the backend as it is, and the client gets
 * the backend's own answer (usually -32601), as it would without the mux.
 */
import { errorLine, INVALID_PARAMS, resultLine } from "../../wire/jsonrpc.ts";
import type { Family, RouterContext } from "../context.ts";
import { Kind, Phase, type Session } from "../session.ts";

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type LogLevel = (typeof LEVELS)[number];

/** A level's rank (higher is more severe); -1 for anything that is not a level. */
export function levelRank(level: unknown): number {
  return typeof level === "string" ? LEVELS.indexOf(level as LogLevel) : -1;
}

/** Each client's level, and what the backend was last told. Pure. */
export class LogLevels {
  private readonly byClient = new Map<number, number>();
  /** The level last sent to the backend, as a rank; -1 when none was sent. */
  private sent = -1;

  set(cid: number, rank: number): void {
    this.byClient.set(cid, rank);
  }

  /** A client's own level, as a rank; undefined when it set none. */
  of(cid: number): number | undefined {
    return this.byClient.get(cid);
  }

  remove(cid: number): void {
    this.byClient.delete(cid);
  }

  /** Clients with a level of their own. */
  get size(): number {
    return this.byClient.size;
  }

  /** True when a client at `rank` should see a message of `messageRank`. No level set: it sees all. */
  admits(cid: number, messageRank: number): boolean {
    const r = this.byClient.get(cid);
    return r === undefined || messageRank < 0 || messageRank >= r;
  }

  /** The level the backend should now run at, or undefined when it is already there (or nobody asked). */
  wanted(): LogLevel | undefined {
    let min = Infinity;
    for (const r of this.byClient.values()) if (r < min) min = r;
    if (min === Infinity || min === this.sent) return undefined;
    this.sent = min;
    return LEVELS[min];
  }

  /** A new backend process starts at its own default: forget what the old one was told. */
  backendReset(): void {
    this.sent = -1;
  }
}

export class Logging implements Family {
  readonly levels = new LogLevels();

  constructor(
    private readonly ctx: RouterContext,
    /** The backend's server capabilities (from its handshake). */
    private readonly backendCaps: () => Readonly<Record<string, unknown>>,
  ) {}

  private get backendLogs(): boolean {
    return this.backendCaps().logging != null;
  }

  /** Client `logging/setLevel`: remembered for that client, answered here; forwarded when the backend has no logging. */
  setLevel(c: Session, msg: Record<string, unknown>, line: string, deadline: number): void {
    if (!this.backendLogs) return void this.ctx.forward(c, msg, line, deadline, Kind.Client);
    const rank = levelRank((msg.params as { level?: unknown } | undefined)?.level);
    const rawId = this.ctx.rawIdOf(line);
    if (rank < 0) {
      return this.ctx.emit(c.id, errorLine(rawId, INVALID_PARAMS, "Invalid params: unknown logging level", "invalid_request"));
    }
    this.levels.set(c.id, rank);
    this.push();
    this.ctx.emit(c.id, resultLine(rawId, "{}"));
  }

  /** Backend `notifications/message` of a 2025 backend: to every 2025 client whose level admits it. */
  serverMessage(line: string, rank: number): void {
    for (const c of this.ctx.sessions.values()) {
      if (c.phase === Phase.Ready && c.era === "legacy" && this.levels.admits(c.id, rank)) this.ctx.emit(c.id, line);
    }
  }

  /** A modern client asked a 2025 backend for logs at `rank` in one request: the backend runs at least that verbose. */
  want(cid: number, rank: number): void {
    const had = this.levels.of(cid);
    if (had !== undefined && had <= rank) return;
    this.levels.set(cid, rank);
    this.push();
  }

  private push(): void {
    // A modern backend has no session level: each request carries its own (see era/request-logs.ts).
    if (this.ctx.backendState() !== "ready" || !this.backendLogs || this.ctx.modernBackend()) return;
    const level = this.levels.wanted();
    if (level !== undefined) this.ctx.internal("logging/setLevel", { level });
  }

  clientGone(c: Session, canTell: boolean): void {
    this.levels.remove(c.id);
    if (canTell) this.push();
  }

  /** What the previous process was told must be told to this one too. */
  backendReady(): void {
    this.levels.backendReset();
    this.push();
  }
}
