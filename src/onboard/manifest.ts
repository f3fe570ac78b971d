/**
 * Writing mux.toml text for planned servers. A fresh file gets a header; an existing one only gets new tables
 * appended, so whatever a person tuned in it (comments, timeouts, lazy_start) stays. Pure: validation and writing
 * happen in hosts/apply.ts.
 */
import { tildify } from "../hosts/context.ts";
import { tomlKey, tomlValue } from "../hosts/toml-edit.ts";
import type { PlannedServer } from "./merge.ts";

/** Above each server's `share`: what the values mean, so a user can pin one without looking it up. */
export const SHARE_COMMENT = [
  '# share: who uses one process of this server. "auto" decides from what the server shows: its x-mux',
  "# declaration, stateful tool names (browser_*, page_*, …: one process per client), asking for roots (one per",
  '# workspace), else one for everyone. Pin it with "shared", "per-workspace" or "per-client" (README: "Which servers are shared").',
];

function provenance(s: PlannedServer, home: string): string[] {
  const from = s.sources.map((e) => `${e.host} ${tildify(e.file, home)}${e.scope === "user" ? "" : ` (${e.scope})`}`);
  const lines = [`# from: ${[...new Set(from)].join("; ")}`];
  const disabled = s.sources.filter((e) => e.disabled).map((e) => e.host);
  if (disabled.length) lines.push(`# disabled in: ${disabled.join(", ")}`);
  return lines;
}

export function serverTable(s: PlannedServer, home: string): string {
  const lines = [...provenance(s, home), `[servers.${tomlKey(s.name)}]`];
  lines.push(`socket = ${tomlValue(s.socket)}`, `cmd = ${tomlValue(s.cmd)}`, `args = ${tomlValue(s.args)}`);
  if (s.cwd !== undefined) lines.push(`cwd = ${tomlValue(s.cwd)}`);
  if (Object.keys(s.env).length) lines.push(`env = ${tomlValue(s.env)}`);
  // Disabled in every host that lists it: keep it available without starting a process nobody asked for.
  if (s.sources.every((e) => e.disabled)) lines.push("lazy_start = true");
  lines.push(...SHARE_COMMENT, 'share = "auto"');
  return `${lines.join("\n")}\n`;
}

export function renderManifest(servers: readonly PlannedServer[], file: string, home: string, by: string): string {
  const head = [
    `# rmcp-mux config written by \`${by}\`.`,
    `# Start it with: rmcp-mux --config ${tildify(file, home)}`,
    "# env values were copied from your MCP host configs: keep this file private (it is written with mode 0600).",
    "",
  ].join("\n");
  return `${head}\n${servers.map((s) => serverTable(s, home)).join("\n")}`;
}

/** The existing text plus tables for `added`, separated by one blank line. */
export function appendServers(text: string, added: readonly PlannedServer[], home: string): string {
  if (added.length === 0) return text;
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}\n${added.map((s) => serverTable(s, home)).join("\n")}`;
}
