/** Flags of the main command (the daemon), shared by its help text and its runner. */
export const daemonArgs = {
  config: { type: "string", description: "Path to mux.toml (or a .json with the same shape)", valueHint: "PATH" },
  only: { type: "string", description: "Start only these servers (comma-separated)", valueHint: "a,b" },
  except: { type: "string", description: "Start all servers except these (comma-separated)", valueHint: "c" },
  http: { type: "string", description: "Serve Streamable HTTP on this address (over [http].listen)", valueHint: "HOST:PORT" },
  "status-socket": { type: "string", description: "Control socket path (default: status_socket from the config)", valueHint: "PATH" },
  "show-status": { type: "boolean", description: "Print the running daemon's status for this config and exit" },
  "restart-service": { type: "string", description: "Ask the running daemon to restart one server, then exit", valueHint: "NAME" },
  refresh: { type: "boolean", description: "With --restart-service: ask npm again for an npx server's package first" },
  json: { type: "boolean", description: "With --show-status: print JSON" },
  tui: { type: "boolean", description: "Start the daemon and show the live dashboard; quitting it stops that daemon" },
} as const;
