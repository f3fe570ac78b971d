/**
 * The daemon: every selected server started in parallel, its control socket, one shutdown path
 * for signals and callers, and config reload (the running set turned into a new one).
 */
import type { HttpConfig } from "../config/http.ts";
import type { ServerConfig } from "../config/schema.ts";
import { COMMIT, VERSION } from "../version.ts";
import { acceptGate } from "./accept-gate.ts";
import { ControlServer } from "./control-server.ts";
import { guardFdLimit } from "./fd-limit.ts";
import { createLogger, type Logger } from "./log.ts";
import { describeReload, ReloadError, type ReloadSummary } from "./reload.ts";
import type { Listener } from "./listener.ts";
import type { MuxServer, ServerDeps } from "./server.ts";
import { ServerSet } from "./server-set.ts";
import type { DaemonStatus } from "./status.ts";

export interface DaemonOptions {
  /** Where the control socket listens; none when null. */
  statusSocket?: string | null;
  /** Stop gracefully on SIGINT/SIGTERM (the CLI wants this; a library user may not). */
  handleSignals?: boolean;
  /**
   * Reads and validates the config again, for `reloadConfig()` (SIGHUP, the control `reload`).
   * A rejection is a refusal: its message is reported and nothing changes. Without it, the daemon
   * cannot reload from its config (`reload(configs)` still works).
   */
  loadConfig?: () => Promise<ServerConfig[]>;
  /** Sockets already bound while the config was being checked, by socket path; each server takes its own. */
  early?: ReadonlyMap<string, Listener>;
  /** The Streamable HTTP front's settings; none (the default) leaves it off and unloaded. */
  http?: HttpConfig | null;
  /** How servers start children and bind their fronts (the real ones by default; tests pass their own). */
  serverDeps?: ServerDeps;
}

export type ReloadOutcome = { ok: true; reload: ReloadSummary } | { ok: false; error: string };

export interface DaemonHandle {
  /** The running servers by name; a live view that follows reloads. */
  readonly servers: ReadonlyMap<string, MuxServer>;
  status(): DaemonStatus;
  /**
   * Turn the running set into `configs`: added servers start, removed ones stop (their sockets
   * removed), changed ones (any key differs) are stopped and started anew — their clients are
   * disconnected and must reconnect — and unchanged ones keep their child and their clients.
   * Reloads run one at a time. Rejects (ReloadError) before touching anything when `configs` is
   * inconsistent, a new socket path is taken, or the daemon is stopping.
   */
  reload(configs: ServerConfig[]): Promise<ReloadSummary>;
  /** `options.loadConfig`, then `reload`; logs and returns the summary or the refusal (never rejects). */
  reloadConfig(): Promise<ReloadOutcome>;
  /** Graceful: stop accepting, answer pending requests, end children, remove sockets. */
  stop(): Promise<void>;
  /** Resolves once the daemon has stopped. */
  readonly done: Promise<void>;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export async function startDaemon(configs: ServerConfig[], opts: DaemonOptions = {}): Promise<DaemonHandle> {
  const log = createLogger("daemon");
  const startedAt = Date.now();
  // Every connection costs a file descriptor: use what the system allows, and never run out while accepting.
  await guardFdLimit(acceptGate, log);
  let stopping: Promise<void> | null = null;
  let http: { stop(): void } | null = null;
  const set = new ServerSet(configs, log, opts.serverDeps, () => stopping !== null);
  const servers = set.servers;
  const status = (): DaemonStatus => ({
    version: VERSION,
    commit: COMMIT,
    pid: process.pid,
    uptimeMs: Date.now() - startedAt,
    statusSocket: opts.statusSocket ?? null,
    servers: [...servers.values()].map((s) => s.status()),
  });
  const onChange = (fn: () => void) => set.onChange(fn);

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  /** The reload being applied, which a stop lets finish (it is bounded: stops and binds). */
  let applying: Promise<unknown> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log("info", "shutting down");
      control?.stop();
      http?.stop();
      await applying?.catch(() => {});
      await set.stopAll();
      if (opts.handleSignals) for (const sig of SIGNALS) process.off(sig, onSignal);
      process.off("exit", killAll);
      acceptGate.dispose();
      log("info", "all servers stopped, sockets removed");
      resolveDone();
    })();
    return stopping;
  };
  // Last resort: whatever happens to this process, its children must not outlive it.
  const killAll = () => set.killAll();
  process.on("exit", killAll);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      log("warn", `second ${sig}: exiting now`);
      process.exit(1);
    }
    log("info", `${sig} received`);
    void stop();
  };
  if (opts.handleSignals) for (const sig of SIGNALS) process.on(sig, onSignal);

  // Reloads (and config loads) run one at a time, in order, and only once the first start is over.
  let started!: () => void;
  let queue: Promise<unknown> = new Promise<void>((r) => (started = r));
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => {});
    return p;
  };
  const applyNow = async (next: ServerConfig[]): Promise<ReloadSummary> => {
    const p = set.apply(next);
    applying = p;
    try {
      return await p;
    } finally {
      applying = null;
    }
  };
  const reload = (next: ServerConfig[]) => serial(() => applyNow(next));
  const reloadConfig = (): Promise<ReloadOutcome> =>
    serial(async (): Promise<ReloadOutcome> => {
      try {
        if (opts.loadConfig === undefined) throw new ReloadError("this daemon was not started from a config file");
        if (stopping !== null) throw new ReloadError("the daemon is shutting down");
        const summary = await applyNow(await opts.loadConfig());
        log(summary.failed.length > 0 ? "error" : "info", `reload: ${describeReload(summary)}`);
        return { ok: true, reload: summary };
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        log("error", `reload refused, nothing changed: ${error.replace(/\n\s*/g, "; ")}`);
        return { ok: false, error };
      }
    });

  const control = opts.statusSocket
    ? new ControlServer(opts.statusSocket, { servers, status, onChange, reload: reloadConfig }, log)
    : null;
  const results = await Promise.allSettled([
    ...(control ? [control.start()] : []),
    ...[...servers.values()].map((s) => s.start(opts.early?.get(s.config.socket))),
  ]);
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length === 0 && opts.http) {
    try {
      http = await startHttp(opts.http, servers, log);
    } catch (e) {
      failed.push(e as Error);
    }
  }
  if (failed.length > 0) {
    await stop();
    started(); // a reload asked for meanwhile is refused: the daemon is stopping
    throw new AggregateError(failed, failed.map((e) => e.message).join("\n"));
  }
  started();
  log("info", `ready: ${servers.size} server(s)`);
  return { servers, status, reload, reloadConfig, stop, done };
}

/** The front's code is imported only here: a daemon without [http] never loads it. */
async function startHttp(cfg: HttpConfig, servers: ReadonlyMap<string, MuxServer>, log: Logger): Promise<{ stop(): void }> {
  const { HttpFront } = await import("./links/http-front.ts");
  let front: InstanceType<typeof HttpFront>;
  try {
    front = new HttpFront(cfg, { lookup: (name) => servers.get(name), log, gate: acceptGate });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new Error(`http: ${cfg.hostname}:${cfg.port} is already in use (set [http].listen or --http to another port)`);
    throw e;
  }
  log("info", `http: listening on ${front.url}/mcp/<server> (${[...servers.keys()].map((n) => `/mcp/${n}`).join(", ")})`);
  return front;
}
