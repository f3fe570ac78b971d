/**
 * A server's Unix socket, which can be bound before anyone is ready to serve it.
 *
 * The daemon validates its config in a child process (~300 ms with the schema library); binding the
 * sockets meanwhile lets clients connect at once. Connections that arrive before `attach()` wait,
 * their bytes kept in order (up to a cap), and replayed to the handlers when they attach.
 */
import type { Socket, SocketHandler, UnixSocketListener } from "bun";
import { chmodSync } from "node:fs";
import { acceptGate, type AcceptGate, type Pausable } from "./accept-gate.ts";
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

export interface BindOptions {
  /**
   * Whether the socket stops accepting while the daemon is short of file descriptors (accept-gate.ts). The
   * control socket is not: it is how an operator (and a proxy deciding whether to start a daemon) sees the
   * daemon is alive. Its connections are counted all the same.
   */
  pausable?: boolean;
  gate?: AcceptGate;
}

export class Listener implements Pausable {
  private handlers: SocketHandlers | null = null;
  private readonly early = new Map<Socket<never>, EarlyConn>();
  private listener: UnixSocketListener<never> | null = null;
  /** Listeners stopped by a pause: their connections live on, and are closed by a `stop(true)`. */
  private readonly paused: UnixSocketListener<never>[] = [];
  private stopped = false;
  private readonly socketHandler: SocketHandler<never>;

  private constructor(
    readonly path: string,
    private readonly gate: AcceptGate,
  ) {
    this.socketHandler = {
      open: (s) => {
        gate.opened();
        if (this.handlers) this.handlers.open(s);
        else this.early.set(s, { chunks: [], bytes: 0, ended: false });
      },
      data: (s, chunk) => (this.handlers ? this.handlers.data(s, chunk) : this.hold(s, chunk)),
      drain: (s) => this.handlers?.drain(s),
      end: (s) => {
        if (this.handlers) return this.handlers.end(s);
        const h = this.early.get(s);
        if (h) h.ended = true;
      },
      close: (s) => {
        gate.closed();
        if (this.handlers) this.handlers.close(s);
        else this.early.delete(s);
      },
      error: (s, err) => this.handlers?.error(s, err),
    };
  }

  /** Checks the path (stale, live, symlink: see socket-path.ts), then listens with mode 0600. */
  static async bind(path: string, opts: BindOptions = {}): Promise<Listener> {
    const gate = opts.gate ?? acceptGate;
    const l = new Listener(path, gate);
    await l.listen();
    if (opts.pausable !== false) gate.register(l);
    return l;
  }

  private async listen(): Promise<void> {
    await prepareSocketPath(this.path);
    // The socket is born 0600: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      this.listener = Bun.listen<never>({
        unix: this.path,
        // A client may send its requests and shut down its writing side (nc -N): it still gets its answers.
        allowHalfOpen: true,
        socket: this.socketHandler,
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(this.path, 0o600);
  }

  /** Stops accepting; connections stay. Bun removes the socket file, so connecting fails at once meanwhile. */
  pause(): void {
    if (this.listener === null) return;
    this.listener.stop(false);
    this.paused.push(this.listener);
    this.listener = null;
  }

  /** Listens again on the same path (after the same checks as at the start). */
  async resume(): Promise<boolean> {
    if (this.listener !== null || this.stopped) return true;
    try {
      await this.listen();
      return true;
    } catch {
      return false; // the path is taken or cannot be prepared now; the gate tries again
    }
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
    this.stopped = true;
    this.gate.unregister(this);
    this.listener?.stop(closeAll);
    if (!closeAll) return;
    for (const p of this.paused) p.stop(true);
    for (const s of this.early.keys()) s.end();
    this.early.clear();
    removeSocketFile(this.path);
  }
}
