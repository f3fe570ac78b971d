/** The main command: run the daemon, or (with --show-status / --restart-service) talk to a running one. */
import { controlRequest } from "../../control/client.ts";
import { type DaemonHandle, startDaemon } from "../../runtime/daemon.ts";
import { createLogger } from "../../runtime/log.ts";
import { cliErrors, statusSocketOf } from "../resolve.ts";

export interface DaemonArgs {
  config?: string;
  only?: string;
  except?: string;
  http?: string;
  "status-socket"?: string;
  "show-status"?: boolean;
  "restart-service"?: string;
  refresh?: boolean;
  json?: boolean;
  tui?: boolean;
}

export function runDaemonCommand(args: DaemonArgs): Promise<number> {
  return cliErrors(async () => {
    if (args["show-status"]) {
      const { printStatus } = await import("./daemon-status.ts");
      return printStatus({ socket: args["status-socket"], config: args.config, json: args.json });
    }
    if (args["restart-service"]) return restartService(args, args["restart-service"]);
    if (args.tui) {
      // The dashboard's renderer must not live in the routing process: the daemon becomes our child.
      const { runOwnedDashboard } = await import("../../tui/owned.ts");
      return runOwnedDashboard(args, await statusSocketOf({ socket: args["status-socket"], config: args.config }));
    }
    // SIGHUP reloads the config. Caught from here on (its default would end the daemon without
    // cleaning up); one that arrives while the daemon is still starting is applied once it is up.
    let daemon: DaemonHandle | null = null;
    let hupWhileStarting = false;
    const onHup = () => {
      createLogger("daemon")("info", "SIGHUP received: reloading the config");
      if (daemon === null) hupWhileStarting = true;
      else void daemon.reloadConfig();
    };
    process.on("SIGHUP", onHup);
    // The sockets are bound while the config is checked (the check takes ~300 ms); nothing is spawned
    // until it passes, and a refused config releases them again. A stop signal in that window must
    // release them too, so it is caught from here until the daemon installs its own handlers.
    let stopBeforeStart = false;
    const checking = new AbortController();
    const onEarlyStop = () => {
      stopBeforeStart = true;
      checking.abort();
    };
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, onEarlyStop);
    const { bindEarly, releaseUnclaimed, socketPathsOf } = await import("../early-bind.ts");
    const early = bindEarly(socketPathsOf(args));
    try {
      const { checkedConfig, CheckFailed } = await import("../checked-config.ts");
      const cfg = await checkedConfig(args, checking.signal).catch(async (e: unknown) => {
        releaseUnclaimed(await early, []);
        if (stopBeforeStart) return null; // interrupted (the check child was ended with it): not a config error
        throw e;
      });
      if (cfg === null) return 0;
      const bound = await early;
      if (stopBeforeStart) {
        releaseUnclaimed(bound, []);
        return 0;
      }
      releaseUnclaimed(bound, cfg.servers.map((s) => s.socket));
      const statusSocket = args["status-socket"] ?? cfg.statusSocket;
      // A reload validates the file in a `check` child, like the start: the daemon never loads the schema.
      const loadConfig = async () => {
        const next = await checkedConfig(args).catch((e: unknown) => {
          // The check child phrased it for a terminal ("rmcp-mux: file: …"): keep the reason only.
          throw e instanceof CheckFailed ? new Error(e.message.replace(/^rmcp-mux: /, "")) : e;
        });
        if (next.statusSocket !== statusSocket && args["status-socket"] === undefined) {
          createLogger("daemon")(
            "warn",
            `reload: status_socket changed to ${next.statusSocket}; the control socket stays on ${statusSocket} until a restart`,
          );
        }
        return next.servers;
      };
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onEarlyStop);
      daemon = await startDaemon(cfg.servers, { statusSocket, handleSignals: true, loadConfig, early: bound, http: cfg.http }).catch((e: unknown) => {
        if (!(e instanceof AggregateError)) throw e;
        process.stderr.write(`rmcp-mux: could not start:\n${e.message}\n`);
        return null;
      });
      if (daemon === null) return 1;
      if (hupWhileStarting) void daemon.reloadConfig();
      await daemon.done;
      return 0;
    } finally {
      process.off("SIGHUP", onHup);
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onEarlyStop);
    }
  });
}

async function restartService(args: DaemonArgs, name: string): Promise<number> {
  const socket = await statusSocketOf({ socket: args["status-socket"], config: args.config });
  const before = await controlRequest(socket, { cmd: "status" });
  const oldPid = before.ok ? before.status?.servers.find((s) => s.name === name)?.pid : undefined;
  const answer = await controlRequest(socket, { cmd: "restart", name, ...(args.refresh ? { refresh: true } : {}) });
  if (!answer.ok) {
    process.stderr.write(`rmcp-mux: ${answer.error}\n`);
    return 1;
  }
  process.stdout.write(`restarted ${name}: pid ${oldPid ?? "-"} → ${answer.server?.pid ?? "-"}\n`);
  return 0;
}
