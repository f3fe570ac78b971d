// The [http] table once resolved, its defaults and the listen-address rule. No arktype: the daemon applies
// `--http ADDR` itself, and the front reads these types.
import { ConfigError } from "./errors.ts";
import { resolveFrom } from "./paths.ts";

export const HTTP_DEFAULTS = {
  token_file: "~/.rmcp-mux/http-token",
  allowed_origins: [] as string[],
  session_idle_ms: 600000,
  allow_remote: false,
} as const;

/** The [http] table as written (after schema defaults): `listen` absent means the front is off. */
export interface HttpTable {
  listen?: string;
  token_file: string;
  allowed_origins: string[];
  session_idle_ms: number;
  allow_remote: boolean;
}

/** What the daemon needs to run the front: plain data (it crosses the `check --json` boundary). */
export interface HttpConfig {
  hostname: string;
  port: number;
  /** Absolute. */
  tokenFile: string;
  allowedOrigins: string[];
  sessionIdleMs: number;
  allowRemote: boolean;
}

/** `HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback) into its parts; null when it is none of those. */
export function parseListen(addr: string): { hostname: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(addr.trim());
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const hostname = m[1] ?? (m[2] === "" ? "127.0.0.1" : (m[2] as string));
  return { hostname, port };
}

/** Only addresses that cannot be reached from another machine. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/**
 * The table (from the file, or defaults) plus `--http ADDR` (which wins over `listen`) into the front's
 * settings; null when neither turns it on. Refuses an address it cannot parse, and a non-loopback one
 * without `allow_remote`: the front is reachable by anyone who can reach that address, token or not.
 */
export function resolveHttp(table: HttpTable | undefined, flag: string | undefined, configFile: string, dir: string): HttpConfig | null {
  const t: HttpTable = table ?? { ...HTTP_DEFAULTS, allowed_origins: [] };
  const listen = flag ?? t.listen;
  if (listen === undefined) return null;
  const key = flag !== undefined ? "--http" : "http.listen";
  const where = flag !== undefined ? "--http" : "http.listen";
  const addr = parseListen(listen);
  if (addr === null)
    throw new ConfigError({ file: configFile, key, detail: `${where}: expected "HOST:PORT" (such as "127.0.0.1:7337"), got ${JSON.stringify(listen)}` });
  if (!t.allow_remote && !isLoopback(addr.hostname))
    throw new ConfigError({
      file: configFile,
      key,
      detail:
        `${where} ${listen} is not a loopback address: anyone who can reach it could try the token. ` +
        `Listen on 127.0.0.1, or set allow_remote = true in [http] (and put a TLS reverse proxy in front)`,
    });
  return {
    ...addr,
    tokenFile: resolveFrom(dir, t.token_file),
    allowedOrigins: [...t.allowed_origins],
    sessionIdleMs: t.session_idle_ms,
    allowRemote: t.allow_remote,
  };
}

/** The base URL a host on this machine uses (an any-address listen is reached on loopback). */
export function clientBase(cfg: Pick<HttpConfig, "hostname" | "port">): string {
  const h = cfg.hostname === "0.0.0.0" ? "127.0.0.1" : cfg.hostname === "::" ? "::1" : cfg.hostname;
  return `http://${h.includes(":") ? `[${h}]` : h}:${cfg.port}`;
}
