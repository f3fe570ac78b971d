/**
 * A server's Unix socket, which can be bound before anyone is ready to serve it.
 *
 * The daemon validates its config in a child process (~300 ms with the schema library); binding the
 * sockets meanwhile lets clients connect at once. Connections that arrive before `attach()` wait,
 * their bytes kept in order (up to a cap), and replayed to the handlers when they attach.
 */
import type { Socket, UnixSocketListener } from "bun";
import { chmodSync } from "node:fs";
import { prepareSocketPath, removeSocketFile } from "./socket-path.ts";

export interface SocketHandlers {
  open(s: Socket<never>): void;
  data(s: Socket<never>, chunk: Buffer): void;
  drain(s: Socket<never>): void;
  end(s: Socket<never>): void;
  close(s: Socket<never>): void;
  error(s: Socket<never>, err: Error): void;
}

interface EarlyConn {
  chunks: Buffer[];
  bytes: number;
  ended: boolean;
}

/** Bytes kept per connection before attach; a client that sends more before the daemon is ready is cut off. */
const HOLD_MAX = 4 * 1024 * 1024;

export class Listener {
  private handlers: SocketHandlers | null = null;
  private readonly early = new Map<Socket<never>, EarlyConn>();
  private listener: UnixSocketListener<never> | null = null;

  private constructor(readonly path: string) {}

  /** Checks the path (stale, live, symlink: see socket-path.ts), then listens with mode 0600. */
  static async bind(path: string): Promise<Listener> {
    const l = new Listener(path);
    await prepareSocketPath(path);
    // The socket is born 0600: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      l.listener = Bun.listen<never>({
        unix: path,
        // A client may send its requests and shut down its writing side (nc -N): it still gets its answers.
        allowHalfOpen: true,
        socket: {
          open: (s) => (l.handlers ? l.handlers.open(s) : void l.early.set(s, { chunks: [], bytes: 0, ended: false })),
          data: (s, chunk) => (l.handlers ? l.handlers.data(s, chunk) : l.hold(s, chunk)),
          drain: (s) => l.handlers?.drain(s),
          end: (s) => {
            if (l.handlers) return l.handlers.end(s);
            const h = l.early.get(s);
            if (h) h.ended = true;
          },
          close: (s) => (l.handlers ? l.handlers.close(s) : void l.early.delete(s)),
          error: (s, err) => l.handlers?.error(s, err),
        },
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    return l;
  }

  private hold(s: Socket<never>, chunk: Buffer): void {
    const h = this.early.get(s);
    if (h === undefined) return;
    h.bytes += chunk.length;
    if (h.bytes > HOLD_MAX) {
      this.early.delete(s);
      s.end();
      return;
    }
    // Bun gives each `data` call a chunk of its own (the buffer is not reused for the next read), so keeping it is safe.
    h.chunks.push(chunk);
  }

  /** From now on the handlers serve this socket; connections that waited are replayed in order. */
  attach(handlers: SocketHandlers): void {
    this.handlers = handlers;
    const early = [...this.early];
    this.early.clear();
    for (const [s, h] of early) {
      handlers.open(s);
      for (const chunk of h.chunks) handlers.data(s, chunk);
      if (h.ended) handlers.end(s);
    }
  }

  /** Stop accepting; with `closeAll`, also close connections and remove the socket file. */
  stop(closeAll: boolean): void {
    this.listener?.stop(closeAll);
    if (!closeAll) return;
    for (const s of this.early.keys()) s.end();
    this.early.clear();
    removeSocketFile(this.path);
  }
}
