/** The main command: run the daemon, or (with --show-status / --restart-service) talk to a running one. */
import { controlRequest } from "../../control/client.ts";
import { startDaemon } from "../../runtime/daemon.ts";
import { cliErrors, statusSocketOf } from "../resolve.ts";

export interface DaemonArgs {
  config?: string;
  only?: string;
  except?: string;
  "status-socket"?: string;
  "show-status"?: boolean;
  "restart-service"?: string;
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
    const { checkedConfig } = await import("../checked-config.ts");
    const cfg = await checkedConfig(args);
    const servers = cfg.servers;
    const daemon = await startDaemon(servers, { statusSocket: args["status-socket"] ?? cfg.statusSocket, handleSignals: true }).catch(
      (e: unknown) => {
        if (!(e instanceof AggregateError)) throw e;
        process.stderr.write(`rmcp-mux: could not start:\n${e.message}\n`);
        return null;
      },
    );
    if (daemon === null) return 1;
    await daemon.done;
    return 0;
  });
}

async function restartService(args: DaemonArgs, name: string): Promise<number> {
  const socket = await statusSocketOf({ socket: args["status-socket"], config: args.config });
  const before = await controlRequest(socket, { cmd: "status" });
  const oldPid = before.ok ? before.status?.servers.find((s) => s.name === name)?.pid : undefined;
  const answer = await controlRequest(socket, { cmd: "restart", name });
  if (!answer.ok) {
    process.stderr.write(`rmcp-mux: ${answer.error}\n`);
    return 1;
  }
  process.stdout.write(`restarted ${name}: pid ${oldPid ?? "-"} → ${answer.server?.pid ?? "-"}\n`);
  return 0;
}
