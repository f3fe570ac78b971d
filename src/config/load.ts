// Reads, validates and resolves a mux config. arktype is imported lazily (see parseConfigText): importing this
// module must stay cheap, because the CLI imports it before it knows whether a config is needed at all.
import { readFile } from "node:fs/promises";
import path from "node:path";
import TOML from "@iarna/toml";
import type { ArkErrors } from "arktype";
import type { MuxConfig, ServerConfig } from "./schema.ts";
import { ConfigError, type ConfigErrorInit, describeValue, formatConfigError, keyPath } from "./errors.ts";
import { type HttpConfig, resolveHttp } from "./http.ts";
import { expandHome, MAX_SOCKET_PATH_BYTES, resolveFrom, socketPathTooLong } from "./paths.ts";

export type { ServerConfig };

/** Plain data (JSON-serialisable), so a short-lived validating process can hand it to an arktype-free daemon. */
export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  statusSocket: string;
  /** In file order, defaults applied, `socket`/`cwd`/`status_file` absolute. */
  servers: ServerConfig[];
  /** The Streamable HTTP front's settings; null when [http] has no `listen` and no `--http` was given. */
  http: HttpConfig | null;
}

export interface LoadOptions {
  /** `--http ADDR`: turns the front on (or moves it), over [http].listen. */
  http?: string;
}

export async function loadConfig(configPath: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const file = path.resolve(expandHome(configPath));
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const detail = code === "ENOENT" ? "config file not found" : `cannot read config file (${code ?? String(err)})`;
    throw new ConfigError({ file, detail, cause: err });
  }
  return parseConfigText(text, file, /\.json$/i.test(file) ? "json" : "toml", opts);
}

/** Async only because it imports the schema (arktype) on first use; it touches no files. */
export async function parseConfigText(text: string, file: string, format: "toml" | "json", opts: LoadOptions = {}): Promise<LoadedConfig> {
  file = path.resolve(file);
  return validateConfig(parseSyntax(text, file, format), file, opts);
}

/** Validates an already-parsed config object (what a TOML or JSON file holds); `file` anchors relative paths. */
export async function validateConfig(raw: unknown, file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  file = path.resolve(file);
  const { ConfigSchema, ServerName, SchemaErrors } = await import("./schema.ts");
  const out = ConfigSchema(raw);
  if (out instanceof SchemaErrors) throw fromArkErrors(file, out);
  for (const name of Object.keys(out.servers)) {
    const bad = ServerName(name);
    if (bad instanceof SchemaErrors) {
      const detail = `${keyPath(name)}: invalid server name, expected ${bad[0]?.expected ?? "a simple name"}`;
      throw new ConfigError({ file, server: name, detail });
    }
  }
  return resolvePaths(file, out, opts);
}

function parseSyntax(text: string, file: string, format: "toml" | "json"): unknown {
  try {
    return format === "json" ? JSON.parse(text) : plain(TOML.parse(text));
  } catch (err) {
    const e = err as Error & { line?: number; col?: number; fromTOML?: boolean };
    // @iarna/toml appends "at row R, col C, pos P:" and a source excerpt; we report the position our own way.
    const reason = e.message.replace(/^JSON Parse error: /, "").split(/ at row \d+|\n/)[0];
    const where = e.fromTOML && e.line !== undefined ? ` at line ${e.line + 1}, column ${(e.col ?? 0) + 1}` : "";
    throw new ConfigError({ file, detail: `${format.toUpperCase()} syntax error${where}: ${reason}`, cause: err });
  }
}

// @iarna/toml tags every table with symbol keys (which "+": "reject" refuses) and gives tables a null prototype.
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object" && !(v instanceof Date))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "a table";
  return `a ${typeof v}, value hidden`;
}

function fromArkErrors(file: string, errors: ArkErrors): ConfigError {
  const inits = errors.map((e): ConfigErrorInit => {
    const p = e.path.map(String);
    const [server, rest] = p[0] === "servers" && p.length > 1 ? [p[1], p.slice(2)] : [undefined, p];
    const key = rest.length ? rest.join(".") : undefined;
    const last = rest.at(-1) ?? p.at(-1) ?? "";
    const parent = keyPath(server, rest.slice(0, -1).join(".") || undefined);
    // arktype reports an undeclared key under "+": "reject" as a predicate expecting "removed".
    if (e.code === "predicate" && e.expected === "removed")
      return { file, server, key, detail: `${parent ? `${parent}:` : "top level:"} unknown key "${last}"` };
    if (e.code === "required")
      return { file, server, key, detail: `${parent || "top level"}: missing required key "${last}"` };
    // narrow() rejections carry their own `actual`; everything else gets the offending value itself.
    // Env values are secrets (API keys): say what kind of value is wrong, never the value.
    const secret = rest[0] === "env";
    const actual = e.code === "predicate" ? e.actual : secret ? kindOf(e.data) : describeValue(e.data);
    return { file, server, key, expected: e.expected, actual };
  });
  const [first, ...more] = inits as [ConfigErrorInit, ...ConfigErrorInit[]];
  if (more.length === 0) return new ConfigError(first);
  // One error object for the first problem, but the message lists them all: fixing a file one run at a time is slow.
  const lines = more.map((i) => `\n  also: ${formatConfigError({ ...i, file: "" })}`);
  return new ConfigError({ ...first, detail: formatConfigError({ ...first, file: "" }) + lines.join("") });
}

function resolvePaths(file: string, cfg: MuxConfig, opts: LoadOptions): LoadedConfig {
  if (Object.keys(cfg.servers).length === 0) {
    const expected = "at least one [servers.NAME] table";
    throw new ConfigError({ file, key: "servers", expected, detail: `servers: ${expected} is required` });
  }
  const dir = path.dirname(file);
  const statusSocket = resolveFrom(dir, cfg.status_socket);
  // Every socket and status file must be its own path: a shared one means one server silently takes over another.
  const owners = new Map<string, string>();
  const claim = (p: string, server: string | undefined, key: string) => {
    const at = keyPath(server, key);
    const prev = owners.get(p);
    if (prev !== undefined)
      throw new ConfigError({ file, server, key, detail: `${prev} and ${at} are the same path ${p}` });
    if (key !== "status_file" && socketPathTooLong(p)) {
      const expected = `a socket path of at most ${MAX_SOCKET_PATH_BYTES} bytes`;
      throw new ConfigError({ file, server, key, expected, actual: `${Buffer.byteLength(p)} bytes: ${p}` });
    }
    owners.set(p, at);
  };
  claim(statusSocket, undefined, "status_socket");

  const servers = Object.entries(cfg.servers).map(([name, table]): ServerConfig => {
    const s: ServerConfig = { name, ...table, socket: resolveFrom(dir, table.socket) };
    claim(s.socket, name, "socket");
    if (table.cwd !== undefined) s.cwd = resolveFrom(dir, table.cwd);
    if (table.status_file !== undefined) {
      s.status_file = resolveFrom(dir, table.status_file);
      claim(s.status_file, name, "status_file");
    }
    return s;
  });
  const http = resolveHttp(cfg.http, opts.http, file, dir);
  return { file, statusSocket, servers, http };
}

/** `--only a,b` / `--except c`. Pass the config file so errors can say where the known names come from. */
export function selectServers(servers: ServerConfig[], only?: string, except?: string, file = ""): ServerConfig[] {
  if (only !== undefined && except !== undefined)
    throw new ConfigError({ file, key: "--only", detail: "--only and --except cannot be used together" });
  const flag = only !== undefined ? "--only" : "--except";
  const list = only ?? except;
  if (list === undefined) return servers;
  const names = new Set(list.split(",").map((n) => n.trim()).filter(Boolean));
  const known = servers.map((s) => s.name);
  const unknown = [...names].filter((n) => !known.includes(n));
  if (names.size === 0 || unknown.length > 0) {
    const quoted = unknown.map((n) => `"${n}"`).join(", ");
    const what = names.size === 0 ? "needs at least one server name" : `names unknown server(s) ${quoted}`;
    throw new ConfigError({ file, key: flag, detail: `${flag} ${what}; configured servers: ${known.join(", ")}` });
  }
  const picked = servers.filter((s) => names.has(s.name) === (only !== undefined));
  if (picked.length === 0)
    throw new ConfigError({ file, key: flag, detail: `${flag} ${list} leaves no server to start` });
  return picked;
}
