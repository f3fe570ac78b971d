/** Finding host files and the server entries inside them. Reading is here; collectEntries itself is pure. */
import { readFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { readEntry } from "./entry.ts";
import { formatOf } from "./format.ts";
import { HOSTS } from "./index.ts";
import type { ContainerPattern, HostContext, HostDef, HostEntry, HostFileResult, HostFileSpec } from "./types.ts";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every object matching the pattern, with its concrete path ("*" expands over the keys present). */
export function containersIn(doc: unknown, pattern: ContainerPattern): { path: string[]; value: Record<string, unknown> }[] {
  let found: { path: string[]; value: unknown }[] = [{ path: [], value: doc }];
  for (const seg of pattern) {
    found = found.flatMap(({ path, value }) => {
      if (!isObj(value)) return [];
      const keys = seg === "*" ? Object.keys(value) : seg in value ? [seg] : [];
      return keys.map((k) => ({ path: [...path, k], value: value[k] }));
    });
  }
  return found.filter((f): f is { path: string[]; value: Record<string, unknown> } => isObj(f.value));
}

export function collectEntries(host: HostDef, spec: HostFileSpec, doc: unknown): HostEntry[] {
  return host.containers.flatMap((pattern) =>
    containersIn(doc, pattern).flatMap(({ path, value }) => {
      const star = pattern.indexOf("*");
      const scope = star >= 0 ? `project ${path[star]}` : spec.scope;
      // Claude Code keys its per-project tables by the project's absolute folder: the folder its servers start in.
      const folder = star >= 0 && isAbsolute(path[star]!) ? path[star] : spec.folder;
      const base = { host: host.id, file: spec.path, scope, container: path, folder };
      return Object.entries(value).map(([name, raw]) => readEntry(base, name, raw));
    }),
  );
}

/** One host file; undefined when it does not exist. A parse failure is reported in `error`, never thrown. */
export async function readHostFile(host: HostDef, spec: HostFileSpec): Promise<HostFileResult | undefined> {
  let text: string;
  try {
    text = await readFile(spec.path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return { host, spec, error: `cannot read: ${(e as Error).message}`, entries: [] };
  }
  try {
    return { host, spec, text, entries: collectEntries(host, spec, formatOf(host.format).parse(text)) };
  } catch (e) {
    return { host, spec, text, error: `cannot parse ${host.format.toUpperCase()}: ${(e as Error).message}`, entries: [] };
  }
}

/** Every existing host file, in host-table order; a path listed twice (workspace = home) is read once. */
export async function discover(ctx: HostContext, hosts: readonly HostDef[] = HOSTS): Promise<HostFileResult[]> {
  const seen = new Set<string>();
  const out: HostFileResult[] = [];
  for (const host of hosts) {
    for (const spec of host.files(ctx)) {
      if (seen.has(spec.path)) continue;
      seen.add(spec.path);
      const r = await readHostFile(host, spec);
      if (r) out.push(r);
    }
  }
  return out;
}
