/**
 * Bind the selected servers' sockets from a quick read of the config while the real check runs.
 *
 * Validation happens in a child process (the schema library costs ~300 ms), so the sockets would
 * otherwise appear only after it. Here the file is only parsed (no schema) to find socket paths; the
 * path checks are the same as at a normal start (stale, live, symlink). Whatever cannot be read or
 * bound is simply left to the normal start, which reports it properly; whatever the validated config
 * does not claim is released again. Nothing is spawned before the check passes.
 */
import TOML from "@iarna/toml";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expandHome, resolveFrom } from "../config/paths.ts";
import { Listener } from "../runtime/listener.ts";

const names = (list?: string) => (list === undefined ? undefined : new Set(list.split(",").map((n) => n.trim())));

/** Socket paths of the servers `--only`/`--except` select, as the config file names them; [] when unreadable. */
export function socketPathsOf(args: { config?: string; only?: string; except?: string }): string[] {
  try {
    const file = path.resolve(expandHome(args.config as string));
    const text = readFileSync(file, "utf8");
    const raw = (/\.json$/i.test(file) ? JSON.parse(text) : TOML.parse(text)) as { servers?: Record<string, { socket?: unknown }> };
    const only = names(args.only);
    const except = names(args.except);
    return Object.entries(raw.servers ?? {})
      .filter(([name]) => (only ? only.has(name) : !except?.has(name)))
      .flatMap(([, s]) => (typeof s?.socket === "string" ? [resolveFrom(path.dirname(file), s.socket)] : []));
  } catch {
    return [];
  }
}

/** Binds what it can; keyed by socket path. */
export async function bindEarly(paths: string[]): Promise<Map<string, Listener>> {
  const bound = await Promise.allSettled(paths.map((p) => Listener.bind(p)));
  const out = new Map<string, Listener>();
  bound.forEach((r, i) => {
    if (r.status === "fulfilled") out.set(paths[i] as string, r.value);
  });
  return out;
}

/** Closes (and removes the files of) early sockets that the validated config does not use. */
export function releaseUnclaimed(early: Map<string, Listener>, claimed: Iterable<string>): void {
  const keep = new Set(claimed);
  for (const [p, l] of early) {
    if (keep.has(p)) continue;
    l.stop(true);
    early.delete(p);
  }
}
