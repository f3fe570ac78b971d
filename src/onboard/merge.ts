/**
 * From host entries to mux servers: entries with the same command, args, cwd and env values are one server however
 * many hosts list it; anything else is a server of its own; different servers that share a name get distinct names. Deterministic (host-table order), so scan, the
 * manifest and a later rewire always agree on names. Pure.
 */
import path from "node:path";
import { serverKey } from "../hosts/entry.ts";
import type { HostEntry } from "../hosts/types.ts";

/** A server already in the manifest: it keeps its name and socket, so rewired hosts stay valid. */
export interface ExistingServer {
  name: string;
  cmd: string;
  args: string[];
  cwd?: string | undefined;
  env: Record<string, string>;
  socket: string;
}

export interface PlannedServer {
  name: string;
  key: string;
  cmd: string;
  args: string[];
  cwd?: string;
  /** The same in every source (env is part of the key). */
  env: Record<string, string>;
  socket: string;
  sources: HostEntry[];
  /** True when the manifest already has it (nothing to add). */
  existing: boolean;
}

/** Server names end up in socket file names and TOML keys: keep them to the characters our config accepts. */
export function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+|-+$/g, "");
  return s || "server";
}

function mostCommonName(sources: HostEntry[]): string {
  const counts = new Map<string, number>();
  for (const s of sources) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
  // Map keeps insertion order, so ties go to the first host that listed the server.
  return [...counts.entries()].reduce((best, cur) => (cur[1] > best[1] ? cur : best))[0];
}

export function planServers(entries: readonly HostEntry[], socketDir: string, existing: readonly ExistingServer[] = []): PlannedServer[] {
  const groups = new Map<string, HostEntry[]>();
  for (const e of entries) {
    if (e.kind !== "stdio") continue;
    const k = serverKey(e);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  const byKey = new Map(existing.map((s) => [serverKey(s), s]));
  const taken = new Set(existing.map((s) => s.name));
  const out: PlannedServer[] = [];
  for (const [key, sources] of groups) {
    const first = sources[0]!;
    const known = byKey.get(key);
    const name = known?.name ?? uniqueName(safeName(mostCommonName(sources)), first.host, taken);
    taken.add(name);
    const planned: PlannedServer = {
      name,
      key,
      cmd: first.command!,
      args: first.args,
      env: { ...first.env },
      socket: known?.socket ?? path.join(socketDir, `${name}.sock`),
      sources,
      existing: known !== undefined,
    };
    if (first.cwd !== undefined) planned.cwd = first.cwd;
    out.push(planned);
  }
  return out;
}

/** `memory`, else `memory-cursor` (names the host it came from), else `memory-2`, `memory-3`… */
function uniqueName(base: string, host: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  if (!taken.has(`${base}-${host}`)) return `${base}-${host}`;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}
