/**
 * The library's entry points: run one server, or spawn several in one process and steer them.
 */
import type { ServerConfig } from "../config/schema.ts";
import { startDaemon, type DaemonHandle } from "../runtime/daemon.ts";
import type { ServerStatus } from "../runtime/status.ts";
import type { MuxConfig } from "./mux-config.ts";

export interface MuxHandle {
  readonly name: string;
  readonly socket: string;
  status(): ServerStatus;
  /** Replace the child process; connected clients keep their connection. */
  restart(): Promise<void>;
  /** Graceful stop: pending requests answered, child ended, socket removed. */
  stop(): Promise<void>;
  /** Resolves when the server has stopped. */
  wait(): Promise<void>;
}

async function resolved(config: MuxConfig | ServerConfig): Promise<ServerConfig> {
  return "resolve" in config ? config.resolve() : config;
}

/** Starts one server in this process and returns a handle once its socket listens. */
export async function spawnMuxServer(config: MuxConfig | ServerConfig): Promise<MuxHandle> {
  const cfg = await resolved(config);
  const daemon: DaemonHandle = await startDaemon([cfg]);
  const server = daemon.servers.get(cfg.name);
  if (server === undefined) throw new Error(`server ${cfg.name} did not start`);
  return {
    name: cfg.name,
    socket: cfg.socket,
    status: () => server.status(),
    restart: () => server.restart("restarted through the library API"),
    stop: () => daemon.stop(),
    wait: () => daemon.done,
  };
}

/** Runs one server until it is stopped (SIGINT/SIGTERM stop it gracefully). */
export async function runMuxServer(config: MuxConfig | ServerConfig): Promise<void> {
  const cfg = await resolved(config);
  const daemon = await startDaemon([cfg], { handleSignals: true });
  await daemon.done;
}
