/**
 * What the message families get from the router: the sessions, the backend's state, and the few ways a
 * message may leave. Families never touch sockets or processes; they decide, and the router delivers.
 */
import type { Clock, BackendState, LogLevelName, RouterOptions } from "./types.ts";
import type { Kind, Pending, Session } from "./session.ts";

export interface RouterContext {
  readonly opts: RouterOptions;
  readonly clock: Clock;
  readonly sessions: ReadonlyMap<number, Session>;
  /** What the status reports: answers delivered, requests timed out, requests cancelled by their client. */
  readonly counters: { served: number; timeouts: number; cancelled: number };
  /** The backend's state right now. */
  backendState(): BackendState;
  log(level: LogLevelName, message: string): void;
  /** One line to a client (through its batch, when one is collecting). */
  emit(cid: number, line: string): void;
  /** One line to the backend, as is. */
  toBackend(line: string): void;
  /** A client's request, opened at the backend under a fresh id (returned); `kind` says what its answer needs. */
  forward(c: Session, msg: Record<string, unknown>, line: string, deadline: number, kind: Kind): number;
  /** The open request with backend id `bid`, if any. */
  pendingOf(bid: number): Pending | undefined;
  /** The backend's era, once its handshake showed it. */
  modernBackend(): boolean;
  /** A request of the mux's own; returns its backend id. */
  internal(method: string, params: unknown, kind?: Kind): number;
  /** Closes an open request without an answer: out of the table, its client's chain and its progress token. */
  drop(p: Pending): void;
  /** The raw id text of one message. */
  rawIdOf(line: string): string;
  /** Starts the request clock if it is not running. */
  arm(): void;
}

/**
 * Hooks every family may implement; the router calls them on each family in turn. A family that keeps
 * per-client state forgets it in `clientGone`, so nothing outlives its client.
 */
export interface Family {
  /** A client left (its open requests were already closed). `canTell`: the backend can be told now. */
  clientGone?(c: Session, canTell: boolean): void;
  /** The backend finished its handshake; `replay` after a restart. */
  backendReady?(replay: boolean): void;
  /** The backend process is gone: what it held is void. */
  backendGone?(): void;
}
