/** Reading one server entry of a host file, and building the proxy entry that replaces it. Pure. */
import path from "node:path";
import { anchorPaths } from "./relative-paths.ts";
import type { EntryKind, HostDef, HostEntry } from "./types.ts";

/** Keys that describe how to launch the server: the daemon owns them once the entry goes through rmcp-mux. */
export const LAUNCH_KEYS = new Set(["command", "args", "env", "cwd", "envFile", "env_file", "env_vars"]);

/** Keys whose values may be secrets (env, HTTP headers): masked in every diff. */
export const SECRET_KEYS = new Set(["env", "headers", "http_headers", "env_http_headers"]);

export const PROXY_BIN = "rmcp-mux-proxy";

/** `rmcp-mux-proxy --socket …` or `rmcp-mux proxy --socket …`, however the binary was installed. */
export function isProxyCommand(command: string, args: readonly string[]): boolean {
  const base = path.basename(command);
  return base === PROXY_BIN || (base === "rmcp-mux" && args[0] === "proxy");
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))) : [];
}

function kindOf(raw: unknown, command: string | undefined, args: string[], env: Record<string, string>): EntryKind {
  if (!isObj(raw)) return "invalid";
  const type = raw.type;
  // Every host spells remote servers differently (url, httpUrl, serverUrl, type http/sse): no string command = remote.
  if (command === undefined || (type !== undefined && type !== "stdio")) return "remote";
  if (isProxyCommand(command, args)) return "proxy";
  const texts = [command, ...args, ...Object.values(env), typeof raw.cwd === "string" ? raw.cwd : ""];
  // ${input:x}, ${workspaceFolder}, ${env:X}, ${VAR}: resolved by the host at launch, unknown to the daemon.
  if (texts.some((t) => t.includes("${"))) return "templated";
  return "stdio";
}

/** `folder`: where the host starts this entry's server, when that is fixed (see hosts/relative-paths.ts). */
export function readEntry(
  base: Pick<HostEntry, "host" | "file" | "scope" | "container"> & { folder?: string | undefined },
  name: string,
  raw: unknown,
): HostEntry {
  const { folder, ...where } = base;
  const obj = isObj(raw) ? raw : {};
  const command = typeof obj.command === "string" && obj.command !== "" ? obj.command : undefined;
  const args = strings(obj.args);
  const env: Record<string, string> = {};
  if (isObj(obj.env)) for (const [k, v] of Object.entries(obj.env)) env[k] = typeof v === "string" ? v : String(v);
  const entry: HostEntry = {
    ...where,
    name,
    kind: kindOf(raw, command, args, env),
    args,
    env,
    disabled: obj.disabled === true || obj.enabled === false,
    raw: obj,
  };
  if (command !== undefined) entry.command = command;
  if (typeof obj.cwd === "string") entry.cwd = obj.cwd;
  if (entry.kind === "stdio") {
    const a = anchorPaths(command!, args, entry.cwd, folder);
    if (a.unresolved !== undefined) {
      entry.kind = "relative";
      entry.unresolved = a.unresolved;
    } else {
      entry.command = a.command;
      entry.args = a.args;
      if (a.cwd !== undefined) entry.cwd = a.cwd;
    }
  }
  return entry;
}

/**
 * The replacement for a stdio entry: the host's own keys (type, timeouts, tool filters, disabled…) stay where they
 * were; command/args become the proxy; env and cwd go, since the daemon starts the server with them now. With
 * `config` the proxy gets `--config` too, so it can start the daemon itself when none runs.
 */
export function proxyEntry(host: HostDef, raw: Record<string, unknown>, proxy: string, socket: string, config?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "command") {
      out.command = proxy;
      out.args = config ? ["--socket", socket, "--config", config] : ["--socket", socket];
    } else if (!LAUNCH_KEYS.has(k)) out[k] = v;
  }
  return host.finishProxyEntry ? host.finishProxyEntry(out) : out;
}

/** Keys that say where a remote server is: replaced as a whole by the host's own HTTP spelling. */
const TRANSPORT_KEYS = new Set(["type", "url", "httpUrl", "serverUrl", "headers", "http_headers", "transport"]);

/**
 * The Streamable HTTP replacement for a stdio entry: the host's own keys stay (timeouts, tool filters, disabled…),
 * launch and transport keys go, the host's URL spelling comes in. Undefined for a host that takes no URL entries.
 */
export function httpEntry(host: HostDef, raw: Record<string, unknown>, url: string, token: string): Record<string, unknown> | undefined {
  if (host.httpEntry === undefined) return undefined;
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!LAUNCH_KEYS.has(k) && !TRANSPORT_KEYS.has(k)) kept[k] = v;
  return { ...host.httpEntry(url, { Authorization: `Bearer ${token}` }), ...kept };
}

/** The URL of one server on the daemon's HTTP front. */
export function serverUrl(base: string, server: string): string {
  return `${base}/mcp/${encodeURIComponent(server)}`;
}

/**
 * What makes two entries the same server: command, args, cwd and every env value. Two hosts whose env differs (their
 * own memory file, a token only one of them should hold) must not share one process.
 */
export function serverKey(e: {
  command?: string;
  cmd?: string;
  args: readonly string[];
  cwd?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
}): string {
  const env = Object.entries(e.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([e.command ?? e.cmd ?? "", e.args, e.cwd ?? null, env]);
}
