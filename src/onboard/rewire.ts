/**
 * Planning a rewire of one host file: which stdio entries become proxy entries (those whose command, args, cwd and env
 * match a server in mux.toml, so the proxy's socket is one the daemon really serves), the new text, and a check that
 * the new text parses to exactly the old document with those entries swapped. Pure.
 */
import { httpEntry, proxyEntry, serverKey, serverUrl } from "../hosts/entry.ts";
import { relativeNote } from "../hosts/relative-paths.ts";
import { type EntryEdit, formatOf } from "../hosts/format.ts";
import type { HostDef, HostEntry } from "../hosts/types.ts";
import type { ExistingServer } from "./merge.ts";
import { verifiedEdit } from "./verified-edit.ts";

export interface RewirePlan {
  before: string;
  after: string;
  /** `written` is the proxy entry that replaced `entry.raw`: what restore looks for to undo exactly this change. */
  changes: { entry: HostEntry; server: string; socket: string; written: Record<string, unknown> }[];
  /** stdio entries left as they are, with the reason (not in mux.toml, host-side ${...} variables, unplaceable). */
  skipped: { entry: HostEntry; reason: string }[];
  /** Already proxy entries: what makes a second run a no-op. */
  alreadyWired: HostEntry[];
  /** URL/HTTP/SSE servers: never touched. */
  remote: HostEntry[];
}


/** `--transport http`: URL entries on the daemon's HTTP front instead of proxy entries. */
export interface HttpTarget {
  /** `http://127.0.0.1:7337` */
  base: string;
  token: string;
}

export function planRewire(
  host: HostDef,
  file: { text: string; entries: HostEntry[] },
  servers: readonly ExistingServer[],
  proxy: string,
  manifestLabel = "mux.toml",
  /** The manifest's absolute path, written into each proxy entry as `--config` (see proxyEntry). */
  config?: string,
  http?: HttpTarget,
): RewirePlan {
  const byKey = new Map(servers.map((s) => [serverKey(s), s]));
  const plan: RewirePlan = { before: file.text, after: file.text, changes: [], skipped: [], alreadyWired: [], remote: [] };
  const edits: (EntryEdit & { entry: Record<string, unknown>; source: HostEntry; server: ExistingServer })[] = [];
  for (const e of file.entries) {
    if (e.kind === "proxy") plan.alreadyWired.push(e);
    else if (e.kind === "remote") plan.remote.push(e);
    else if (e.kind === "templated") plan.skipped.push({ entry: e, reason: "depends on the host (${…} variables), so the daemon could not start it" });
    else if (e.kind === "relative") plan.skipped.push({ entry: e, reason: relativeNote(e.unresolved) });
    else if (e.kind === "invalid") plan.skipped.push({ entry: e, reason: "is not an object" });
    else {
      const server = byKey.get(serverKey(e));
      if (!server) plan.skipped.push({ entry: e, reason: `has no server with the same command, args, cwd and env in ${manifestLabel}` });
      else {
        const entry = http
          ? httpEntry(host, e.raw, serverUrl(http.base, server.name), http.token)
          : proxyEntry(host, e.raw, proxy, server.socket, config);
        if (entry === undefined) plan.skipped.push({ entry: e, reason: `${host.label} takes no URL entries` });
        else edits.push({ container: e.container, name: e.name, entry, source: e, server });
      }
    }
  }
  if (edits.length === 0) return plan;
  const { text, failed } = verifiedEdit(formatOf(host.format), file.text, edits);
  const failedAt = new Set(failed.map((f) => f.index));
  for (const f of failed) plan.skipped.push({ entry: edits[f.index]!.source, reason: f.reason });
  const done = edits.filter((_, i) => !failedAt.has(i));
  plan.after = text;
  plan.changes = done.map((e) => ({ entry: e.source, server: e.server.name, socket: e.server.socket, written: e.entry }));
  return plan;
}
