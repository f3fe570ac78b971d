/** Human-readable renderings of daemon status: pure, so they are tested on fixed input. */
import type { DaemonStatus, ServerStatus } from "../runtime/status.ts";

export function duration(ms: number | null): string {
  if (ms === null) return "-";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

/** Connections, then the busy clients against max_active_clients, then the requests waiting for a slot. */
export function clients(c: ServerStatus["clients"]): string {
  return `${c.connected} (${c.active}/${c.max} active${c.waiting > 0 ? `, ${c.waiting} waiting` : ""})`;
}

export function statusRow(s: ServerStatus): string[] {
  return [
    s.name,
    s.state,
    s.pid === null ? "-" : String(s.pid),
    clients(s.clients),
    String(s.pending),
    String(s.served),
    String(s.restarts),
    duration(s.uptimeMs),
    s.heartbeat.enabled ? (s.heartbeat.latencyMs === null ? "…" : `${s.heartbeat.latencyMs}ms`) : "off",
  ];
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function renderStatus(st: DaemonStatus): string {
  const head = `rmcp-mux ${st.version} (${st.commit}) · pid ${st.pid} · up ${duration(st.uptimeMs)} · ${st.servers.length} server(s)`;
  const body = table(
    ["SERVER", "STATE", "PID", "CLIENTS", "PENDING", "SERVED", "RESTARTS", "UPTIME", "HEARTBEAT"],
    st.servers.map(statusRow),
  );
  const notes = st.servers
    .filter((s) => s.reason !== null || s.lastRestartReason !== null)
    .map((s) => `  ${s.name}: ${s.reason ?? `last restart: ${s.lastRestartReason}`}`);
  const versions = st.servers
    .filter((s) => Object.keys(s.clients.versions ?? {}).length > 0)
    .map((s) => `  ${s.name}: ${Object.entries(s.clients.versions ?? {}).map(([v, n]) => `${v} ×${n}`).join(", ")}`);
  const launches = st.servers
    .filter((s) => s.launch !== undefined)
    .map((s) => `  ${s.name}: ${s.command.join(" ")} (${s.launch})`);
  const sharing = st.servers.flatMap((s) => sharingLines(s));
  return [
    head,
    "",
    body,
    ...(notes.length > 0 ? ["", ...notes] : []),
    ...(versions.length > 0 ? ["", "clients by protocol version:", ...versions] : []),
    ...(launches.length > 0 ? ["", "npx servers:", ...launches] : []),
    ...(sharing.length > 0 ? ["", "sharing:", ...sharing] : []),
  ].join("\n");
}

/** A server's policy and why; its instances when it runs more than the one shared process. */
export function sharingLines(s: ServerStatus): string[] {
  const sh = s.sharing;
  if (sh === undefined) return [];
  const head = `  ${s.name}: ${sh.policy}${sh.share === "auto" ? " (auto)" : ""}: ${sh.reason}`;
  if (sh.policy === "shared" || sh.policy === "session-aware") return [head];
  const rows = sh.instances.map((i) => `    ${i.key}  pid ${i.pid ?? "-"}  ${i.clients} client(s)${i.cwd === null ? "" : `  in ${i.cwd}`}`);
  return [`${head}; ${sh.instances.length}/${sh.maxInstances} instance(s)`, ...rows];
}
