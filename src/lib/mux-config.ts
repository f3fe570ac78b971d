/**
 * A builder for one server's config, for library users (the Rust original's `MuxConfig`).
 * It only collects keys: defaults and validation come from the same arktype schema as mux.toml,
 * applied by `resolve()`, so the library and the config file can never disagree.
 */
import type { ServerConfig } from "../config/schema.ts";

type Table = Record<string, unknown>;

export class MuxConfig {
  private name = "mux";
  private readonly table: Table;

  constructor(socket: string, cmd: string) {
    this.table = { socket, cmd };
  }

  private with(key: string, value: unknown): this {
    this.table[key] = value;
    return this;
  }

  withServiceName(name: string): this {
    this.name = name;
    return this;
  }
  withArgs(args: string[]): this {
    return this.with("args", args);
  }
  withEnv(env: Record<string, string>): this {
    return this.with("env", env);
  }
  withCwd(cwd: string): this {
    return this.with("cwd", cwd);
  }
  /** `max_active_clients`: clients with a request in flight at once (idle connections hold no slot). */
  withMaxClients(n: number): this {
    return this.with("max_active_clients", n);
  }
  /** `max_connections`: connections at once; the next one is refused with an error naming the key. */
  withMaxConnections(n: number): this {
    return this.with("max_connections", n);
  }
  withLazyStart(lazy = true): this {
    return this.with("lazy_start", lazy);
  }
  withMaxRequestBytes(n: number): this {
    return this.with("max_request_bytes", n);
  }
  /** Milliseconds. */
  withRequestTimeout(ms: number): this {
    return this.with("request_timeout_ms", ms);
  }
  withRestartBackoff(initialMs: number, maxMs: number): this {
    return this.with("restart_backoff_ms", initialMs).with("restart_backoff_max_ms", maxMs);
  }
  withMaxRestarts(n: number): this {
    return this.with("max_restarts", n);
  }
  withStatusFile(path: string): this {
    return this.with("status_file", path);
  }
  withHeartbeat(intervalMs: number, timeoutMs: number, maxFailures = 3): this {
    return this.with("heartbeat", true)
      .with("heartbeat_interval_ms", intervalMs)
      .with("heartbeat_timeout_ms", timeoutMs)
      .with("heartbeat_max_failures", maxFailures);
  }
  /** Any other key of a `[servers.NAME]` table, by its mux.toml name. */
  withKey(key: string, value: unknown): this {
    return this.with(key, value);
  }

  /** Defaults applied and validated; throws `ConfigError` naming the key, like a config file would. */
  async resolve(baseDir = process.cwd()): Promise<ServerConfig> {
    const { validateConfig } = await import("../config/load.ts");
    const file = `${baseDir}/<MuxConfig ${this.name}>`;
    const cfg = await validateConfig({ servers: { [this.name]: { ...this.table } } }, file);
    return cfg.servers[0] as ServerConfig;
  }
}
