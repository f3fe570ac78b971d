/**
 * The MCP protocol versions of the `initialize` era (2024-11-05 through 2025-11-25), and what each defines.
 *
 * One backend session serves clients of every one of these versions: the revisions differ by additions,
 * so a session negotiated at the newest version can serve an older client as long as the mux never hands
 * that client something its version does not define. This module is the one place that says what that is;
 * the families ask `supports` / `defines` before they deliver. Pure: strings in, booleans out.
 *
 * The list comes from the specification's changelogs and the method lists of each revision's schema:
 * - 2025-03-26 added JSON-RPC batches, the `completions` server capability, tool annotations and audio;
 * - 2025-06-18 removed batches, added `elicitation/create` (the `elicitation` client capability),
 *   structured tool output, resource links and `title`;
 * - 2025-11-25 added tasks (`tasks/*`, `notifications/tasks/status`, the `tasks` capabilities and
 *   task-augmented requests), URL-mode elicitation with `notifications/elicitation/complete`, sampling with
 *   tools, and icons.
 * Fields added inside results (annotations, structured content, titles, icons) pass through untouched:
 * a client ignores the fields it does not know. Methods, capabilities and batches are what change behaviour.
 */

/** The `initialize`-era revisions, oldest first. */
export const LEGACY_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] as const;
export type LegacyVersion = (typeof LEGACY_VERSIONS)[number];

/**
 * The version the mux greets a backend with in `initialize`: the newest it can shape for every older
 * client. The backend answers this or an older version it supports; never the first client's version,
 * which would hold every later client to it.
 */
export const GREETING_VERSION: LegacyVersion = "2025-11-25";

/** What differs between the revisions in a way the mux must respect per client. */
export type Feature =
  /** JSON-RPC batches (arrays): 2025-03-26 only. */
  | "batches"
  /** The `completions` server capability (completion/complete itself exists since 2024-11-05). */
  | "completions"
  /** `elicitation/create` and the `elicitation` client capability. */
  | "elicitation"
  /** URL-mode elicitation and `notifications/elicitation/complete`. */
  | "elicitation-url"
  /** Tasks: `tasks/*`, `notifications/tasks/status`, `params.task` and the `tasks` capabilities. */
  | "tasks"
  /** `tools` / `toolChoice` in `sampling/createMessage`. */
  | "sampling-tools";

/** [first version that has it, first version that no longer has it]. */
const SPAN: Record<Feature, readonly [LegacyVersion, LegacyVersion | null]> = {
  batches: ["2025-03-26", "2025-06-18"],
  completions: ["2025-03-26", null],
  elicitation: ["2025-06-18", null],
  "elicitation-url": ["2025-11-25", null],
  tasks: ["2025-11-25", null],
  "sampling-tools": ["2025-11-25", null],
};

/** Methods that exist only from some revision on, and the feature that brings them. */
const METHOD_FEATURE: ReadonlyMap<string, Feature> = new Map<string, Feature>([
  ["elicitation/create", "elicitation"],
  ["notifications/elicitation/complete", "elicitation-url"],
  ["tasks/get", "tasks"],
  ["tasks/result", "tasks"],
  ["tasks/cancel", "tasks"],
  ["tasks/list", "tasks"],
  ["notifications/tasks/status", "tasks"],
]);

const RANK: ReadonlyMap<string, number> = new Map(LEGACY_VERSIONS.map((v, i) => [v, i]));

export function isLegacyVersion(v: unknown): v is LegacyVersion {
  return typeof v === "string" && RANK.has(v);
}

/**
 * True when `version` defines `feature`. An unknown version (none negotiated yet, or one this table does
 * not know) defines none of them: the mux never sends what it cannot vouch for.
 */
export function supports(version: string, feature: Feature): boolean {
  const r = RANK.get(version);
  if (r === undefined) return false;
  const [from, until] = SPAN[feature];
  return r >= (RANK.get(from) as number) && (until === null || r < (RANK.get(until) as number));
}

/** The feature a method needs, if it is not in every revision. */
export function featureOf(method: string): Feature | undefined {
  return METHOD_FEATURE.get(method);
}

/** True when a session at `version` may send or receive `method` (methods of every revision: always). */
export function defines(version: string, method: string): boolean {
  const f = METHOD_FEATURE.get(method);
  return f === undefined || supports(version, f);
}

/**
 * The version to answer a client's `initialize` with, given the backend's negotiated version. The
 * client's own when the backend's session can serve it (both known, the backend's at least as new),
 * else the backend's: a server answers a version it supports, and the client decides whether to go on.
 */
export function answerVersion(asked: string, backend: string): string {
  const a = RANK.get(asked);
  const b = RANK.get(backend);
  return a !== undefined && b !== undefined && a <= b ? asked : backend;
}

/**
 * The backend's server capabilities as a client at `version` may see them: the backend's own, less the
 * ones its version does not define. Never adds one. Returns the same object when nothing is removed.
 */
export function capabilitiesFor(caps: Record<string, unknown>, version: string): Record<string, unknown> {
  const drop: string[] = [];
  if (caps.tasks !== undefined && !supports(version, "tasks")) drop.push("tasks");
  if (caps.completions !== undefined && !supports(version, "completions")) drop.push("completions");
  if (drop.length === 0) return caps;
  const out = { ...caps };
  for (const k of drop) delete out[k];
  return out;
}

/**
 * A kept `initialize` result (JSON text) as a client that asked for `asked` is answered: the version it gets
 * and the result with that version and only the capabilities it defines. The raw text when nothing changes.
 */
export function shapeHandshake(raw: string, asked: string): { version: string; result: string } {
  let obj: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (typeof parsed === "object" && parsed !== null) obj = parsed as Record<string, unknown>;
  } catch {
    return { version: asked, result: raw };
  }
  const backend = typeof obj.protocolVersion === "string" ? obj.protocolVersion : "";
  const version = answerVersion(asked, backend);
  if (version === backend) return { version, result: raw };
  const caps = obj.capabilities;
  const shaped = typeof caps === "object" && caps !== null ? capabilitiesFor(caps as Record<string, unknown>, version) : caps;
  return { version, result: JSON.stringify({ ...obj, protocolVersion: version, capabilities: shaped }) };
}

/**
 * True when a server→client request may go to a client at `version`: its method exists there, and so do
 * the modes it uses (URL-mode elicitation, sampling with tools: 2025-11-25).
 */
export function requestAllowed(version: string, method: string, params: Record<string, unknown> | undefined): boolean {
  if (!defines(version, method)) return false;
  if (method === "elicitation/create" && params?.mode === "url") return supports(version, "elicitation-url");
  if (method === "sampling/createMessage" && (params?.tools !== undefined || params?.toolChoice !== undefined)) {
    return supports(version, "sampling-tools");
  }
  return true;
}
