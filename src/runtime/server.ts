/**
 * One configured server: its links (client connections), its router and its supervised child.
 *
 * The router decides what goes where and the supervisor when a child runs; this file only connects
 * them: link lines into the router, router output into links and the child's stdin, the child's life
 * into the supervisor. The child and the front come in through `ServerDeps`, so this wiring is
 * unit-tested without a process or a socket.
 */
import type { ServerConfig } from "../config/schema.ts";
import { Router } from "../router/router.ts";
import { realClock, type RouterHost } from "../router/types.ts";
import { VERSION } from "../version.ts";
import { Child, SpawnError, type ChildEvents, type ChildSpec } from "./child.ts";
import { Heartbeat } from "./heartbeat.ts";
import { reapLeftover, removeRecord, writeRecord } from "./leftovers.ts";
import type { ClientLink, LinkEvents } from "./links/link.ts";
import { serveUnix } from "./links/unix-front.ts";
import { Listener } from "./listener.ts";
import { createLogger, type Logger } from "./log.ts";
import { Launch } from "./npx-launch.ts";
import { StatusFile } from "./status-file.ts";
import { stateOf, Tail, type ServerStatus } from "./status.ts";
import { Supervisor, type Timers } from "./supervisor.ts";

/** A running child as the server needs it. */
export interface ChildHandle {
  readonly pid: number;
  send(line: string): void;
  stop(graceMs: number): Promise<void>;
  kill(): void;
}

/** Where clients come from: given the accept function, serve until `stop`. */
export interface Front {
  serve(accept: (link: ClientLink) => LinkEvents | null): void;
  /** Stop accepting; with `closeAll`, close every connection and remove what the front created. */
  stop(closeAll: boolean): void;
}

export interface ServerDeps {
  spawnChild(spec: ChildSpec, events: ChildEvents, log: Logger): ChildHandle;
  /** Binds the server's front (or takes over `early`, bound while the config was checked). */
  bindFront(config: ServerConfig, early?: Listener): Promise<Front>;
  /** The clock of the router's deadlines and of the supervisor's backoff. */
  timers: Timers;
  /** Whether to reap a child left running by a daemon that died, and record this one's pid. */
  leftovers: boolean;
}

export const realServerDeps: ServerDeps = {
  spawnChild: (spec, events, log) => new Child(spec, events, log),
  bindFront: async (config, early) => {
    const listener = early ?? (await Listener.bind(config.socket));
    return {
      serve: (accept) =>
        serveUnix(listener, { maxLineBytes: config.max_request_bytes, maxQueuedBytes: config.max_client_buffer_bytes }, accept),
      stop: (closeAll) => listener.stop(closeAll),
    };
  },
  timers: realClock,
  leftovers: true,
};

interface Client {
  link: ClientLink;
  /** The client shut down its writing side: close once it has every answer it is owed. */
  eof: boolean;
}

export class MuxServer {
  readonly router: Router;
  private readonly log: Logger;
  private front: Front | null = null;
  private readonly clients = new Map<number, Client>();
  private nextCid = 1;
  private child: ChildHandle | null = null;
  private readonly supervisor: Supervisor;
  private readonly stderrTail = new Tail(20);
  private readonly heartbeat: Heartbeat | null;
  private readonly statusFile: StatusFile | null;
  private readonly listeners = new Set<() => void>();
  /** The child's command: as written, or an npx package's bin run without npm. */
  private readonly launch: Launch;

  constructor(
    readonly config: ServerConfig,
    private readonly deps: ServerDeps = realServerDeps,
  ) {
    this.log = createLogger(config.name);
    this.launch = new Launch(config, this.log);
    const host: RouterHost = {
      toClient: (cid, line) => {
        const c = this.clients.get(cid);
        if (c === undefined) return;
        c.link.send(line);
        if (c.eof) queueMicrotask(() => this.finishIfDone(cid));
      },
      toBackend: (line) => this.child?.send(line),
      closeClient: (cid, why) => this.closeClient(cid, why),
      wantBackend: () => this.supervisor.want(),
      restartBackend: (why) => void this.supervisor.replaceUnhealthy(why),
      log: this.log,
      stateChanged: () => this.changed(),
    };
    this.router = new Router(host, {
      maxActiveClients: config.max_active_clients,
      requestTimeoutMs: config.request_timeout_ms,
      clientInfo: { name: "rmcp-mux", version: VERSION },
      clock: deps.timers,
    });
    this.supervisor = new Supervisor(
      config,
      {
        spawn: () => this.spawnChild(),
        endChild: async () => this.child?.stop(config.shutdown_grace_ms),
        backendStarted: () => this.router.backendStarted(),
        backendExited: (why, willRestart) => this.router.backendExited(why, willRestart),
        backendStopped: () => this.router.backendStopped(),
        log: this.log,
        changed: () => this.changed(),
      },
      deps.timers,
    );
    this.heartbeat = config.heartbeat
      ? new Heartbeat(
          { intervalMs: config.heartbeat_interval_ms, timeoutMs: config.heartbeat_timeout_ms, maxFailures: config.heartbeat_max_failures },
          (done) => this.router.pingBackend(done),
          (why) => {
            this.log("warn", why);
            void this.supervisor.replaceUnhealthy(why);
          },
          () => this.changed(),
        )
      : null;
    this.statusFile = config.status_file ? new StatusFile(config.status_file, () => this.status(), (m) => this.log("warn", m)) : null;
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
    const front = await this.deps.bindFront(this.config, early);
    this.front = front;
    if (this.deps.leftovers) {
      const leftover = reapLeftover(this.config.socket);
      if (leftover !== null) this.log("warn", `killed pid ${leftover}, left running by a daemon that died`);
    }
    front.serve((link) => this.accept(link));
    this.log("info", `listening on ${this.config.socket}`);
    if (!this.config.lazy_start) this.supervisor.want();
    this.heartbeat?.start();
    this.changed();
  }

  private accept(link: ClientLink): LinkEvents | null {
    if (this.supervisor.isStopping) return null;
    const cid = this.nextCid++;
    const client: Client = { link, eof: false };
    this.clients.set(cid, client);
    this.log("debug", `client ${cid} connected (${this.clients.size} connected)`);
    this.router.clientConnected(cid);
    this.changed();
    return {
      onLine: (l) => {
        try {
          this.router.clientLine(cid, l);
        } catch (e) {
          // A bug must cost one message, not the connection or the daemon.
          this.log("error", `client ${cid}: message not routed: ${(e as Error).stack ?? e}`);
        }
      },
      onOversize: (n) => this.router.clientOversize(cid, n, this.config.max_request_bytes),
      onEnd: () => {
        client.eof = true;
        this.finishIfDone(cid);
      },
      onClose: () => {
        if (!this.clients.delete(cid)) return;
        this.log("debug", `client ${cid} disconnected (${this.clients.size} connected)`);
        this.router.clientClosed(cid);
        this.changed();
      },
      onOverflow: (n) => this.closeClient(cid, `it is not reading: ${n} bytes queued, over max_client_buffer_bytes`),
      onError: (message) => this.log("warn", `client ${cid}: ${message}`),
    };
  }

  /** A half-closed client is closed once nothing it asked for is outstanding and its output is written. */
  private finishIfDone(cid: number): void {
    const c = this.clients.get(cid);
    if (c === undefined || this.router.clientBusy(cid)) return;
    c.link.endWhenWritten();
  }

  private closeClient(cid: number, why: string): void {
    const c = this.clients.get(cid);
    if (c === undefined) return;
    this.log("warn", `disconnecting client ${cid}: ${why}`);
    c.link.end();
  }

  private spawnChild(): { pid: number } | { error: string } | { pending: true } {
    const c = this.config;
    // While npm is asked where an npx package lives, the spawn waits (requests queue as for any start).
    const argv = this.launch.argv(() => this.supervisor.want());
    if (argv === null) return { pending: true };
    const [cmd, ...args] = argv as [string, ...string[]];
    let child: ChildHandle;
    try {
      child = this.deps.spawnChild(
        { cmd, args, env: c.env, cwd: c.cwd, maxLineBytes: c.max_response_bytes },
        {
          onLine: (l) => this.router.backendLine(l),
          // An exit of a child already replaced is old news.
          onExit: (how) => {
            if (this.child !== child) return;
            this.child = null;
            this.supervisor.childExited(how);
          },
          onStderr: (l) => this.stderrTail.push(l),
        },
        this.log,
      );
    } catch (e) {
      if (!(e instanceof SpawnError)) throw e;
      return { error: e.message };
    }
    this.child = child;
    if (this.deps.leftovers) writeRecord(c.socket, child.pid);
    this.heartbeat?.reset();
    this.log("info", `started pid ${child.pid}: ${argv.join(" ")}`);
    return { pid: child.pid };
  }

  /** Replace the child now (operator request). Clients stay connected. */
  restart(why: string): Promise<void> {
    return this.supervisor.restart(why);
  }

  /** Resolve an npx package again (npm may fetch a newer one); the next child uses it, the running one stays. */
  refreshLaunch(): Promise<void> {
    return this.launch.refresh();
  }

  /** Operator stop: the child ends, the socket stays, clients get an error until `startChild()`. */
  stopChild(): Promise<void> {
    // A ping still in flight must not count against the stopped process (and restart it).
    this.heartbeat?.reset();
    return this.supervisor.stopChild();
  }

  /** Operator start: after a stop or a failure, try again with a fresh backoff. */
  startChild(): void {
    this.supervisor.startChild();
  }

  /** Stop accepting, answer what is pending (with an error saying `why`), end the child, remove the socket. */
  async stop(why = "the daemon is shutting down"): Promise<void> {
    if (this.supervisor.isStopping) return;
    this.launch.dispose();
    this.heartbeat?.stop();
    this.front?.stop(false);
    await this.supervisor.stop(why);
    for (const c of this.clients.values()) c.link.end();
    this.router.dispose();
    // Only what this daemon bound is removed: a refused start must not delete a live daemon's socket.
    if (this.front !== null) {
      this.front.stop(true);
      if (this.deps.leftovers) removeRecord(this.config.socket);
    }
    this.statusFile?.close({ state: "stopped", pid: null, uptimeMs: null, reason: why });
    this.log("info", "stopped");
  }

  /** Kill the child at once: the daemon is going down hard. */
  killNow(): void {
    this.launch.dispose();
    this.child?.kill();
  }

  status(): ServerStatus {
    const c = this.config;
    const st = this.router.stats();
    const sv = this.supervisor;
    return {
      name: c.name,
      state: stateOf(this.router.backendState, c.lazy_start, sv.backingOff),
      reason: sv.statusReason,
      pid: this.child?.pid ?? null,
      socket: c.socket,
      clients: { connected: st.connected, active: st.active, queued: st.waiting, max: c.max_active_clients, versions: st.versions },
      pending: st.pending,
      served: st.served,
      timeouts: st.timeouts,
      restarts: sv.restarts,
      lastRestartReason: sv.lastRestartReason,
      uptimeMs: this.child ? sv.uptimeMs() : null,
      heartbeat: { enabled: this.heartbeat !== null, latencyMs: this.heartbeat?.latencyMs ?? null, failures: this.heartbeat?.failures ?? 0 },
      command: this.launch.command,
      ...(this.launch.note === undefined ? {} : { launch: this.launch.note }),
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
