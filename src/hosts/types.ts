/** The shapes shared by every MCP host adapter: where a host keeps its servers, and what one entry looks like. */

/** Everything a host's file locations depend on, so tests can point the whole scan at a fixture home. */
export interface HostContext {
  home: string;
  platform: "darwin" | "linux";
  /** The project folder for workspace-level files (VS Code `.vscode/mcp.json`); usually the cwd. */
  workspace: string;
  /** Environment overrides some hosts honour (CODEX_HOME, CLAUDE_CONFIG_DIR); empty under `--home`. */
  env: Record<string, string | undefined>;
}

/** One row of a host's location table. */
export interface HostFileSpec {
  path: string;
  /** "user" or "workspace": shown in scan output, so people know which copy is meant. */
  scope: string;
  /** The folder the host starts this file's servers in, when fixed (a workspace file: the workspace). */
  folder?: string;
}

/** Path from the document root to an object of servers; "*" matches every key (Claude Code's per-project tables). */
export type ContainerPattern = readonly string[];

export interface HostDef {
  id: string;
  label: string;
  format: "json" | "toml";
  files(ctx: HostContext): HostFileSpec[];
  containers: readonly ContainerPattern[];
  /** Host-specific touch on a proxy entry (VS Code wants `"type": "stdio"`); the generic shape is built first. */
  finishProxyEntry?(entry: Record<string, unknown>): Record<string, unknown>;
  /**
   * The host's own spelling of a Streamable HTTP entry, merged over the entry's kept keys. Absent: the host
   * takes no URL entries (Claude Desktop's local config is stdio only), and keeps the proxy.
   */
  httpEntry?(url: string, headers: Record<string, string>): Record<string, unknown>;
}

/**
 * stdio: a command we can run under the daemon. remote: URL/HTTP/SSE, left alone. proxy: already rewired.
 * templated: depends on the host (`${...}` substitutions), so the daemon could not start it. relative: a relative
 * path with no known folder to resolve it against (see relative-paths.ts). invalid: not an object.
 */
export type EntryKind = "stdio" | "remote" | "proxy" | "templated" | "relative" | "invalid";

export interface HostEntry {
  host: string;
  file: string;
  /** "user", "workspace", or "project /path" for Claude Code's per-project tables. */
  scope: string;
  /** Concrete path of the servers object inside the document (wildcards filled in). */
  container: string[];
  name: string;
  kind: EntryKind;
  command?: string;
  args: string[];
  /** Values are secrets: they go to the manifest only, never to output. */
  env: Record<string, string>;
  cwd?: string;
  /** kind "relative": the first relative path found, for the message. */
  unresolved?: string;
  disabled: boolean;
  /** The entry as parsed, to build its proxy replacement from. */
  raw: Record<string, unknown>;
}

export interface HostFileResult {
  host: HostDef;
  spec: HostFileSpec;
  /** Parse error message; the file is then reported and never written. */
  error?: string;
  /** The file's text as read (absent when it could not be read). */
  text?: string;
  entries: HostEntry[];
}
