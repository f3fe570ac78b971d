/**
 * The dashboard's link to the daemon: one subscribed control connection, re-opened with backoff
 * whenever it drops, and a short connection per action (restart, stop, start), so a slow restart
 * never holds up the status stream and answers cannot cross.
 */
import { connectControl, type ControlConnection, controlRequest } from "../control/client.ts";
import type { ControlAnswer } from "../control/protocol.ts";
import type { DaemonStatus } from "../runtime/status.ts";
import type { ActionCmd } from "./model.ts";

export interface LinkEvents {
  status(s: DaemonStatus): void;
  connected(): void;
  lost(error: string, retryMs: number, attempt: number): void;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface DashboardLink {
  send(cmd: ActionCmd, name: string): Promise<ControlAnswer>;
  close(): void;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 2000 };

export function retryDelay(attempt: number, b: Backoff): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
}

export function openLink(socket: string, on: LinkEvents, backoff: Backoff = DEFAULT_BACKOFF): DashboardLink {
  let closed = false;
  let current: ControlConnection | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const lost = (error: string, attempt: number) => {
    if (closed) return;
    const wait = retryDelay(attempt, backoff);
    on.lost(error, wait, attempt);
    timer = setTimeout(() => void connect(attempt), wait);
  };

  const connect = async (failures: number): Promise<void> => {
    timer = null;
    if (closed) return;
    let c: ControlConnection;
    try {
      c = await connectControl(socket, (e) => {
        if (!closed && e.event === "status") on.status(e.status);
      });
    } catch {
      return lost("nothing answers on the control socket", failures + 1);
    }
    if (closed) return c.close();
    current = c;
    const first = await c.request({ cmd: "subscribe" });
    if (closed) return c.close();
    if (!first.ok || first.status === undefined) {
      c.close();
      current = null;
      return lost(first.ok ? "the daemon sent no status" : first.error, failures + 1);
    }
    on.connected();
    on.status(first.status);
    await c.closed;
    current = null;
    lost("the daemon closed the connection", 1);
  };

  void connect(0);
  return {
    async send(cmd, name) {
      try {
        return await controlRequest(socket, { cmd, name });
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      current?.close();
      current = null;
    },
  };
}
