/** The daemon command: load and check the config, start every selected server, run until a signal. */
import { ConfigError } from "../../config/errors.ts";
import { loadConfig, selectServers } from "../../config/load.ts";
import { startDaemon } from "../../runtime/daemon.ts";
import { SocketPathError } from "../../runtime/socket-path.ts";

export async function runDaemonCommand(args: { config?: string; only?: string; except?: string }): Promise<number> {
  try {
    const cfg = await loadConfig(args.config as string);
    const servers = selectServers(cfg.servers, args.only, args.except, cfg.file);
    const daemon = await startDaemon(servers, { handleSignals: true });
    await daemon.done;
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof SocketPathError) {
      process.stderr.write(`rmcp-mux: ${e.message}\n`);
      return 2;
    }
    if (e instanceof AggregateError) {
      process.stderr.write(`rmcp-mux: could not start:\n${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
