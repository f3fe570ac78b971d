/** Fixed DaemonStatus / ServerStatus values for the dashboard's pure tests. */
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";

export function server(name: string, over: Partial<ServerStatus> = {}): ServerStatus {
  return {
    name,
    state: "running",
    reason: null,
    pid: 1000,
    socket: `/tmp/mx/${name}.sock`,
    clients: { connected: 0, active: 0, waiting: 0, max: 4 },
    pending: 0,
    served: 0,
    timeouts: 0,
    restarts: 0,
    lastRestartReason: null,
    uptimeMs: 5000,
    heartbeat: { enabled: false, latencyMs: null, failures: 0 },
    command: ["bun", "server.ts"],
    limits: { maxActiveClients: 4, maxConnections: 256, maxRequestBytes: 1024 * 1024, requestTimeoutMs: 30000, lazyStart: false },
    stderrTail: [],
    ...over,
  };
}

export function daemon(servers: ServerStatus[], over: Partial<DaemonStatus> = {}): DaemonStatus {
  return { version: "9.9.9", commit: "abc", pid: 42, uptimeMs: 10_000, statusSocket: "/tmp/mx/daemon.sock", servers, ...over };
}
