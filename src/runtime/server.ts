/**
 * One configured server: its socket, its router and its supervised child.
 *
 * The router decides; this file only moves bytes and processes: socket chunks into the router,
 * router output into sockets and the child's stdin, child lifecycle into the router.
 */
import type { Socket, UnixSocketListener } from "bun";
import { chmodSync } from "node:fs";
import type { ServerConfig } from "../config/schema.ts";
import { LineDecoder } from "../router/framing.ts";
import { Router } from "../router/router.ts";
import type { BackendState, RouterHost } from "../router/types.ts";
import { Backoff } from "./backoff.ts";
import { Child, SpawnError } from "./child.ts";
import { createLogger, type Logger } from "./log.ts";
import { Outbox } from "./outbox.ts";
import { prepareSocketPath, removeSocketFile } from "./socket-path.ts";
import { VERSION } from "../version.ts";

interface Conn {
  cid: number;
  decoder: LineDecoder;
  outbox: Outbox;
  closing: boolean;
}

export interface ServerStatus {
  name: string;
  socket: string;
  state: BackendState;
  pid: number | null;
  restarts: number;
  lastRestartReason: string | null;
  startedAt: number | null;
  connected: number;
  active: number;
  waiting: number;
  pending: number;
  queued: number;
  served: number;
}

export class MuxServer {
  readonly router: Router;
  private readonly log: Logger;
  private listener: UnixSocketListener<Conn> | null = null;
  private readonly conns = new Map<number, Socket<Conn>>();
  private nextCid = 1;
  private child: Child | null = null;
  private childStartedAt = 0;
  private readonly backoff: Backoff;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private stopping = false;
  /** Set while we end the child on purpose, so its exit is not counted as a failure. */
  private replacing: string | null = null;
  private restarts = 0;
  private lastRestartReason: string | null = null;

  constructor(readonly config: ServerConfig) {
    this.log = createLogger(config.name);
    this.backoff = new Backoff(config);
    const host: RouterHost = {
      toClient: (cid, line) => this.conns.get(cid)?.data.outbox.push(line),
      toBackend: (line) => this.child?.send(line),
      closeClient: (cid, reason) => this.closeClient(cid, reason),
      wantBackend: () => this.spawnChild(),
      restartBackend: (reason) => void this.restart(reason),
      log: this.log,
    };
    this.router = new Router(host, {
      maxActiveClients: config.max_active_clients,
      requestTimeoutMs: config.request_timeout_ms,
      clientInfo: { name: "rmcp-mux", version: VERSION },
    });
  }

  async start(): Promise<void> {
    const path = this.config.socket;
    await prepareSocketPath(path);
    // The socket is born 0600: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      this.listener = Bun.listen<Conn>({
        unix: path,
        socket: {
          open: (s) => this.onOpen(s),
          data: (s, chunk) => s.data.decoder.push(chunk),
          drain: (s) => s.data.outbox.drain(),
          close: (s) => this.onClose(s),
          error: (s, err) => this.log("warn", `client ${s.data?.cid}: ${err.message}`),
        },
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    this.log("info", `listening on ${path}`);
    if (!this.config.lazy_start) this.spawnChild();
  }

  private onOpen(s: Socket<Conn>): void {
    const cid = this.nextCid++;
    const conn: Conn = {
      cid,
      closing: false,
      decoder: new LineDecoder(this.config.max_request_bytes, {
        onLine: (l) => this.router.clientLine(cid, l),
        onOversize: (n) => this.router.clientOversize(cid, n, this.config.max_request_bytes),
      }),
      outbox: new Outbox(s, this.config.max_client_buffer_bytes, (n) =>
        this.closeClient(cid, `it is not reading: ${n} bytes queued, over max_client_buffer_bytes`),
      ),
    };
    s.data = conn;
    if (this.stopping) return void s.end();
    this.conns.set(cid, s);
    this.router.clientConnected(cid);
  }

  private onClose(s: Socket<Conn>): void {
    const conn = s.data;
    if (conn === undefined || !this.conns.delete(conn.cid)) return;
    conn.outbox.close();
    this.router.clientClosed(conn.cid);
  }

  private closeClient(cid: number, reason: string): void {
    const s = this.conns.get(cid);
    if (s === undefined) return;
    this.log("warn", `disconnecting client ${cid}: ${reason}`);
    s.data.outbox.flush();
    s.end();
  }

  private spawnChild(): void {
    if (this.child !== null || this.stopping || this.restartTimer !== null) return;
    const c = this.config;
    let child: Child;
    try {
      child = new Child(
        { cmd: c.cmd, args: c.args, env: c.env, cwd: c.cwd, maxLineBytes: c.max_response_bytes },
        { onLine: (l) => this.router.backendLine(l), onExit: (r) => this.onChildExit(child, r) },
        this.log,
      );
    } catch (e) {
      if (!(e instanceof SpawnError)) throw e;
      this.log("error", e.message);
      this.childStartedAt = Date.now();
      return this.afterRun(e.message);
    }
    this.child = child;
    this.childStartedAt = Date.now();
    this.log("info", `started pid ${child.pid}: ${c.cmd} ${c.args.join(" ")}`.trimEnd());
    this.router.backendStarted();
  }

  private onChildExit(child: Child, reason: string): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.stopping) return this.router.backendExited("the daemon is shutting down", false);
    if (this.replacing !== null) {
      const why = this.replacing;
      this.replacing = null;
      this.router.backendExited(why, true);
      this.noteRestart(why);
      return this.spawnChild();
    }
    this.log("warn", `pid ${child.pid} ended: ${reason}`);
    this.afterRun(reason);
  }

  /** A run ended on its own (or never started): back off, or give up after max_restarts. */
  private afterRun(reason: string): void {
    const delay = this.backoff.runEnded(Date.now() - this.childStartedAt);
    if (delay === undefined) {
      const why = `${reason}; gave up after ${this.backoff.consecutiveFailures} failed runs (max_restarts=${this.config.max_restarts})`;
      this.log("error", why);
      return this.router.backendExited(why, false);
    }
    this.router.backendExited(reason, true);
    this.log("info", `restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.noteRestart(reason);
      this.spawnChild();
    }, delay);
  }

  private noteRestart(reason: string): void {
    this.restarts++;
    this.lastRestartReason = reason;
  }

  /** Replace the child now (operator request or an unusable backend). Clients stay connected. */
  async restart(reason: string): Promise<void> {
    if (this.stopping) return;
    if (this.restartTimer !== null) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    this.backoff.reset();
    if (this.child === null) {
      this.noteRestart(reason);
      return this.spawnChild();
    }
    this.replacing = reason;
    await this.child.stop(this.config.shutdown_grace_ms);
  }

  /** Stop accepting, answer what is pending, end the child, remove the socket. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.listener?.stop(false);
    this.router.backendExited("the daemon is shutting down", false);
    const child = this.child;
    if (child !== null) await child.stop(this.config.shutdown_grace_ms);
    for (const s of this.conns.values()) {
      s.data.outbox.flush();
      s.end();
    }
    this.router.dispose();
    this.listener?.stop(true);
    removeSocketFile(this.config.socket);
    this.log("info", "stopped");
  }

  /** Kill the child at once: the daemon is going down hard. */
  killNow(): void {
    this.child?.kill();
  }

  status(): ServerStatus {
    const st = this.router.stats();
    return {
      name: this.config.name,
      socket: this.config.socket,
      state: this.router.backendState,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      lastRestartReason: this.lastRestartReason,
      startedAt: this.child ? this.childStartedAt : null,
      connected: st.connected,
      active: st.active,
      waiting: st.waiting,
      pending: st.pending,
      queued: st.queued,
      served: st.served,
    };
  }
}
