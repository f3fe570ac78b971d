// Must stay free of arktype, even transitively: ConfigError is caught in processes that have to start fast.

/** What went wrong, in pieces, so callers (CLI, dashboard) can show or test it without parsing the message. */
export interface ConfigErrorInit {
  file: string;
  server?: string;
  /** Key inside the server table (`max_active_clients`, `env.API_KEY`), or a top-level key when `server` is absent. */
  key?: string;
  expected?: string;
  actual?: string;
  /** Replaces the generated "<where> must be <expected> (was <actual>)" sentence; it names its own location. */
  detail?: string;
  cause?: unknown;
}

/** A config file that cannot be used. The message always starts with the file, then the dotted key path. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly file: string;
  readonly server?: string;
  readonly key?: string;
  readonly expected?: string;
  readonly actual?: string;

  constructor(init: ConfigErrorInit) {
    super(formatConfigError(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.file = init.file;
    if (init.server !== undefined) this.server = init.server;
    if (init.key !== undefined) this.key = init.key;
    if (init.expected !== undefined) this.expected = init.expected;
    if (init.actual !== undefined) this.actual = init.actual;
  }
}

// Names and keys that are not TOML bare keys are quoted, so `servers."a.b".cmd` cannot be misread as a deeper path.
const seg = (s: string) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s));

/** `servers.NAME.KEY`, `servers.NAME`, or a top-level `KEY`, as a user would write it in the file. */
export function keyPath(server?: string, key?: string): string {
  const parts = server === undefined ? [] : ["servers", seg(server)];
  if (key !== undefined) parts.push(...key.split(".").map(seg));
  return parts.join(".");
}

export function formatConfigError(init: ConfigErrorInit): string {
  let body: string;
  if (init.detail !== undefined) body = init.detail;
  else {
    body = `${keyPath(init.server, init.key) || "the file"} must be ${init.expected ?? "valid"}`;
    if (init.actual !== undefined) body += ` (was ${init.actual})`;
  }
  return init.file ? `${init.file}: ${body}` : body;
}

/** A short, unambiguous rendering of a bad value for messages: strings quoted, containers named, long text cut. */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  // @iarna/toml turns integers beyond 2^53 into (sometimes wrapped) bigints; printing the number would mislead.
  if (typeof v === "bigint") return "an integer too large to represent";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "null";
  if (v instanceof Date) return "a date";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "a table";
  return typeof v;
}
