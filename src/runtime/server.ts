/**
 * One configured server: its front, its links (client connections) and its pool of instances (instance.ts:
 * a router and a supervised child each).
 *
 * Routers decide what goes where and supervisors when a child runs; placement.ts decides which instance a
 * client joins; this file connects them: link lines into a router, router output into links, instances into
 * the pool. The child and the front come in through `ServerDeps`, so this wiring is unit-tested without a
 * process or a socket.
 */
import type { ServerConfig } from "../config/schema.ts";
import { realClock } from "../router/types.ts";
import { errorLine, INVALID_REQUEST, NULL_ID } from "../wire/jsonrpc.ts";
import type { ClientHello } from "../wire/hello.ts";
import { Child, type ChildEvents, type ChildSpec } from "./child.ts";
import { Instance, type InstanceHost } from "./instance.ts";
import { reapLeftover, removeRecord } from "./leftovers.ts";
import type { ClientLink, LinkEvents } from "./links/link.ts";
import { refuseConnection } from "./links/refuse.ts";
import { serveUnix } from "./links/unix-front.ts";
import { Listener } from "./listener.ts";
import { createLogger, type Logger } from "./log.ts";
import { Launch } from "./npx-launch.ts";
import { StatusFile } from "./status-file.ts";
import type { Conn } from "./conn.ts";
import { Placement, PROBE_CID } from "./placement.ts";
import { Pool } from "./pool.ts";
import { stateOf, type ServerStatus } from "./status.ts";
import type { Timers } from "./supervisor.ts";
import { GLOBAL } from "./workspace.ts";

export type { ClientHello } from "../wire/hello.ts";

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

export class MuxServer {
  private readonly log: Logger;
  private front: Front | null = null;
  private readonly clients = new Map<number, Conn>();
  private nextCid = 1;
  private readonly pool: Pool<Instance>;
  private readonly placement: Placement;
  private readonly statusFile: StatusFile | null;
  private readonly listeners = new Set<() => void>();
  /** The child's command: as written, or an npx package's bin run without npm (one resolution for every instance). */
  private readonly launch: Launch;
  private stopping = false;
  /** An operator stopped the server: instances started meanwhile start stopped too. */
  private operatorStopped = false;
  /** What instances that have ended had served, so the counters never go back. */
  private readonly retiredCounts = { served: 0, timeouts: 0, restarts: 0 };

  constructor(
    readonly config: ServerConfig,
    private readonly deps: ServerDeps = realServerDeps,
  ) {
    this.log = createLogger(config.name);
    this.launch = new Launch(config, this.log);
    const host: InstanceHost = {
      toClient: (cid, line) => {
        if (cid === PROBE_CID) return this.placement.probeAnswered(line);
        const c = this.clients.get(cid);
        if (c === undefined) return;
        c.link.send(line);
        if (c.eof) queueMicrotask(() => this.finishIfDone(cid));
      },
      closeClient: (cid, why) => this.closeClient(cid, why),
      changed: () => this.changed(),
      backendState: (from, state) => this.placement.backendState(from, state),
      sharingHint: (from, hint) => this.placement.hint(from, hint),
    };
    this.pool = new Pool<Instance>(
      {
        max: config.max_instances,
        create: (key, cwd) => {
          const inst = new Instance(key, cwd, config, deps, this.launch, this.log, host);
          this.placement.created(inst);
          if (this.operatorStopped) void inst.stopChild();
          // Only the instance made at start may wait for lazy_start: the others are made for a client that is here.
          else inst.start(this.front === null ? config.lazy_start : false);
          this.changed();
          return inst;
        },
        idleMs: (inst) => this.idleMs(inst),
        retired: (inst, why) => {
          this.log("info", `instance ${inst.key} stopped: ${why}`);
          const st = inst.router.stats();
          this.retiredCounts.served += st.served;
          this.retiredCounts.timeouts += st.timeouts;
          this.retiredCounts.restarts += inst.supervisor.restarts;
          this.changed();
        },
      },
      deps.timers,
    );
    this.placement = new Placement(
      config,
      this.pool,
      {
        route: (c, line) => this.route(c, line),
        close: (c, why) => this.closeClient(c.cid, why),
        join: (c, inst) => {
          c.inst = inst;
          this.pool.join(inst, c.cid);
          inst.router.clientConnected(c.cid);
          this.changed();
        },
        changed: () => this.changed(),
      },
      this.log,
      deps.timers,
    );
    this.statusFile = config.status_file ? new StatusFile(config.status_file, () => this.status(), (m) => this.log("warn", m)) : null;
  }

  /** How long an instance with no client lives on: 0 at once, null for ever (README, "idle_timeout_ms"). */
  private idleMs(inst: Instance): number | null {
    const policy = this.placement.policy;
    if (policy === "per-client" || inst.key.startsWith("client:")) return 0;
    const set = this.config.idle_timeout_ms;
    const ms = policy === "per-workspace" ? (set ?? 300000) : (set ?? 0);
    return ms === 0 ? null : ms;
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
    if (this.deps.leftovers) {
      const leftover = reapLeftover(this.config.socket);
      if (leftover !== null) this.log("warn", `killed pid ${leftover}, left running by a daemon that died`);
    }
    // A server shared now has its one instance from the start (started unless lazy_start); others wait for clients.
    if (this.placement.policy === null || this.placement.policy === "shared") this.pool.obtain(GLOBAL, undefined);
    this.front = front;
    front.serve((link) => this.attach(link));
    this.log("info", `listening on ${this.config.socket}`);
    this.changed();
  }

  /**
   * Every front's one entry: a new client connection. `hello` carries what the front knows of it (the HTTP
   * front); a Unix client may send the proxy's hello as its first line instead. Null: refused (stopping).
   */
  attach(link: ClientLink, hello?: ClientHello): LinkEvents | null {
    if (this.stopping) return null;
    if (this.clients.size >= this.config.max_connections) return refuseConnection(link, this.config.max_connections, this.log);
    const cid = this.nextCid++;
    const c: Conn = {
      cid, link, eof: false, cwd: hello?.cwd, fresh: true, inst: null, refused: null, held: null, init: null,
      rootsAsk: null, rootsTimer: null, afterInit: null, initDone: false, workspace: null, answered: "",
    };
    this.clients.set(cid, c);
    this.log("debug", `client ${cid} connected (${this.clients.size} connected)`);
    this.placement.connected(c);
    this.changed();
    return {
      onLine: (l) => {
        try {
          if (c.inst !== null && !c.fresh && c.afterInit === null && c.rootsAsk === null) this.route(c, l);
          else this.placement.line(c, l);
        } catch (e) {
          // A bug must cost one message, not the connection or the daemon.
          this.log("error", `client ${cid}: message not routed: ${(e as Error).stack ?? e}`);
        }
      },
      onOversize: (n) => {
        if (c.inst !== null) return c.inst.router.clientOversize(cid, n, this.config.max_request_bytes);
        const message = `Request too large: over max_request_bytes (${this.config.max_request_bytes} bytes)`;
        link.send(errorLine(NULL_ID, INVALID_REQUEST, message, "too_large", { limit: this.config.max_request_bytes }));
      },
      onEnd: () => {
        c.eof = true;
        this.finishIfDone(cid);
      },
      onClose: () => {
        if (!this.clients.delete(cid)) return;
        this.log("debug", `client ${cid} disconnected (${this.clients.size} connected)`);
        this.placement.gone(c);
        const inst = c.inst;
        if (inst !== null) {
          inst.router.clientClosed(cid);
          this.pool.leave(inst, cid);
        }
        this.changed();
      },
      onOverflow: (n) => this.closeClient(cid, `it is not reading: ${n} bytes queued, over max_client_buffer_bytes`),
      onError: (message) => this.log("warn", `client ${cid}: ${message}`),
    };
  }

  private route(c: Conn, line: string): void {
    (c.inst as Instance).router.clientLine(c.cid, line);
  }

  /** A half-closed client is closed once nothing it asked for is outstanding and its output is written. */
  private finishIfDone(cid: number): void {
    const c = this.clients.get(cid);
    if (c === undefined || c.inst?.router.clientBusy(cid)) return;
    c.link.endWhenWritten();
  }

  private closeClient(cid: number, why: string): void {
    const c = this.clients.get(cid);
    if (c === undefined) return;
    this.log("warn", `disconnecting client ${cid}: ${why}`);
    c.link.end();
  }

  /** The running instances (for status and tests). */
  instances(): Instance[] {
    return [...this.pool.all()];
  }

  /** Replace every instance's child now (operator request). Clients stay connected. */
  async restart(why: string): Promise<void> {
    this.operatorStopped = false;
    await Promise.all([...this.pool.all()].map((i) => i.supervisor.restart(why)));
  }

  /** Resolve an npx package again (npm may fetch a newer one); the next child uses it, the running one stays. */
  refreshLaunch(): Promise<void> {
    return this.launch.refresh();
  }

  /** Operator stop: the children end, the socket stays, clients get an error until `startChild()`. */
  async stopChild(): Promise<void> {
    this.operatorStopped = true;
    await Promise.all([...this.pool.all()].map((i) => i.stopChild()));
  }

  /** Operator start: after a stop or a failure, try again with a fresh backoff. */
  startChild(): void {
    this.operatorStopped = false;
    for (const i of this.pool.all()) i.supervisor.startChild();
  }

  /** Stop accepting, answer what is pending (with an error saying `why`), end the children, remove the socket. */
  async stop(why = "the daemon is shutting down"): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.launch.dispose();
    this.front?.stop(false);
    await this.pool.stopAll(why);
    for (const c of this.clients.values()) {
      this.placement.gone(c);
      c.link.end();
    }
    // Only what this daemon bound is removed: a refused start must not delete a live daemon's socket.
    if (this.front !== null) {
      this.front.stop(true);
      if (this.deps.leftovers) removeRecord(this.config.socket);
    }
    this.statusFile?.close({ state: "stopped", pid: null, uptimeMs: null, reason: why });
    this.log("info", "stopped");
  }

  /** Kill every child at once: the daemon is going down hard. */
  killNow(): void {
    this.launch.dispose();
    for (const i of this.pool.all()) i.child?.kill();
  }

  status(): ServerStatus {
    const c = this.config;
    const all = [...this.pool.all()];
    // The figures of one process (pid, state, heartbeat) are the shared instance's, else the first one's.
    const main = this.pool.get(GLOBAL) ?? all[0];
    const sum = { active: 0, waiting: 0, pending: 0, served: this.retiredCounts.served, timeouts: this.retiredCounts.timeouts, restarts: this.retiredCounts.restarts };
    /** Connected clients per protocol version, over every instance. */
    const versions: Record<string, number> = {};
    for (const i of all) {
      const st = i.router.stats();
      sum.active += st.active;
      sum.waiting += st.waiting;
      sum.pending += st.pending;
      sum.served += st.served;
      sum.timeouts += st.timeouts;
      sum.restarts += i.supervisor.restarts;
      for (const [v, n] of Object.entries(st.versions)) versions[v] = (versions[v] ?? 0) + n;
    }
    const sv = main?.supervisor;
    const idle = this.operatorStopped ? "stopped" : c.lazy_start || this.placement.policy !== null ? "lazy" : "starting";
    return {
      name: c.name,
      state: main === undefined || sv === undefined ? idle : stateOf(main.router.backendState, c.lazy_start, sv.backingOff),
      reason: sv?.statusReason ?? (this.operatorStopped ? "stopped by an operator" : null),
      pid: main?.child?.pid ?? null,
      socket: c.socket,
      clients: { connected: this.clients.size, active: sum.active, waiting: sum.waiting, max: c.max_active_clients, versions },
      pending: sum.pending,
      served: sum.served,
      timeouts: sum.timeouts,
      restarts: sum.restarts,
      lastRestartReason: sv?.lastRestartReason ?? null,
      uptimeMs: main?.child ? (sv?.uptimeMs() ?? null) : null,
      heartbeat: { enabled: c.heartbeat, latencyMs: main?.heartbeat?.latencyMs ?? null, failures: main?.heartbeat?.failures ?? 0 },
      command: this.launch.command,
      ...(this.launch.note === undefined ? {} : { launch: this.launch.note }),
      limits: {
        maxActiveClients: c.max_active_clients,
        maxConnections: c.max_connections,
        maxRequestBytes: c.max_request_bytes,
        requestTimeoutMs: c.request_timeout_ms,
        lazyStart: c.lazy_start,
      },
      stderrTail: main?.stderrTail.toArray() ?? [],
      sharing: {
        share: c.share,
        policy: this.placement.policy ?? "shared",
        reason: this.placement.reason,
        decided: c.share !== "auto" || this.placement.decision !== null,
        maxInstances: c.max_instances,
        instances: all.map((i) => i.status()),
      },
    };
  }
}
