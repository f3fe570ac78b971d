/**
 * Talking to a running daemon's control socket: one request and its answer, or a subscription.
 * Used by the CLI and the dashboard; light on purpose (no config, no arktype).
 */
import { dialUnix, type DialedLink } from "../runtime/links/unix-dial.ts";
import type { ControlAnswer, ControlEvent, ControlRequest } from "./protocol.ts";

export class NoDaemonError extends Error {
  override readonly name = "NoDaemonError";
  constructor(readonly socket: string) {
    super(`no rmcp-mux daemon is running (nothing answers on ${socket})`);
  }
}

export interface ControlConnection {
  request(req: ControlRequest): Promise<ControlAnswer>;
  close(): void;
  /** Resolves when the daemon closes the connection. */
  readonly closed: Promise<void>;
}

export async function connectControl(
  socket: string,
  onEvent: (e: ControlEvent) => void = () => {},
): Promise<ControlConnection> {
  // The daemon answers concurrently (a restart takes longer than a status), so answers are matched by id.
  const waiting = new Map<string | number, (a: ControlAnswer) => void>();
  let nextId = 1;
  let conn: DialedLink;
  try {
    conn = await dialUnix(socket, {
      maxLineBytes: 64 * 1024 * 1024,
      maxQueuedBytes: 1024 * 1024,
      onLine(line) {
        const msg = JSON.parse(line) as ControlAnswer | ControlEvent;
        if ("event" in msg) return onEvent(msg);
        // An answer without an id (the request could not be read) belongs to the oldest request.
        const key = msg.id ?? waiting.keys().next().value;
        if (key === undefined) return;
        const resolve = waiting.get(key);
        waiting.delete(key);
        resolve?.(msg);
      },
      onClose() {
        for (const w of waiting.values()) w({ ok: false, error: "the daemon closed the control connection" });
        waiting.clear();
      },
    });
  } catch {
    throw new NoDaemonError(socket);
  }
  return {
    request(req) {
      const id = req.id ?? `c${nextId++}`;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        conn.send(JSON.stringify({ ...req, id }));
      });
    },
    close: () => conn.end(),
    closed: conn.closed,
  };
}

/** One request, one answer, connection closed. */
export async function controlRequest(socket: string, req: ControlRequest, timeoutMs = 30_000): Promise<ControlAnswer> {
  const c = await connectControl(socket);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      c.request(req),
      new Promise<ControlAnswer>((r) => {
        timer = setTimeout(() => r({ ok: false, error: `no answer from the daemon within ${timeoutMs} ms` }), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    c.close();
  }
}
