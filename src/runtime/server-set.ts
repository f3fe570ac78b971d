/**
 * The daemon's running servers, by name, and how a reload turns them into a new set. Change listeners
 * (the control socket's subscribers) hear of every server, including those a reload adds.
 */
import type { ServerConfig } from "../config/schema.ts";
import type { ReloadSummary } from "../control/protocol.ts";
import type { Logger } from "./log.ts";
import { diffConfigs, ReloadError } from "./reload.ts";
import { MuxServer, type ServerDeps } from "./server.ts";
import { inspectSocketPath } from "./socket-path.ts";

export class ServerSet {
  /** The running servers, in the config's order; a live view that follows reloads. */
  readonly servers = new Map<string, MuxServer>();
  /** Servers a reload is stopping: out of `servers`, but their children must still die with us. */
  private readonly retiring = new Set<MuxServer>();
  private readonly listeners = new Set<() => void>();
  private readonly unhook = new Map<MuxServer, () => void>();

  constructor(
    configs: ServerConfig[],
    private readonly log: Logger,
    private readonly deps: ServerDeps | undefined,
    /** True once the daemon is stopping: a reload is then refused. */
    private readonly stopping: () => boolean,
  ) {
    for (const c of configs) this.servers.set(c.name, this.create(c));
  }

  /** Registers a listener for changes of any server (or of the set); returns its removal. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  private create(c: ServerConfig): MuxServer {
    const s = new MuxServer(c, this.deps);
    this.unhook.set(s, s.onChange(() => this.emit()));
    return s;
  }

  private forget(s: MuxServer): void {
    this.unhook.get(s)?.();
    this.unhook.delete(s);
  }

  /** Kill every child at once, retiring ones included (the process is exiting). */
  killAll(): void {
    for (const s of [...this.servers.values(), ...this.retiring]) s.killNow();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.stop()));
  }

  /** Turn the running set into `next` (see DaemonHandle.reload). */
  async apply(next: ServerConfig[]): Promise<ReloadSummary> {
    const { servers } = this;
    if (this.stopping()) throw new ReloadError("the daemon is shutting down");
    const plan = diffConfigs([...servers.values()].map((s) => s.config), next);
    // A socket path no running server holds must be free before anything is stopped: a refusal
    // then leaves the running set as it was. (A path a removed or changed server frees is fine.)
    const inUse = new Set([...servers.values()].map((s) => s.config.socket));
    for (const c of [...plan.added, ...plan.changed]) {
      if (inUse.has(c.socket)) continue;
      try {
        await inspectSocketPath(c.socket);
      } catch (e) {
        throw new ReloadError(`servers.${c.name}.socket: ${(e as Error).message}`);
      }
    }
    if (this.stopping()) throw new ReloadError("the daemon is shutting down");

    const removed = new Set(plan.removed);
    const going = [...plan.removed, ...plan.changed.map((c) => c.name)].map((name) => servers.get(name) as MuxServer);
    for (const s of going) {
      servers.delete(s.config.name);
      this.retiring.add(s);
    }
    if (going.length > 0) this.emit();
    await Promise.all(
      going.map(async (s) => {
        const name = s.config.name;
        const gone = removed.has(name);
        this.log("info", `reload: stopping ${name} (${gone ? "removed from" : "changed in"} the config)`);
        await s.stop(gone ? `server ${name} was removed from the config` : `server ${name} is restarting with its changed config`);
        this.forget(s);
        this.retiring.delete(s);
      }),
    );

    // Kept servers ask npm again for their npx packages: their next child runs what a fresh start would.
    for (const name of plan.unchanged) void servers.get(name)?.refreshLaunch();
    const fresh = [...plan.added, ...plan.changed].map((c) => this.create(c));
    const results = await Promise.allSettled(fresh.map((s) => s.start()));
    const failed: ReloadSummary["failed"] = [];
    const started = new Map<string, MuxServer>();
    await Promise.all(
      results.map(async (r, i) => {
        const s = fresh[i] as MuxServer;
        if (r.status === "fulfilled") return void started.set(s.config.name, s);
        const error = (r.reason as Error)?.message ?? String(r.reason);
        this.log("error", `reload: ${s.config.name} did not start: ${error}`);
        failed.push({ name: s.config.name, error });
        await s.stop();
        this.forget(s);
      }),
    );
    // The new set, in the new config's order (the status lists servers in that order).
    const kept = new Map(servers);
    servers.clear();
    for (const c of next) {
      const s = started.get(c.name) ?? kept.get(c.name);
      if (s !== undefined) servers.set(c.name, s);
    }
    this.emit();
    return {
      added: plan.added.map((c) => c.name),
      removed: plan.removed,
      changed: plan.changed.map((c) => c.name),
      unchanged: plan.unchanged,
      failed,
    };
  }
}
