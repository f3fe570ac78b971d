// Importing this module loads arktype (~120 ms, ~46 MB): only load.ts may import it, and only lazily.
import { type } from "arktype";
import { HTTP_DEFAULTS } from "./http.ts";

// `expected` is set through configure() rather than describe(): for unions (boolean) arktype 2.2 otherwise puts a
// whole sentence into `expected`, and errors.ts builds its own sentence around it.
const expect = <T extends { configure: (meta: { expected: string }) => unknown }>(t: T, expected: string) =>
  t.configure({ expected }) as T;

// setTimeout fires at once for delays above 2^31-1 ms, so a larger timeout would silently mean "no wait".
const MAX_MS = 2147483647;
const posInt = expect(type("number.integer >= 1"), "an integer >= 1");
const ms0 = expect(type("0 <= number.integer <= 2147483647"), `an integer from 0 to ${MAX_MS}`);
const ms1 = expect(type("1 <= number.integer <= 2147483647"), `an integer from 1 to ${MAX_MS}`);
const nonNegInt = expect(type("number.integer >= 0"), "an integer >= 0");
const path = expect(type("string > 0"), "a non-empty path string");
const bool = expect(type("boolean"), "true or false");

/** Server names appear in log prefixes, socket-less CLI arguments and status output: keep them shell- and TOML-safe. */
export const ServerName = expect(type(/^[A-Za-z0-9._-]+$/), 'a name made of letters, digits, "-", "_", "."');

// The keys of one [servers.NAME] table and their defaults (README.md, "Configuration").
const serverFields = type({
  "+": "reject",
  socket: path,
  cmd: expect(type("string > 0"), "a non-empty command string"),
  args: expect(type("string[]"), "an array of strings").default(() => []),
  env: expect(type("Record<string, string>"), "a table of string values").default(() => ({})),
  "cwd?": path,
  max_active_clients: posInt.default(5),
  max_connections: posInt.default(256),
  lazy_start: bool.default(false),
  max_request_bytes: posInt.default(1048576),
  request_timeout_ms: ms1.default(30000),
  restart_backoff_ms: ms0.default(1000),
  restart_backoff_max_ms: ms0.default(30000),
  max_restarts: nonNegInt.default(5),
  tray: bool.default(false),
  "status_file?": path,
  max_response_bytes: posInt.default(67108864),
  max_client_buffer_bytes: posInt.default(33554432),
  stable_run_ms: ms0.default(10000),
  shutdown_grace_ms: ms0.default(2000),
  // Liveness probe: off unless asked for, since a ping every interval is traffic some servers log.
  heartbeat: bool.default(false),
  heartbeat_interval_ms: ms1.default(30000),
  heartbeat_timeout_ms: ms1.default(5000),
  heartbeat_max_failures: posInt.default(3),
  // "resolve": an npx / npm exec command runs its package's bin directly, without npm (src/runtime/npx-launch.ts).
  launch: expect(type("'resolve' | 'as-written'"), '"resolve" or "as-written"').default("resolve"),
  // Who shares one child process (README.md, "Which servers are shared"); "auto" decides from what the server shows.
  share: expect(type("'auto' | 'shared' | 'per-workspace' | 'per-client'"), '"auto", "shared", "per-workspace" or "per-client"').default("auto"),
  max_instances: posInt.default(8),
  // Optional because its default depends on the policy: 300000 for per-workspace instances, never for a shared one.
  "idle_timeout_ms?": ms0,
});

type Fields = typeof serverFields.infer;
type Ctx = { reject: (x: { expected: string; actual: string; relativePath: string[] }) => false };

// A cap below the first delay would make the backoff shrink; refuse it instead of guessing which one was meant.
const backoffOrdered = (s: Fields, ctx: Ctx) =>
  s.restart_backoff_max_ms >= s.restart_backoff_ms ||
  ctx.reject({
    expected: `>= restart_backoff_ms (${s.restart_backoff_ms})`,
    actual: String(s.restart_backoff_max_ms),
    relativePath: ["restart_backoff_max_ms"],
  });

/** One [servers.NAME] table as written in the file (paths not yet resolved). */
export const ServerTableSchema = serverFields.narrow(backoffOrdered);

/** One resolved server: the table plus its name; `socket`, `cwd`, `status_file` are absolute after load. */
export const ServerSchema = type({ "...": serverFields, "+": "reject", name: ServerName }).narrow(backoffOrdered);

// The [http] table (README.md, "Configuration"); `listen` absent = the front is off unless `--http ADDR`.
const httpFields = type({
  "+": "reject",
  "listen?": expect(type("string > 0"), 'an address "HOST:PORT"'),
  token_file: path.default(HTTP_DEFAULTS.token_file),
  allowed_origins: expect(type("string[]"), "an array of origin strings").default(() => []),
  session_idle_ms: ms1.default(HTTP_DEFAULTS.session_idle_ms),
  allow_remote: bool.default(HTTP_DEFAULTS.allow_remote),
});

/** The whole file. `status_socket` defaults to "daemon.sock", which load.ts resolves beside the config file. */
export const ConfigSchema = type({
  "+": "reject",
  servers: expect(type.Record("string", ServerTableSchema), "a table of [servers.NAME] tables"),
  status_socket: path.default("daemon.sock"),
  "http?": httpFields,
});

export type ServerTable = typeof ServerTableSchema.infer;
export type ServerConfig = typeof ServerSchema.infer;
export type MuxConfig = typeof ConfigSchema.infer;
/** The arktype error class, re-exported so load.ts can test results without a static arktype import. */
export const SchemaErrors = type.errors;
