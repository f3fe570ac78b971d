/**
 * `scan --snippet DIR`: for each host found, the proxy entries for its servers in that host's own format, ready to
 * paste over the entries they replace (the same entries rewire would write, without touching any file), and for
 * hosts that take URLs the same entries over the daemon's HTTP front (`NAME.http.json`). Pure.
 */
import { httpEntry, proxyEntry, serverUrl } from "../hosts/entry.ts";
import type { HttpTarget } from "./rewire.ts";
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
  /** URL entries: they hold the bearer token (write them 0600). */
  http: boolean;
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
  http?: HttpTarget,
): Snippet[] {
  const serverOf = new Map(planned.flatMap((s) => s.sources.map((e) => [e, s] as const)));
  type Items = { e: HostEntry; entry: Record<string, unknown> }[];
  const byHost = new Map<HostDef, { proxy: Items; http: Items }>();
  for (const r of results) {
    for (const e of r.entries) {
      const s = serverOf.get(e);
      if (!s) continue;
      const lists = byHost.get(r.host) ?? { proxy: [], http: [] };
      lists.proxy.push({ e, entry: proxyEntry(r.host, e.raw, proxy, s.socket, config) });
      const viaHttp = http && httpEntry(r.host, e.raw, serverUrl(http.base, s.name), http.token);
      if (viaHttp) lists.http.push({ e, entry: viaHttp });
      byHost.set(r.host, lists);
    }
  }
  const render = (host: HostDef, items: Items) => (host.format === "toml" ? tomlSnippet(items, host) : jsonSnippet(items));
  return [...byHost].flatMap(([host, lists]) => [
    { host, fileName: `${host.id}.${host.format}`, text: render(host, lists.proxy), entries: lists.proxy.map((i) => i.e), http: false },
    ...(lists.http.length === 0
      ? []
      : [{ host, fileName: `${host.id}.http.${host.format}`, text: render(host, lists.http), entries: lists.http.map((i) => i.e), http: true }]),
  ]);
}
