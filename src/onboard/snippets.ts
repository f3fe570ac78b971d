/**
 * `scan --snippet DIR`: for each host found, the proxy entries for its servers in that host's own format, ready to
 * paste over the entries they replace (the same entries rewire would write, without touching any file). Pure.
 */
import { proxyEntry } from "../hosts/entry.ts";
import { tomlKey, tomlValue } from "../hosts/toml-edit.ts";
import type { HostDef, HostEntry, HostFileResult } from "../hosts/types.ts";
import type { PlannedServer } from "./merge.ts";

export interface Snippet {
  host: HostDef;
  /** `claude-code.json`, `codex.toml`… */
  fileName: string;
  text: string;
  /** The host entries it replaces. */
  entries: HostEntry[];
}

function jsonSnippet(items: { e: HostEntry; entry: Record<string, unknown> }[]): string {
  const doc: Record<string, any> = {};
  for (const { e, entry } of items) {
    const box = e.container.reduce((o, k) => (o[k] ??= {}), doc);
    box[e.name] ??= entry;
  }
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function tomlSnippet(items: { e: HostEntry; entry: Record<string, unknown> }[], host: HostDef): string {
  const seen = new Set<string>();
  const tables = items.flatMap(({ e, entry }) => {
    const header = [...e.container, e.name].map(tomlKey).join(".");
    if (seen.has(header)) return [];
    seen.add(header);
    return [`[${header}]\n${Object.entries(entry).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}\n`).join("")}`];
  });
  return `# ${host.label}: these tables replace the ones of the same name (rmcp-mux scan --snippet)\n\n${tables.join("\n")}`;
}

export function renderSnippets(
  results: readonly HostFileResult[],
  planned: readonly PlannedServer[],
  proxy: string,
  config: string,
): Snippet[] {
  const serverOf = new Map(planned.flatMap((s) => s.sources.map((e) => [e, s] as const)));
  const byHost = new Map<HostDef, { e: HostEntry; entry: Record<string, unknown> }[]>();
  for (const r of results) {
    for (const e of r.entries) {
      const s = serverOf.get(e);
      if (!s) continue;
      const list = byHost.get(r.host) ?? [];
      list.push({ e, entry: proxyEntry(r.host, e.raw, proxy, s.socket, config) });
      byHost.set(r.host, list);
    }
  }
  return [...byHost].map(([host, items]) => ({
    host,
    fileName: `${host.id}.${host.format}`,
    text: host.format === "toml" ? tomlSnippet(items, host) : jsonSnippet(items),
    entries: items.map((i) => i.e),
  }));
}
