/**
 * One running copy of a server: its router, its supervised child and heartbeat, in its own folder.
 *
 * A server has one instance (shared) or several (per workspace, per client; see pool.ts). Each is supervised
 * like a lone server: restart, backoff and the handshake replayed to the new process. The links belong to
 * the server: what the router sends a client goes back through `InstanceHost`.
 */
import type { ServerConfig } from "../config/schema.ts";
import { Router } from "../router/router.ts";
import type { SharingHint } from "../router/sharing.ts";
import type { BackendState, RouterHost } from "../router/types.ts";
import type { InstanceStatus } from "../control/protocol.ts";
import { VERSION } from "../version.ts";
import { SpawnError } from "./child.ts";
import { Heartbeat } from "./heartbeat.ts";
import { writeRecord } from "./leftovers.ts";
import type { Logger } from "./log.ts";
import type { Launch } from "./npx-launch.ts";
import type { ChildHandle, ServerDeps } from "./server.ts";
import { Tail } from "./status.ts";
import { Supervisor } from "./supervisor.ts";

export interface InstanceHost {
  toClient(cid: number, line: string): void;
  closeClient(cid: number, why: string): void;
  changed(): void;
  /** Its backend's state moved (ready, failed...): placement waits for some of these. */
  backendState(from: Instance, state: BackendState): void;
  sharingHint(from: Instance, hint: SharingHint): void;
}


export class Instance {
  readonly router: Router;
  readonly supervisor: Supervisor;
  readonly heartbeat: Heartbeat | null;
  readonly stderrTail = new Tail(20);
  /** The clients placed here (their ids are the server's). */
  readonly clients = new Set<number>();
  child: ChildHandle | null = null;
  /** What its router calls (public so that a test can play the router's part, e.g. a sharing hint). */
  readonly routerHost: RouterHost;

  constructor(
    /** What the pool finds it by: "global", a workspace, or "client:N". */
    public key: string,
    /** The folder the child runs in; undefined: the server's `cwd` (or the daemon's). */
    readonly cwd: string | undefined,
    private readonly config: ServerConfig,
    private readonly deps: ServerDeps,
    private readonly launch: Launch,
    private readonly log: Logger,
    host: InstanceHost,
  ) {
    const routerHost: RouterHost = (this.routerHost = {
      toClient: (cid, line) => host.toClient(cid, line),
      toBackend: (line) => this.child?.send(line),
      closeClient: (cid, why) => host.closeClient(cid, why),
      wantBackend: () => this.supervisor.want(),
      restartBackend: (why) => void this.supervisor.replaceUnhealthy(why),
      log,
      stateChanged: (state) => {
        host.changed();
        host.backendState(this, state);
      },
      sharingHint: (hint) => host.sharingHint(this, hint),
    });
    this.router = new Router(routerHost, {
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
        log,
        changed: () => host.changed(),
      },
      deps.timers,
    );
    this.heartbeat = config.heartbeat
      ? new Heartbeat(
          { intervalMs: config.heartbeat_interval_ms, timeoutMs: config.heartbeat_timeout_ms, maxFailures: config.heartbeat_max_failures },
          (done) => this.router.pingBackend(done),
          (why) => {
            log("warn", why);
            void this.supervisor.replaceUnhealthy(why);
          },
          () => host.changed(),
        )
      : null;
  }

  /** Start the heartbeat and, unless `lazy`, the child. */
  start(lazy: boolean): void {
    if (!lazy) this.supervisor.want();
    this.heartbeat?.start();
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
        { cmd, args, env: c.env, cwd: this.cwd ?? c.cwd, maxLineBytes: c.max_response_bytes },
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
    // The record has room for one pid: the shared instance's. Others end with their stdin when a daemon dies.
    if (this.deps.leftovers && this.key === "global") writeRecord(c.socket, child.pid);
    this.heartbeat?.reset();
    const where = this.cwd === undefined ? "" : ` in ${this.cwd}`;
    this.log("info", `started pid ${child.pid}${this.key === "global" ? "" : ` for ${this.key}`}${where}: ${argv.join(" ")}`);
    return { pid: child.pid };
  }

  /** Operator stop: the child ends; requests get an error until `startChild()`. */
  stopChild(): Promise<void> {
    // A ping still in flight must not count against the stopped process (and restart it).
    this.heartbeat?.reset();
    return this.supervisor.stopChild();
  }

  /** End for good: what is pending is answered with `why`, the child ends. */
  async stop(why: string): Promise<void> {
    this.heartbeat?.stop();
    await this.supervisor.stop(why);
    this.router.dispose();
  }

  status(): InstanceStatus {
    return { key: this.key, pid: this.child?.pid ?? null, cwd: this.cwd ?? this.config.cwd ?? null, clients: this.clients.size };
  }
}
