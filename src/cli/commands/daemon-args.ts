/** Flags of the main command (the daemon), shared by its help text and its runner. */
export const daemonArgs = {
  config: { type: "string", description: "Path to mux.toml (or a .json with the same shape)", valueHint: "PATH" },
  only: { type: "string", description: "Start only these servers (comma-separated)", valueHint: "a,b" },
  except: { type: "string", description: "Start all servers except these (comma-separated)", valueHint: "c" },
} as const;
