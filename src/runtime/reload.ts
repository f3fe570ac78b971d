/**
 * Config reload, the pure part: which servers a new config adds, removes, changes or leaves alone.
 *
 * Servers are matched by name. A server is "changed" when any key of its resolved config differs
 * (a new socket path included: the old one is stopped and its socket removed, the new one bound);
 * key order in tables (env) does not matter, order in arrays (args) does. The daemon applies the
 * plan (src/runtime/daemon.ts): it never imports the config schema, so this file must not either.
 */
import type { ServerConfig } from "../config/schema.ts";
import type { ReloadSummary } from "../control/protocol.ts";

export interface ReloadPlan {
  /** In the new config's order. */
  added: ServerConfig[];
  /** Names, in the running order. */
  removed: string[];
  /** The new configs of servers whose config differs, in the new config's order. */
  changed: ServerConfig[];
  /** Names, in the new config's order. */
  unchanged: string[];
}

export type { ReloadSummary };

export class ReloadError extends Error {
  override readonly name = "ReloadError";
}

/** Structural equality of plain JSON data; object key order is ignored, array order is not. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // A key present with `undefined` is the same as a missing key (JSON cannot tell them apart either).
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const ak = keys(ao);
  const bk = keys(bo);
  return ak.length === bk.length && ak.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}

/**
 * The plan that turns the running set into `next`. Refuses (ReloadError) a `next` that names a
 * server twice or puts two servers on one socket — the config check already does, this guards
 * library callers who pass configs of their own.
 */
export function diffConfigs(current: readonly ServerConfig[], next: readonly ServerConfig[]): ReloadPlan {
  const names = new Set<string>();
  const sockets = new Map<string, string>();
  for (const c of next) {
    if (names.has(c.name)) throw new ReloadError(`server ${c.name} appears twice in the new config`);
    names.add(c.name);
    const other = sockets.get(c.socket);
    if (other !== undefined) throw new ReloadError(`servers ${other} and ${c.name} are on the same socket ${c.socket}`);
    sockets.set(c.socket, c.name);
  }
  const old = new Map(current.map((c) => [c.name, c] as const));
  const plan: ReloadPlan = { added: [], removed: [], changed: [], unchanged: [] };
  for (const c of next) {
    const was = old.get(c.name);
    if (was === undefined) plan.added.push(c);
    else if (deepEqual(was, c)) plan.unchanged.push(c.name);
    else plan.changed.push(c);
  }
  for (const c of current) if (!names.has(c.name)) plan.removed.push(c.name);
  return plan;
}

/** One log line: `added c; removed b; changed a; unchanged d, e` (empty groups left out). */
export function describeReload(s: ReloadSummary): string {
  const parts = (["added", "removed", "changed", "unchanged"] as const)
    .filter((k) => s[k].length > 0)
    .map((k) => `${k} ${s[k].join(", ")}`);
  for (const f of s.failed) parts.push(`FAILED to start ${f.name}: ${f.error}`);
  return parts.length > 0 ? parts.join("; ") : "no servers";
}
