/**
 * The control socket's protocol: newline-delimited JSON, one request per line, one answer per
 * request (echoing its `id` when given), plus a stream of events after `subscribe`.
 *
 *   {"cmd":"status"}                → {"ok":true,"status":DaemonStatus}
 *   {"cmd":"restart","name":"mem"}  → {"ok":true,"server":ServerStatus}   (a new child)
 *   {"cmd":"stop","name":"mem"}     → {"ok":true,"server":ServerStatus}
 *   {"cmd":"start","name":"mem"}    → {"ok":true,"server":ServerStatus}
 *   {"cmd":"subscribe"}             → {"ok":true,"status":DaemonStatus}, then {"event":"status","status":…} on each change
 *                                     and once a second; with "ticks":false, on each change only
 *   {"cmd":"reload"}                → {"ok":true,"reload":{"added":[…],"removed":[…],"changed":[…],"unchanged":[…],"failed":[]}}
 *                                     or {"ok":false,"error":"<why the new config was refused>"} (nothing changed)
 *   anything else                   → {"ok":false,"error":"…"}
 */
import type { ReloadSummary } from "../runtime/reload.ts";
import type { DaemonStatus, ServerStatus } from "../runtime/status.ts";

export type { ReloadSummary };

export type ControlCommand = "status" | "restart" | "stop" | "start" | "subscribe" | "reload";

export interface ControlRequest {
  cmd: ControlCommand;
  name?: string;
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
