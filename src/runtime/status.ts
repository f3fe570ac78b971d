/**
 * How the daemon's state becomes what it reports (the shapes themselves belong to the control
 * protocol, which the status file and the dashboard share).
 */
import type { BackendState } from "../router/types.ts";

import type { ServerState } from "../control/protocol.ts";

export type { DaemonStatus, ServerState, ServerStatus } from "../control/protocol.ts";

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
