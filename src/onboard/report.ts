/**
 * What scan shows, as data (--json) and as text. Env and header values never appear: only env key names. URLs of
 * remote servers are left out too, since tokens often ride in their query strings. Pure.
 */
import { tildify } from "../hosts/context.ts";
import { relativeNote } from "../hosts/relative-paths.ts";
import type { HostEntry, HostFileResult } from "../hosts/types.ts";
import type { PlannedServer } from "./merge.ts";

/** A command line as a person would type it (quoted only where needed). */
export function shellLine(cmd: string, args: readonly string[]): string {
  const q = (s: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
  return [cmd, ...args].map(q).join(" ");
}

function entryJson(e: HostEntry, serverOf: Map<HostEntry, string>) {
  const base = { name: e.name, scope: e.scope, kind: e.kind, disabled: e.disabled };
  if (e.kind === "remote" || e.kind === "invalid") return base;
  return {
    ...base,
    command: e.command,
    args: e.args,
    envKeys: Object.keys(e.env),
    ...(e.cwd !== undefined ? { cwd: e.cwd } : {}),
    ...(e.unresolved !== undefined ? { unresolved: e.unresolved } : {}),
    ...(serverOf.has(e) ? { server: serverOf.get(e) } : {}),
  };
}

export function scanJson(results: readonly HostFileResult[], planned: readonly PlannedServer[], manifest?: string) {
  const serverOf = new Map(planned.flatMap((s) => s.sources.map((e) => [e, s.name] as const)));
  return {
    files: results.map((r) => ({
      host: r.host.id,
      label: r.host.label,
      path: r.spec.path,
      scope: r.spec.scope,
      format: r.host.format,
      ...(r.error ? { error: r.error } : {}),
      servers: r.entries.map((e) => entryJson(e, serverOf)),
    })),
    servers: planned.map((s) => ({
      name: s.name,
      command: s.cmd,
      args: s.args,
      ...(s.cwd !== undefined ? { cwd: s.cwd } : {}),
      envKeys: Object.keys(s.env),
      socket: s.socket,
      inManifest: s.existing,
      hosts: s.sources.map((e) => ({ host: e.host, name: e.name, file: e.file, scope: e.scope })),
    })),
    ...(manifest ? { manifest } : {}),
  };
}

const KIND_NOTE: Record<string, string> = {
  remote: "remote (URL) server, left as is",
  proxy: "already goes through rmcp-mux",
  templated: "depends on the host (${…} variables), left as is",
  invalid: "not a server object, left as is",
};

export function scanText(results: readonly HostFileResult[], planned: readonly PlannedServer[], home: string): string {
  const out: string[] = [];
  if (results.length === 0) out.push(`No MCP host config found under ${home}.`);
  else out.push(`Host configs found (${results.length}):`);
  for (const r of results) {
    out.push(`  ${r.host.label} [${r.host.id}]  ${tildify(r.spec.path, home)}${r.spec.scope === "user" ? "" : ` (${r.spec.scope})`}`);
    if (r.error) out.push(`    error: ${r.error}`);
    else if (r.entries.length === 0) out.push("    (no servers)");
    for (const e of r.entries) {
      const where = e.scope === r.spec.scope ? "" : `[${e.scope}] `;
      const what =
        e.kind === "stdio"
          ? `${shellLine(e.command!, e.args)}${envNote(Object.keys(e.env))}`
          : e.kind === "relative"
            ? relativeNote(e.unresolved)
            : (KIND_NOTE[e.kind] ?? e.kind);
      out.push(`    ${where}${e.name}: ${what}${e.disabled ? " (disabled)" : ""}`);
    }
  }
  out.push("", `stdio servers for rmcp-mux (${planned.length}, the same command, args, cwd and env merged):`);
  if (planned.length === 0) out.push("  (none)");
  for (const s of planned) {
    const hosts = [...new Set(s.sources.map((e) => e.host))].join(", ");
    out.push(`  ${s.name}: ${shellLine(s.cmd, s.args)}${envNote(Object.keys(s.env))}`);
    out.push(`      from ${hosts}; socket ${tildify(s.socket, home)}${s.existing ? " (already in the manifest)" : ""}`);
  }
  return `${out.join("\n")}\n`;
}

function envNote(keys: string[]): string {
  return keys.length ? `  [env: ${keys.join(", ")}]` : "";
}
