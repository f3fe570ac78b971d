/** The router's view of the world: what it asks the runtime to do, and how it tells time. */
import type { SharingHint } from "./sharing.ts";

export type LogLevelName = "debug" | "info" | "warn" | "error";

export interface RouterHost {
  /** One message for one client, without the trailing newline. */
  toClient(cid: number, line: string): void;
  /** One message for the backend's stdin, without the trailing newline. */
  toBackend(line: string): void;
  /** Close a client connection after what was already sent to it has been written. */
  closeClient(cid: number, reason: string): void;
  /** A client needs the backend and none is running (lazy start). */
  wantBackend(): void;
  /** The backend is alive but unusable (its initialize timed out): replace it. */
  restartBackend(reason: string): void;
  log(level: LogLevelName, message: string): void;
  /** The backend's state moved (for status reporting). */
  stateChanged?(state: BackendState): void;
  /** What the router observed about how this server can be shared (for `share = "auto"`). */
  sharingHint?(hint: SharingHint): void;
}

export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface RouterOptions {
  maxActiveClients: number;
  requestTimeoutMs: number;
  /** Name and version the mux presents to the backend as its MCP client. */
  clientInfo?: { name: string; version: string };
  clock?: Clock;
}

/**
 * The backend as the router sees it.
 * idle: not started (lazy_start) · starting: process up, no handshake sent yet · handshaking ·
 * ready · down: exited, a restart is coming · failed: no restart is coming · stopped: by an operator.
 */
export type BackendState = "idle" | "starting" | "handshaking" | "ready" | "down" | "failed" | "stopped";

export interface RouterStats {
  connected: number;
  /** Clients with a request in flight (each holds one of `max_active_clients` slots). */
  active: number;
  /** Requests waiting for a client slot. */
  waiting: number;
  /** Client requests open at the backend. */
  pending: number;
  /** Client requests held until the backend (or the client's own handshake) is ready. */
  queued: number;
  served: number;
  timeouts: number;
  cancelled: number;
  subscriptions: number;
  /** Connected clients per protocol version. */
  versions: Record<string, number>;
}

/** How many entries each of the router's tables holds: all zero once every client has left and nothing is open. */
export interface RouterFootprint {
  clients: number;
  /** Requests open at the backend, the mux's own included. */
  pending: number;
  progress: number;
  subscriptions: number;
  logLevels: number;
  tasks: number;
  batches: number;
  serverRequests: number;
  serverRequestIds: number;
  elicitations: number;
  /** Clients whose workspace the runtime named (session-aware `_meta`). */
  workspaces: number;
  /** The era tables kept per client: bridged listens, per-request log levels, input rounds, 2025 clients' envelopes. */
  eras: number;
}
