/**
 * The control socket's protocol: newline-delimited JSON, one request per line, one answer per
 * request (echoing its `id` when given), plus a stream of events after `subscribe`.
 *
 *   {"cmd":"status"}                → {"ok":true,"status":DaemonStatus}
 *   {"cmd":"restart","name":"mem"}  → {"ok":true,"server":ServerStatus}   (a new child)
 *   {"cmd":"restart","name":"mem","refresh":true} → the same, after asking npm again for an npx server's package
 *   {"cmd":"stop","name":"mem"}     → {"ok":true,"server":ServerStatus}
 *   {"cmd":"start","name":"mem"}    → {"ok":true,"server":ServerStatus}
 *   {"cmd":"subscribe"}             → {"ok":true,"status":DaemonStatus}, then {"event":"status","status":…} on each change
 *                                     and once a second; with "ticks":false, on each change only
 *   {"cmd":"reload"}                → {"ok":true,"reload":{"added":[…],"removed":[…],"changed":[…],"unchanged":[…],"failed":[]}}
 *                                     or {"ok":false,"error":"<why the new config was refused>"} (nothing changed)
 *   anything else                   → {"ok":false,"error":"…"}
 */
/*
 * The shapes below are what the daemon reports about itself: the control socket's `status`, the status
 * file and the dashboard all show them. Plain JSON, so any client can read it.
 */
export type ServerState = "starting" | "running" | "lazy" | "backoff" | "stopped" | "failed";

export interface ServerStatus {
  name: string;
  state: ServerState;
  /** Why it is failed, stopped or backing off; null when running. */
  reason: string | null;
  pid: number | null;
  socket: string;
  /**
   * connected: connections (at most `limits.maxConnections`); active: clients with a request in flight (at
   * most `max`, i.e. max_active_clients); waiting: requests waiting for one of those slots; versions: how
   * many connected clients speak each protocol version (a client that named none yet is left out).
   */
  clients: { connected: number; active: number; waiting: number; max: number; versions?: Record<string, number> };
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
  limits: { maxActiveClients: number; maxConnections: number; maxRequestBytes: number; requestTimeoutMs: number; lazyStart: boolean };
  /** The last lines the child wrote to stderr. */
  stderrTail: string[];
  /**
   * Who shares a process: the configured `share`, the policy in force and why, and the running instances (one
   * per workspace or client unless shared). `pid`, `state` and `uptimeMs` above are the shared instance's, else
   * the first one's. Optional so that a status written by an older daemon still reads.
   */
  sharing?: SharingStatus;
}

export interface SharingStatus {
  share: "auto" | "shared" | "per-workspace" | "per-client";
  policy: "shared" | "per-workspace" | "per-client" | "session-aware";
  reason: string;
  /** False while `share = "auto"` has seen nothing to decide by (then `policy` is "shared" for now). */
  decided?: boolean;
  maxInstances: number;
  instances: InstanceStatus[];
}

export interface InstanceStatus {
  /** "global", a workspace (root URIs, or the proxy's folder as a file:// URI), "client:N", or "first:N" until known. */
  key: string;
  pid: number | null;
  cwd: string | null;
  clients: number;
}

export interface DaemonStatus {
  version: string;
  commit: string;
  pid: number;
  uptimeMs: number;
  statusSocket: string | null;
  servers: ServerStatus[];
}

/** What a reload did: the control socket's `{"ok":true,"reload":…}` answer. */
export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  /** Added or changed servers whose new instance could not start (they are not running now). */
  failed: { name: string; error: string }[];
}

export type ControlCommand = "status" | "restart" | "stop" | "start" | "subscribe" | "reload";

export interface ControlRequest {
  cmd: ControlCommand;
  name?: string;
  /** With `restart`: resolve an npx server's package again before the new child starts. */
  refresh?: boolean;
  id?: string | number;
  /** subscribe: also send the status once a second (default true), for counters that move without a change */
  ticks?: boolean;
}

export type ControlAnswer =
  | { ok: true; id?: string | number; status?: DaemonStatus; server?: ServerStatus; reload?: ReloadSummary }
  | { ok: false; id?: string | number; error: string };

export interface ControlEvent {
  event: "status";
  status: DaemonStatus;
}

export const CONTROL_COMMANDS: readonly ControlCommand[] = ["status", "restart", "stop", "start", "subscribe", "reload"];
