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
  /** With `restart`: resolve an npx server's package again before the new child starts. */
  refresh?: boolean;
  id?: string | number;
}

export type ControlAnswer =
  | { ok: true; id?: string | number; status?: DaemonStatus; server?: ServerStatus; reload?: ReloadSummary }
  | { ok: false; id?: string | number; error: string };

export interface ControlEvent {
  event: "status";
  status: DaemonStatus;
}

export const CONTROL_COMMANDS: readonly ControlCommand[] = ["status", "restart", "stop", "start", "subscribe", "reload"];
