/**
 * The dashboard's text, laid out for a given width: header, table rows, detail pane, help, status
 * line. Pure, so the tests check exact strings; view.ts only adds colour and puts them on screen.
 */
import { duration } from "../cli/format.ts";
import type { ServerState, ServerStatus } from "../runtime/status.ts";
import { type Model, selectedServer } from "./model.ts";

export const STATE_MARK = "●";

const COLUMNS = ["SERVER", "STATE", "PID", "CLIENTS", "PENDING", "REQ/S", "RESTARTS", "UPTIME", "HEARTBEAT", "LAST RESTART"];
const GAP = "  ";

export interface TableRow {
  name: string;
  state: ServerState;
  selected: boolean;
  /** The whole row, padded to the width. */
  text: string;
  /** Where the state's mark starts in `text` (the coloured part is `● <state>`). */
  stateAt: number;
}

export interface Table {
  header: string;
  rows: TableRow[];
}

/** Cut or pad a line to exactly `width` cells (the dashboard's text is single-width). */
export function fit(line: string, width: number): string {
  const chars = [...line];
  if (chars.length > width) return width <= 1 ? chars.slice(0, width).join("") : `${chars.slice(0, width - 1).join("")}…`;
  return line + " ".repeat(width - chars.length);
}

export function rate(rps: number | null | undefined): string {
  if (rps === null || rps === undefined) return "-";
  return rps >= 100 ? rps.toFixed(0) : rps.toFixed(1);
}

function cells(s: ServerStatus, rps: number | null | undefined): string[] {
  const c = s.clients;
  return [
    s.name,
    `${STATE_MARK} ${s.state}`,
    s.pid === null ? "-" : String(s.pid),
    `${c.connected} (${c.active}/${c.max})${c.waiting > 0 ? ` +${c.waiting}w` : ""}`,
    String(s.pending),
    rate(rps),
    String(s.restarts),
    duration(s.uptimeMs),
    latency(s.heartbeat),
    s.lastRestartReason ?? "-",
  ];
}

export function table(m: Model, width: number): Table {
  const servers = m.status?.servers ?? [];
  const rows = servers.map((s) => cells(s, m.rps[s.name]));
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => fit(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(GAP), width);
  const stateAt = widths[0]! + GAP.length;
  return {
    header: line(COLUMNS),
    rows: servers.map((s, i) => ({ name: s.name, state: s.state, selected: s.name === m.selected, text: line(rows[i]!), stateAt })),
  };
}

export function header(m: Model, width: number): string {
  const st = m.status;
  const daemon = st === null ? "rmcp-mux" : `rmcp-mux ${st.version} · daemon pid ${st.pid} · up ${duration(st.uptimeMs)}`;
  const link =
    m.link.state === "connected"
      ? `${st?.servers.length ?? 0} server(s) · ${m.socket}`
      : m.link.state === "connecting"
        ? `connecting to ${m.socket}…`
        : `DAEMON GONE: ${m.link.detail}`;
  return fit(` ${daemon} · ${link}`, width);
}

/** The detail pane's lines for the selected server, at most `height` of them. */
export function detail(m: Model, width: number, height: number): string[] {
  const s = selectedServer(m);
  if (s === null) return [fit(m.link.state === "lost" ? "no daemon" : "no server selected", width)];
  const l = s.limits;
  const head = [
    `command   ${s.command.map(shellWord).join(" ")}`,
    ...(s.launch === undefined ? [] : [`launch    ${s.launch}`]),
    `socket    ${s.socket}`,
    `limits    max ${l.maxActiveClients} active clients · ${l.maxConnections} connections · requests ≤ ${bytes(l.maxRequestBytes)} · timeout ${l.requestTimeoutMs} ms${l.lazyStart ? " · lazy start" : ""}`,
    `state     ${s.state}${s.reason === null ? "" : ` (${s.reason})`} · served ${s.served} · timeouts ${s.timeouts} · heartbeat failures ${s.heartbeat.failures}`,
    ...(s.sharing === undefined
      ? []
      : [`sharing   ${s.sharing.policy}: ${s.sharing.reason} · ${s.sharing.instances.length}/${s.sharing.maxInstances} instance(s)`]),
    "stderr",
  ];
  const room = Math.max(0, height - head.length);
  const tail = s.stderrTail.length === 0 ? ["  (nothing yet)"] : s.stderrTail.slice(-room).map((x) => `  ${x}`);
  return [...head, ...tail].slice(0, Math.max(1, height)).map((x) => fit(x, width));
}

export const HELP = [
  "j / ↓     select the next server",
  "k / ↑     select the previous server",
  "r         restart the selected server (a new child process)",
  "s         stop the selected server",
  "S         start the selected server",
  "?         show or hide this help",
  "q / Esc   quit (Esc closes this help first)",
  "",
  "The table updates from the daemon's control socket as things change, and at least once a second.",
];

export function statusLine(m: Model, width: number): string {
  const text = m.message?.text ?? (m.link.state === "lost" ? `daemon gone: ${m.link.detail}` : "? help · q quit");
  return fit(` ${text}`, width);
}

export function latency(h: ServerStatus["heartbeat"]): string {
  if (!h.enabled) return "off";
  if (h.latencyMs === null) return "…";
  return h.latencyMs < 10 ? `${h.latencyMs.toFixed(1)}ms` : `${Math.round(h.latencyMs)}ms`;
}

function bytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`;
}
