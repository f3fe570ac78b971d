/**
 * What the daemon reports about itself: the control socket's `status`, the status file and the
 * dashboard all show these shapes. Plain JSON, so any client can read it.
 */
import type { BackendState } from "../router/types.ts";

export type ServerState = "starting" | "running" | "lazy" | "backoff" | "stopped" | "failed";

export interface ServerStatus {
  name: string;
  state: ServerState;
  /** Why it is failed, stopped or backing off; null when running. */
  reason: string | null;
  pid: number | null;
  socket: string;
  clients: { connected: number; active: number; queued: number; max: number };
  pending: number;
  /** Requests answered by the backend since the daemon started. */
  served: number;
  timeouts: number;
  restarts: number;
  lastRestartReason: string | null;
  /** Since the current child started; null without a child. */
  uptimeMs: number | null;
  heartbeat: { enabled: boolean; latencyMs: number | null; failures: number };
  /** What the child runs: for an npx server, the resolved `node BIN …` once npm has answered. */
  command: string[];
  /** For npx servers: how the command was launched (resolved, or as written and why). */
  launch?: string;
  limits: { maxActiveClients: number; maxRequestBytes: number; requestTimeoutMs: number; lazyStart: boolean };
  /** The last lines the child wrote to stderr. */
  stderrTail: string[];
}

export interface DaemonStatus {
  version: string;
  commit: string;
  pid: number;
  uptimeMs: number;
  statusSocket: string | null;
  servers: ServerStatus[];
}

/**
 * The operator's view of the router's backend state. A process waiting for its first client's
 * handshake is running: it is up, and the handshake waits on the client, not on the server.
 */
export function stateOf(backend: BackendState, lazy: boolean, restartScheduled: boolean): ServerState {
  switch (backend) {
    case "idle":
      return lazy ? "lazy" : "starting";
    case "handshaking":
      return "starting";
    case "starting":
    case "ready":
      return "running";
    case "down":
      return restartScheduled ? "backoff" : "starting";
    case "failed":
      return "failed";
    case "stopped":
      return "stopped";
  }
}

/** A fixed-size ring of recent lines. */
export class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly max: number) {}
  push(line: string): void {
    this.lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  toArray(): string[] {
    return [...this.lines];
  }
}
