/**
 * rmcp-mux as a library. Importing this pulls in no CLI, dashboard or onboarding code.
 *
 *   import { MuxConfig, spawnMuxServer, checkHealth } from "rmcp-mux";
 */
export { MuxConfig } from "./lib/mux-config.ts";
export { runMuxServer, spawnMuxServer, type MuxHandle } from "./lib/api.ts";
export { checkHealth, HealthError, type HealthResult } from "./control/health.ts";
export { loadConfig, selectServers, validateConfig, type LoadedConfig } from "./config/load.ts";
export { ConfigError } from "./config/errors.ts";
export type { ServerConfig } from "./config/schema.ts";
export { startDaemon, type DaemonHandle, type DaemonOptions, type ReloadOutcome } from "./runtime/daemon.ts";
export type { ReloadSummary } from "./runtime/reload.ts";
export type { DaemonStatus, ServerState, ServerStatus } from "./runtime/status.ts";
export { connectControl, controlRequest, NoDaemonError } from "./control/client.ts";
export type { ControlAnswer, ControlEvent, ControlRequest } from "./control/protocol.ts";
export { setLogWriter, type LogWriter } from "./runtime/log.ts";
export { Router } from "./router/router.ts";
export type { RouterHost, RouterOptions, Clock, BackendState } from "./router/types.ts";
export { VERSION, COMMIT } from "./version.ts";
