/** Finding the daemon a command talks to: an explicit socket, or the one a config file names. */
import { expandHome } from "../config/paths.ts";
import { UsageError } from "../errors.ts";

export { UsageError } from "../errors.ts";

/** The flags of every command that talks to a running daemon: which one (statusSocketOf resolves them). */
export const daemonTargetArgs = {
  socket: { type: "string", description: "The daemon's control socket", valueHint: "PATH" },
  config: { type: "string", description: "The daemon's mux.toml (its status_socket is used)", valueHint: "PATH" },
} as const;

export async function statusSocketOf(args: { socket?: string; config?: string; "status-socket"?: string }): Promise<string> {
  const explicit = args.socket ?? args["status-socket"];
  if (explicit) return expandHome(explicit);
  if (args.config) {
    const { loadConfig } = await import("../config/load.ts");
    return (await loadConfig(args.config)).statusSocket;
  }
  throw new UsageError("say which daemon: --socket PATH (its control socket) or --config PATH (its mux.toml)");
}

/** Runs a command body, turning the errors a user can act on into one line and an exit code. */
export async function cliErrors(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const known = ["ConfigError", "SocketPathError", "NoDaemonError", "HealthError", "UsageError"];
    if (e instanceof Error && e.name === "CheckFailed") {
      // The check child already phrased it for a person (it starts with "rmcp-mux: ").
      process.stderr.write(`${e.message}\n`);
      return (e as Error & { exitCode: number }).exitCode;
    }
    if (e instanceof Error && known.includes(e.name)) {
      process.stderr.write(`rmcp-mux: ${e.message}\n`);
      return e.name === "UsageError" || e.name === "ConfigError" ? 2 : 1;
    }
    throw e;
  }
}
