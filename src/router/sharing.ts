/**
 * Which clients may share one server process: the policies, and the rules `share = "auto"` decides by.
 *
 * Pure: the router observes a backend (its initialize result, the tool names it lists, whether it asks its
 * clients for roots) and turns each observation into a hint here; the runtime places clients by the hint
 * the rules rank highest. The rules, strongest first (README, "Which servers are shared"):
 * 1. the server's own declaration, `capabilities.experimental["x-mux"].sharing` in its initialize result;
 * 2. stateful tool names (a browser, a page, a tab, an editor session: one client's state is not another's);
 * 3. a server that asks its clients for `roots/list` serves a workspace;
 * 4. otherwise one process serves everyone.
 */

/** How clients are placed on a server's processes. */
export type SharePolicy = "shared" | "per-workspace" | "per-client" | "session-aware";

/** The `share` config key: a policy chosen by the user, or "auto" (decided by the rules above). */
export type ShareSetting = "auto" | "shared" | "per-workspace" | "per-client";

/** Which rule produced a hint, strongest first. */
export type ShareRule = "declaration" | "tools" | "roots" | "default";

export interface SharingHint {
  policy: SharePolicy;
  /** Says why, in words a user reads in the log and in `check`: "tool browser_navigate keeps per-session state". */
  reason: string;
  /** The rule behind it (absent: treat it as the weakest that could give `policy`). */
  rule?: ShareRule;
}

export const SHARE_SETTINGS: readonly ShareSetting[] = ["auto", "shared", "per-workspace", "per-client"];

const RANK: Record<ShareRule, number> = { declaration: 0, tools: 1, roots: 2, default: 3 };

/** The values a server may declare, and the policy each means. */
const DECLARED: Record<string, SharePolicy> = { shared: "shared", isolated: "per-client", "session-aware": "session-aware" };

/** What `share = "auto"` decides when nothing was observed (yet). */
export const DEFAULT_HINT: SharingHint = { policy: "shared", reason: "no sign of per-client state", rule: "default" };

export const ROOTS_HINT: SharingHint = { policy: "per-workspace", reason: "asks its clients for roots", rule: "roots" };

/**
 * The server's declaration, from its initialize result (the parsed `result` object). Null when it declares
 * nothing; an unknown value is reported as such, so a typo in a server does not silently mean "shared".
 */
export function declaredHint(result: unknown): SharingHint | null {
  const caps = (result as { capabilities?: { experimental?: Record<string, unknown> } } | null)?.capabilities;
  const xmux = caps?.experimental?.["x-mux"] as { sharing?: unknown } | undefined;
  const value = xmux?.sharing;
  if (typeof value !== "string") return null;
  const policy = DECLARED[value];
  return policy === undefined ? null : { policy, reason: `declares x-mux sharing=${value}`, rule: "declaration" };
}

/** The declared value when it is one the rules do not know (for a warning), else undefined. */
export function unknownDeclaration(result: unknown): string | undefined {
  const caps = (result as { capabilities?: { experimental?: Record<string, unknown> } } | null)?.capabilities;
  const value = (caps?.experimental?.["x-mux"] as { sharing?: unknown } | undefined)?.sharing;
  if (value === undefined) return undefined;
  return typeof value === "string" && value in DECLARED ? undefined : JSON.stringify(value);
}

const STATEFUL_PREFIXES = ["browser_", "page_", "tab_", "session_", "editor_"];
const STATEFUL_PARTS = ["navigate", "snapshot"];

/** A tool whose name says it works on state kept per session (a browser page, an editor buffer). */
export function isStatefulTool(name: string): boolean {
  const n = name.toLowerCase();
  return STATEFUL_PREFIXES.some((p) => n.startsWith(p)) || STATEFUL_PARTS.some((p) => n.includes(p));
}

/** From the tool names a server lists: per-client when one of them is stateful, else null. */
export function toolsHint(names: Iterable<string>): SharingHint | null {
  for (const name of names) {
    if (isStatefulTool(name)) return { policy: "per-client", reason: `tool ${name} keeps per-session state`, rule: "tools" };
  }
  return null;
}

/** The tool names in a `tools/list` result (its parsed `result` object); [] when it holds none. */
export function toolNames(result: unknown): string[] {
  const tools = (result as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return [];
  const out: string[] = [];
  for (const t of tools) {
    const name = (t as { name?: unknown } | null)?.name;
    if (typeof name === "string") out.push(name);
  }
  return out;
}

function rankOf(h: SharingHint): number {
  if (h.rule !== undefined) return RANK[h.rule];
  // Without a rule, the weakest rule that gives this policy.
  return h.policy === "per-client" ? RANK.tools : h.policy === "per-workspace" ? RANK.roots : h.policy === "shared" ? RANK.default : RANK.declaration;
}

/** True when `next` is decided by a stronger rule than `current` (the first of equals stands). */
export function outranks(next: SharingHint, current: SharingHint): boolean {
  return rankOf(next) < rankOf(current);
}

/** What `share = "auto"` decides from everything observed: the hint of the strongest rule, else shared. */
export function decideAuto(observed: Iterable<SharingHint>): SharingHint {
  let best = DEFAULT_HINT;
  for (const h of observed) if (outranks(h, best)) best = h;
  return best;
}

/** The policy a setting means before anything is observed; "auto" is decided later (`decided` false). */
export function configuredPolicy(setting: ShareSetting): { policy: SharePolicy; reason: string; decided: boolean } {
  if (setting === "auto") return { policy: DEFAULT_HINT.policy, reason: "auto: not decided yet (decided when the first instance starts)", decided: false };
  return { policy: setting, reason: `share = "${setting}" in the config`, decided: true };
}
