/**
 * The daemon: every selected server started in parallel, its control socket, and one shutdown
 * path for signals and callers.
 */
import type { ServerConfig } from "../config/schema.ts";
import { COMMIT, VERSION } from "../version.ts";
import { ControlServer } from "./control-server.ts";
import { createLogger } from "./log.ts";
import { MuxServer } from "./server.ts";
import type { DaemonStatus } from "./status.ts";

export interface DaemonOptions {
  /** Where the control socket listens; none when null. */
  statusSocket?: string | null;
  /** Stop gracefully on SIGINT/SIGTERM (the CLI wants this; a library user may not). */
  handleSignals?: boolean;
}

export interface DaemonHandle {
  readonly servers: ReadonlyMap<string, MuxServer>;
  status(): DaemonStatus;
  /** Graceful: stop accepting, answer pending requests, end children, remove sockets. */
  stop(): Promise<void>;
  /** Resolves once the daemon has stopped. */
  readonly done: Promise<void>;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export async function startDaemon(configs: ServerConfig[], opts: DaemonOptions = {}): Promise<DaemonHandle> {
  const log = createLogger("daemon");
  const startedAt = Date.now();
  const servers = new Map(configs.map((c) => [c.name, new MuxServer(c)] as const));
  const status = (): DaemonStatus => ({
    version: VERSION,
    commit: COMMIT,
    pid: process.pid,
    uptimeMs: Date.now() - startedAt,
    statusSocket: opts.statusSocket ?? null,
    servers: [...servers.values()].map((s) => s.status()),
  });
  const onChange = (fn: () => void) => {
    const offs = [...servers.values()].map((s) => s.onChange(fn));
    return () => offs.forEach((off) => off());
  };
  const control = opts.statusSocket ? new ControlServer(opts.statusSocket, { servers, status, onChange }, log) : null;

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log("info", "shutting down");
      control?.stop();
      await Promise.all([...servers.values()].map((s) => s.stop()));
      if (opts.handleSignals) for (const sig of SIGNALS) process.off(sig, onSignal);
      process.off("exit", killAll);
      log("info", "all servers stopped, sockets removed");
      resolveDone();
    })();
    return stopping;
  };
  // Last resort: whatever happens to this process, its children must not outlive it.
  const killAll = () => {
    for (const s of servers.values()) s.killNow();
  };
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

  const results = await Promise.allSettled([
    ...(control ? [control.start()] : []),
    ...[...servers.values()].map((s) => s.start()),
  ]);
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length > 0) {
    await stop();
    throw new AggregateError(failed, failed.map((e) => e.message).join("\n"));
  }
  log("info", `ready: ${servers.size} server(s)`);
  return { servers, status, stop, done };
}
