/** `rmcp-mux service status`: the unit file, the service manager's view, and the daemon's own status. */
import { renderStatus } from "../cli/format.ts";
import { statusSocketOf } from "../cli/resolve.ts";
import { controlRequest } from "../control/client.ts";
import { configOfInstalled, managerQuery, readIfExists, type Runner, shellLine, spawnRunner, summarizeManager } from "./actions.ts";
import type { ServiceLocation } from "./platform.ts";

/** Exit codes: 0 installed and the daemon answers; 1 installed but the daemon does not answer; 3 not installed. */
export async function serviceStatus(
  loc: ServiceLocation,
  opts: { config?: string | undefined; dryRun: boolean },
  write: (line: string) => void,
  run: Runner = spawnRunner,
): Promise<number> {
  const content = readIfExists(loc.file);
  const installed = content !== null;
  write(`service: ${loc.name} (${loc.platform} ${loc.platform === "systemd" ? "user unit" : "agent"} ${loc.id})`);
  write(`${loc.platform === "systemd" ? "unit file" : "plist"}: ${loc.file} (${installed ? "installed" : "not installed"})`);
  const config = opts.config ?? (content !== null ? configOfInstalled(loc, content) : null);
  write(`config: ${config ?? "unknown (pass --config PATH)"}${!opts.config && config ? " (from the unit file)" : ""}`);

  const query = managerQuery(loc);
  if (opts.dryRun) write(`service manager: not asked (dry run; would run: ${shellLine(query)})`);
  else write(`service manager: ${summarizeManager(loc, await run(query)).line}`);
  write(`logs: ${loc.logHint}`);

  const answering = config === null ? false : await daemonStatus(config, write);
  if (!installed) return 3;
  return answering ? 0 : 1;
}

async function daemonStatus(config: string, write: (line: string) => void): Promise<boolean> {
  let socket: string;
  try {
    socket = await statusSocketOf({ config });
  } catch (e) {
    write(`daemon: cannot tell (${e instanceof Error ? e.message : String(e)})`);
    return false;
  }
  try {
    const answer = await controlRequest(socket, { cmd: "status" }, 5000);
    if (!answer.ok || !answer.status) {
      write(`daemon: answered on ${socket} without a status (${answer.ok ? "empty answer" : answer.error})`);
      return false;
    }
    write(`daemon: answering on ${socket}`);
    write("");
    write(renderStatus(answer.status));
    return true;
  } catch (e) {
    if (e instanceof Error && e.name === "NoDaemonError") {
      write(`daemon: not running (nothing answers on ${socket})`);
      return false;
    }
    throw e;
  }
}
