/**
 * The daemon: every selected server started in parallel, one shutdown path for signals and callers.
 */
import type { ServerConfig } from "../config/schema.ts";
import { createLogger } from "./log.ts";
import { MuxServer } from "./server.ts";

export interface DaemonHandle {
  readonly servers: ReadonlyMap<string, MuxServer>;
  /** Graceful: stop accepting, answer pending requests, end children, remove sockets. */
  stop(): Promise<void>;
  /** Resolves once the daemon has stopped. */
  readonly done: Promise<void>;
}

export async function startDaemon(configs: ServerConfig[], opts: { handleSignals?: boolean } = {}): Promise<DaemonHandle> {
  const log = createLogger("daemon");
  const servers = new Map(configs.map((c) => [c.name, new MuxServer(c)] as const));
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | null = null;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log("info", "shutting down");
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

  const results = await Promise.allSettled([...servers.values()].map((s) => s.start()));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length > 0) {
    await stop();
    throw new AggregateError(failed, failed.map((e) => e.message).join("\n"));
  }
  log("info", `ready: ${servers.size} server(s)`);
  return { servers, stop, done };
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
