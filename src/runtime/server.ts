/**
 * One configured server: its socket, its router and its supervised child.
 *
 * The router decides; this file only moves bytes and processes: socket chunks into the router,
 * router output into sockets and the child's stdin, child lifecycle into the router.
 */
import type { Socket } from "bun";
import type { ServerConfig } from "../config/schema.ts";
import { LineDecoder } from "../router/framing.ts";
import { Router } from "../router/router.ts";
import type { RouterHost } from "../router/types.ts";
import { VERSION } from "../version.ts";
import { Backoff } from "./backoff.ts";
import { Child, SpawnError } from "./child.ts";
import { Heartbeat } from "./heartbeat.ts";
import { reapLeftover, removeRecord, writeRecord } from "./leftovers.ts";
import { createLogger, type Logger } from "./log.ts";
import { Outbox } from "./outbox.ts";
import { Listener } from "./listener.ts";
import { StatusFile } from "./status-file.ts";
import { stateOf, Tail, type ServerStatus } from "./status.ts";

interface Conn {
  cid: number;
  decoder: LineDecoder;
  outbox: Outbox;
  /** The client shut down its writing side: close once it has every answer it is owed. */
  eof: boolean;
}

export class MuxServer {
  readonly router: Router;
  private readonly log: Logger;
  private listener: Listener | null = null;
  private readonly conns = new Map<number, Socket<Conn>>();
  private nextCid = 1;
  private child: Child | null = null;
  private childStartedAt = 0;
  private readonly backoff: Backoff;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private stopping = false;
  /** Why the server is stopping, for the requests its end leaves unanswered. */
  private stopReason = "the daemon is shutting down";
  /** Set while we end the child on purpose, so its exit is not counted as a failure. */
  private replacing: string | null = null;
  /** Set while we end a child that stopped answering: its exit counts as a failed run (backoff, max_restarts). */
  private unhealthy: string | null = null;
  /** An operator stopped the child; only `start()` brings it back. */
  private held = false;
  private restarts = 0;
  private lastRestartReason: string | null = null;
  private reason: string | null = null;
  private readonly stderrTail = new Tail(20);
  private readonly heartbeat: Heartbeat | null;
  private readonly statusFile: StatusFile | null;
  private readonly listeners = new Set<() => void>();

  constructor(readonly config: ServerConfig) {
    this.log = createLogger(config.name);
    this.backoff = new Backoff(config);
    const host: RouterHost = {
      toClient: (cid, line) => {
        const s = this.conns.get(cid);
        if (s === undefined) return;
        s.data.outbox.push(line);
        if (s.data.eof) queueMicrotask(() => this.finishIfDone(s));
      },
      toBackend: (line) => this.child?.send(line),
      closeClient: (cid, reason) => this.closeClient(cid, reason),
      wantBackend: () => {
        if (!this.held) this.spawnChild();
      },
      restartBackend: (reason) => void this.replaceUnhealthy(reason),
      log: this.log,
      stateChanged: () => this.changed(),
    };
    this.router = new Router(host, {
      maxActiveClients: config.max_active_clients,
      requestTimeoutMs: config.request_timeout_ms,
      clientInfo: { name: "rmcp-mux", version: VERSION },
    });
    this.heartbeat = config.heartbeat
      ? new Heartbeat(
          {
            intervalMs: config.heartbeat_interval_ms,
            timeoutMs: config.heartbeat_timeout_ms,
            maxFailures: config.heartbeat_max_failures,
          },
          (done) => this.router.pingBackend(done),
          (why) => {
            this.log("warn", why);
            void this.replaceUnhealthy(why);
          },
          () => this.changed(),
        )
      : null;
    this.statusFile = config.status_file
      ? new StatusFile(config.status_file, () => this.status(), (m) => this.log("warn", m))
      : null;
  }

  /** Called on every status change (state, clients, restarts, heartbeat). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.statusFile?.touch();
    for (const fn of this.listeners) fn();
  }

  /** Listen (or take over `early`, bound while the config was being checked), then start the child. */
  async start(early?: Listener): Promise<void> {
    const path = this.config.socket;
    const listener = early ?? (await Listener.bind(path));
    this.listener = listener;
    const leftover = reapLeftover(path);
    if (leftover !== null) this.log("warn", `killed pid ${leftover}, left running by a daemon that died`);
    const conn = (s: Socket<never>) => s as unknown as Socket<Conn>;
    listener.attach({
      open: (s) => this.onOpen(conn(s)),
      data: (s, chunk) => conn(s).data.decoder.push(chunk),
      drain: (s) => {
        conn(s).data.outbox.drain();
        if (conn(s).data.eof) this.finishIfDone(conn(s));
      },
      end: (s) => {
        conn(s).data.eof = true;
        this.finishIfDone(conn(s));
      },
      close: (s) => this.onClose(conn(s)),
      error: (s, err) => this.log("warn", `client ${conn(s).data?.cid}: ${err.message}`),
    });
    this.log("info", `listening on ${path}`);
    if (!this.config.lazy_start) this.spawnChild();
    this.heartbeat?.start();
    this.changed();
  }

  private onOpen(s: Socket<Conn>): void {
    const cid = this.nextCid++;
    s.data = {
      cid,
      eof: false,
      decoder: new LineDecoder(this.config.max_request_bytes, {
        onLine: (l) => {
          try {
            this.router.clientLine(cid, l);
          } catch (e) {
            // A bug must cost one message, not the connection or the daemon.
            this.log("error", `client ${cid}: message not routed: ${(e as Error).stack ?? e}`);
          }
        },
        onOversize: (n) => this.router.clientOversize(cid, n, this.config.max_request_bytes),
      }),
      outbox: new Outbox(s, this.config.max_client_buffer_bytes, (n) =>
        this.closeClient(cid, `it is not reading: ${n} bytes queued, over max_client_buffer_bytes`),
      ),
    };
    if (this.stopping) return void s.end();
    this.conns.set(cid, s);
    this.log("debug", `client ${cid} connected (${this.conns.size} connected)`);
    this.router.clientConnected(cid);
    this.changed();
  }

  private onClose(s: Socket<Conn>): void {
    const conn = s.data;
    if (conn === undefined || !this.conns.delete(conn.cid)) return;
    conn.outbox.close();
    this.log("debug", `client ${conn.cid} disconnected (${this.conns.size} connected)`);
    this.router.clientClosed(conn.cid);
    this.changed();
  }

  /** A half-closed client is closed once nothing it asked for is outstanding and its output is written. */
  private finishIfDone(s: Socket<Conn>): void {
    const conn = s.data;
    if (!this.conns.has(conn.cid) || this.router.clientBusy(conn.cid)) return;
    conn.outbox.flush();
    if (conn.outbox.idle) s.end();
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
        {
          onLine: (l) => this.router.backendLine(l),
          onExit: (r) => this.onChildExit(child, r),
          onStderr: (l) => this.stderrTail.push(l),
        },
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
    writeRecord(c.socket, child.pid);
    this.reason = null;
    this.heartbeat?.reset();
    this.log("info", `started pid ${child.pid}: ${[c.cmd, ...c.args].join(" ")}`);
    this.router.backendStarted();
    this.changed();
  }

  private onChildExit(child: Child, reason: string): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.stopping) return this.router.backendExited(this.stopReason, false);
    if (this.held) {
      // Stopped by an operator: the router already refuses new requests, but what the process held
      // will never be answered now — fail it at once (as for any exit), then stay stopped.
      this.router.backendExited("stopped by an operator", false);
      this.router.backendStopped();
      return;
    }
    if (this.replacing !== null) {
      const why = this.replacing;
      this.replacing = null;
      this.router.backendExited(why, true);
      this.noteRestart(why);
      this.spawnChild();
      return this.changed();
    }
    if (this.unhealthy !== null) {
      reason = this.unhealthy;
      this.unhealthy = null;
    }
    this.log("warn", `pid ${child.pid} ended: ${reason}`);
    this.afterRun(reason);
  }

  /**
   * End a child that is alive but useless (heartbeat silence, an initialize that never came back).
   * Unlike an operator's restart this is a failed run: it backs off and counts towards max_restarts,
   * so a server that always hangs ends up `failed` instead of being replaced forever.
   */
  private async replaceUnhealthy(reason: string): Promise<void> {
    const child = this.child;
    if (child === null || this.stopping || this.held || this.replacing !== null || this.unhealthy !== null) return;
    this.unhealthy = reason;
    await child.stop(this.config.shutdown_grace_ms);
  }

  /** A run ended on its own (or never started): back off, or give up after max_restarts. */
  private afterRun(reason: string): void {
    const delay = this.backoff.runEnded(Date.now() - this.childStartedAt);
    if (delay === undefined) {
      const why = `${reason}; gave up after ${this.backoff.consecutiveFailures} failed runs (max_restarts=${this.config.max_restarts})`;
      this.log("error", why);
      this.reason = why;
      this.router.backendExited(why, false);
      return this.changed();
    }
    this.reason = `${reason}; restarting in ${delay} ms`;
    this.router.backendExited(reason, true);
    this.log("info", `restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.noteRestart(reason);
      this.spawnChild();
    }, delay);
    this.changed();
  }

  private noteRestart(reason: string): void {
    this.restarts++;
    this.lastRestartReason = reason;
  }

  private cancelRestartTimer(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** Replace the child now (operator request or an unusable backend). Clients stay connected. */
  async restart(reason: string): Promise<void> {
    if (this.stopping) return;
    this.cancelRestartTimer();
    this.backoff.reset();
    this.held = false;
    if (this.child === null) {
      this.noteRestart(reason);
      return this.spawnChild();
    }
    this.replacing = reason;
    await this.child.stop(this.config.shutdown_grace_ms);
  }

  /** Operator stop: the child ends, the socket stays, clients get an error until `start()`. */
  async stopChild(): Promise<void> {
    if (this.stopping) return;
    this.held = true;
    this.cancelRestartTimer();
    // A ping still in flight must not count against the stopped process (and restart it).
    this.heartbeat?.reset();
    this.reason = "stopped by an operator";
    this.router.backendStopped();
    const child = this.child;
    this.changed();
    if (child !== null) await child.stop(this.config.shutdown_grace_ms);
    this.child = null;
    this.changed();
  }

  /** Operator start: after a stop or a failure, try again with a fresh backoff. */
  startChild(): void {
    if (this.stopping || this.child !== null) return;
    this.held = false;
    this.cancelRestartTimer();
    this.backoff.reset();
    this.spawnChild();
  }

  /** Stop accepting, answer what is pending (with an error saying `reason`), end the child, remove the socket. */
  async stop(reason = "the daemon is shutting down"): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopReason = reason;
    this.cancelRestartTimer();
    this.heartbeat?.stop();
    this.listener?.stop(false);
    this.router.backendExited(reason, false);
    const child = this.child;
    if (child !== null) await child.stop(this.config.shutdown_grace_ms);
    for (const s of this.conns.values()) {
      s.data.outbox.flush();
      s.end();
    }
    this.router.dispose();
    // Only what this daemon bound is removed: a refused start must not delete a live daemon's socket.
    if (this.listener !== null) {
      this.listener.stop(true);
      removeRecord(this.config.socket);
    }
    this.statusFile?.dispose();
    this.log("info", "stopped");
  }

  /** Kill the child at once: the daemon is going down hard. */
  killNow(): void {
    this.child?.kill();
  }

  status(): ServerStatus {
    const c = this.config;
    const st = this.router.stats();
    return {
      name: c.name,
      state: stateOf(this.router.backendState, c.lazy_start, this.restartTimer !== null),
      reason: this.reason,
      pid: this.child?.pid ?? null,
      socket: c.socket,
      clients: { connected: st.connected, active: st.active, queued: st.waiting, max: c.max_active_clients },
      pending: st.pending,
      served: st.served,
      timeouts: st.timeouts,
      restarts: this.restarts,
      lastRestartReason: this.lastRestartReason,
      uptimeMs: this.child ? Date.now() - this.childStartedAt : null,
      heartbeat: {
        enabled: this.heartbeat !== null,
        latencyMs: this.heartbeat?.latencyMs ?? null,
        failures: this.heartbeat?.failures ?? 0,
      },
      command: [c.cmd, ...c.args],
      limits: {
        maxActiveClients: c.max_active_clients,
        maxRequestBytes: c.max_request_bytes,
        requestTimeoutMs: c.request_timeout_ms,
        lazyStart: c.lazy_start,
      },
      stderrTail: this.stderrTail.toArray(),
    };
  }
}
