/** Markdown tables, target lines and the hand-written SVG chart. */
import type { CellResult } from "./cell.ts";
import type { MemoryResult } from "./memory.ts";
import { sessionPssTable, type SessionPssResult } from "./session-pss.ts";
import type { NpxPssResult } from "./npx-pss.ts";
import { PATHS } from "./paths.ts";
import type { StartupResult } from "./startup.ts";

export interface Target {
  name: string;
  figure: string;
  limit: string;
  /** true pass, false fail, null not measured */
  pass: boolean | null;
  note?: string;
}

export interface Meta {
  date: string;
  mode: string;
  command: string;
  machine: { cpu: string; cores: number; memoryGb: number; kernel: string; loadStart: number[]; loadEnd?: number[] };
  versions: Record<string, string>;
  binaries: string;
  binariesNote?: string;
  schedule: { warmupMs: number; durationMs: number; clients: number[]; backends: string[] };
  peers: Array<{ name: string; version?: string; skip?: string }>;
  elapsedS?: number;
}

const f = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
const fs = (x: number | undefined) => {
  if (x === undefined || !Number.isFinite(x)) return "–";
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
};
const mb = (x: number | undefined) => (x === undefined || x === 0 ? "–" : x.toFixed(0));

export function cellTable(cells: CellResult[]): string {
  const head =
    "| Path | Backend | Clients | In flight | p50 ms | p99 ms | req/s | Misroutes | Missing / errors | CPU s/10k all | CPU s/10k mux | Mux RSS MB | Backends RSS MB | Proxies RSS MB | Load |\n" +
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|";
  const rows = cells.map((c) => {
    const inflight = c.clients * c.depth;
    if (c.skipped) return `| ${c.label} | ${c.backend} | ${c.clients} | ${inflight} | skipped: ${c.skipped.replace(/\|/g, "/").slice(0, 140)} |||||||||||`;
    const hasMux = (c.processes?.mux ?? 0) > 0;
    return [
      c.label,
      c.backend,
      c.clients,
      inflight,
      fs(c.p50Ms),
      fs(c.p99Ms),
      f(c.rps, 0),
      c.misroutes,
      `${c.missing} / ${c.errors}`,
      fs(c.cpuPer10k?.total),
      hasMux ? fs(c.cpuPer10k?.mux) : "–",
      hasMux ? mb(c.peakRssMb?.mux) : "–",
      `${mb(c.peakRssMb?.backend)} (${c.processes?.backend ?? 0})`,
      (c.processes?.proxy ?? 0) > 0 ? `${mb(c.peakRssMb?.proxy)} (${c.processes?.proxy})` : "–",
      c.load1 === undefined ? "–" : c.load1.toFixed(1),
    ]
      .map(String)
      .join(" | ")
      .replace(/^/, "| ")
      .concat(" |");
  });
  return `${head}\n${rows.join("\n")}`;
}

export function targetTable(targets: Target[]): string {
  const cell = (s: string) => s.replace(/\|/g, "/");
  const rows = targets.map(
    (t) => `| ${t.pass === null ? "n/a" : t.pass ? "PASS" : "FAIL"} | ${cell(t.name)} | ${cell(t.figure)} | ${t.limit} | ${cell(t.note ?? "")} |`,
  );
  return "| Result | Target | Measured | Limit | Note |\n|---|---|---|---|---|\n" + rows.join("\n");
}

export function targetLines(targets: Target[]): string {
  return targets
    .map((t) => `${t.pass === null ? "N/A " : t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.figure} (limit ${t.limit})${t.note ? ` — ${t.note}` : ""}`)
    .join("\n");
}

export function markdown(
  meta: Meta,
  cells: CellResult[],
  targets: Target[],
  memory: MemoryResult | null,
  startup: StartupResult | null,
  svgName: string | null,
  npx: NpxPssResult | null = null,
  sessions: SessionPssResult | null = null,
): string {
  const m = meta.machine;
  const out: string[] = [];
  out.push(`# rmcp-mux benchmark (${meta.mode})`);
  out.push("");
  out.push(`- Date: ${meta.date}${meta.elapsedS ? ` (took ${Math.round(meta.elapsedS)} s)` : ""}`);
  out.push(`- Command: \`${meta.command}\``);
  out.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb.toFixed(1)} GB RAM, Linux ${m.kernel}; load average at start ${m.loadStart.map((x) => x.toFixed(2)).join(" ")}${m.loadEnd ? `, at end ${m.loadEnd.map((x) => x.toFixed(2)).join(" ")}` : ""}`);
  out.push(`- Versions: ${Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  out.push(`- rmcp-mux binaries: ${meta.binaries}${meta.binariesNote ? ` (${meta.binariesNote})` : ""}`);
  out.push(`- Schedule: ${meta.schedule.warmupMs} ms warm-up + ${meta.schedule.durationMs} ms measured per cell; clients ${meta.schedule.clients.join(", ")}; backends ${meta.schedule.backends.join(", ")}`);
  const skippedPeers = meta.peers.filter((p) => p.skip);
  if (skippedPeers.length) out.push(`- Peers not measured: ${skippedPeers.map((p) => `${p.name} (${p.skip})`).join("; ")}`);
  out.push("");
  if (svgName) out.push(`![latency and throughput against client count](${svgName})`, "");
  out.push("## Targets", "", targetTable(targets), "");
  out.push("## Paths × client count", "");
  out.push(
    "p50/p99: latency of requests sent inside the measured window. req/s: correct answers per second. Misroutes: answers carrying another request's result plus answers delivered to a client that had no such request open (must be 0). Missing: no answer within 10 s or connection lost. CPU s/10k: CPU seconds per 10,000 requests of every process on the path (mux or gateway, backends, proxies; not the load generator), and of the mux/gateway process alone. RSS: peak (VmHWM) of the mux/gateway process, and summed over backend processes (count in brackets) and rmcp-mux-proxy processes. Load: the machine's 1-minute load average when the cell started (other work running on it).",
    "",
  );
  out.push(cellTable(cells), "");
  out.push("Paths:", "");
  for (const p of PATHS) if (cells.some((c) => c.path === p.id)) out.push(`- **${p.label}** (\`${p.id}\`): ${p.describe}`);
  out.push("");
  if (memory) {
    out.push("## Daemon memory (5 servers, 100 connected clients)", "");
    out.push(
      `${memory.clients} clients (${memory.clients / memory.servers} per server, all initialized), ${memory.depth} requests in flight each, ${memory.requests.toLocaleString("en-US")} requests in ${memory.seconds} s (${memory.rps} req/s); ` +
        `misroutes ${memory.misroutes}, missing ${memory.missing}, errors ${memory.errors}. Daemon: ${memory.idleRssMb} MB RSS idle with all clients connected, peak VmHWM ${memory.peakHwmMb} MB, ` +
        `RSS ${memory.earlyRssMb} MB at 10–20 % of the run and ${memory.lateRssMb} MB over the last 10 % (×${memory.growth}); ${memory.daemonCpuPer10k} CPU s per 10k requests. Binaries: ${memory.binaries}.`,
      "",
    );
  }
  if (startup) {
    const t = (x: { medianMs: number; p90Ms: number; minMs: number; runs: number }) => `median ${x.medianMs} ms, p90 ${x.p90Ms} ms, min ${x.minMs} ms (${x.runs} runs)`;
    out.push(`## Start-up (${startup.binaries})`, "");
    out.push(`- \`rmcp-mux --help\` exec → exit: ${t(startup.helpMs)}`);
    out.push(`- \`rmcp-mux-proxy\` exec → first byte of stdin forwarded to the socket: ${t(startup.proxyFirstByteMs)}`);
    out.push(`- \`rmcp-mux --config\` (${startup.servers} servers) exec → every socket accepts: ${t(startup.socketsListeningMs)}`);
    out.push("");
  }
  if (npx) {
    out.push(`## An npx -y server under the daemon vs run directly (${npx.binaries})`, "");
    out.push(
      `\`npx -y ${npx.pkg}\`, once as an rmcp-mux server and once spawned directly, each after one MCP handshake. PSS from /proc/PID/smaps_rollup after \`sync\`, summed over each process tree, both read at the same moment (median ratio of ${npx.samples} samples). The daemon: ${npx.launch}; its own PSS ${npx.daemonPssMb} MB is not counted.`,
      "",
    );
    const rows = (side: string, t: NpxPssResult["direct"]) => t.procs.map((p) => `| ${side} | \`${p.command.replace(/\|/g, "\\|")}\` | ${p.pssMb} |`);
    out.push("| Launch | Process | PSS (MB) |", "|---|---|---|", ...rows("under the daemon", npx.underDaemon), ...rows("npx -y directly", npx.direct));
    out.push(`| **total** | under the daemon ${npx.underDaemon.pssMb} MB vs directly ${npx.direct.pssMb} MB | **${npx.ratio.toFixed(2)}×** |`, "");
  }
  if (sessions) {
    out.push(`## Memory of N host sessions (${sessions.binaries})`, "");
    out.push(
      `${sessions.backend}; each session does an MCP handshake and one \`tools/call\`. Direct: one server process per session. Via proxy: one rmcp-mux-proxy per session, one daemon, one backend. Over HTTP: one daemon, one backend, no process per session. PSS from /proc/PID/smaps_rollup after \`sync\`, every process on the path, median of ${sessions.samples} samples; ratios to direct in brackets.`,
      "",
      sessionPssTable(sessions),
      "",
    );
  }
  const problems = cells.filter((c) => c.problems && c.problems.length > 0);
  if (problems.length) {
    out.push("## First problems seen per cell", "");
    for (const c of problems) out.push(`- ${c.label} / ${c.backend} / ${c.clients}: ${c.problems![0]!.replace(/\n/g, " ")}`);
    out.push("");
  }
  return out.join("\n");
}

// ---- SVG ----------------------------------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  "stdio-direct": "#444444",
  "mux-proxy": "#d62728",
  "mux-raw": "#ff7f0e",
  "mux-raw-pipelined": "#9467bd",
  "stdio-pipelined": "#8c564b",
  "supergateway-sse": "#1f77b4",
  "supergateway-http": "#17becf",
  "mcp-proxy": "#2ca02c",
  "mcp-hub": "#bcbd22",
};
const DASHED = new Set(["stdio-direct", "stdio-pipelined"]);

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function niceLogTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  // 1-2-5 ticks while they fit; only powers of ten over a wide range
  const mantissas = Math.log10(hi / lo) > 4 ? [1] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mantissas) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

function fmtTick(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1000) return `${v / 1000}k`;
  if (v >= 1) return String(v);
  return String(Number(v.toPrecision(2)));
}

/**
 * Panels: one row per backend, columns p50 latency and throughput; x = client count (log2 spacing), y = log10.
 * One line per path; skipped cells leave a gap.
 */
export function svgChart(meta: Meta, cells: CellResult[]): string {
  const backends = [...new Set(cells.map((c) => c.backend))];
  const clientsAll = [...new Set(cells.map((c) => c.clients))].sort((a, b) => a - b);
  const paths = PATHS.filter((p) => cells.some((c) => c.path === p.id && !c.skipped));
  const panelW = 420;
  const panelH = 250;
  const ml = 64;
  const mr = 20;
  const mt = 40;
  const mb_ = 46;
  const cols = 2;
  const legendRows = Math.ceil(paths.length / 3);
  const width = cols * (ml + panelW + mr) + 20;
  const top = 56;
  const height = top + backends.length * (mt + panelH + mb_) + 24 + legendRows * 20 + 10;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  o.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">rmcp-mux benchmark: latency and throughput against client count</text>`);
  o.push(
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(`${meta.date.slice(0, 16).replace("T", " ")} · ${meta.machine.cpu}, ${meta.machine.cores} cores · ${meta.mode} run · log scales`)}</text>`,
  );
  const xPos = (c: number, x0: number) => {
    if (clientsAll.length === 1) return x0 + panelW / 2;
    const lo = Math.log2(clientsAll[0]!);
    const hi = Math.log2(clientsAll[clientsAll.length - 1]!);
    return x0 + 20 + ((Math.log2(c) - lo) / (hi - lo || 1)) * (panelW - 40);
  };
  backends.forEach((b, row) => {
    const y0 = top + row * (mt + panelH + mb_) + mt;
    for (const [col, metric] of (["p50Ms", "rps"] as const).entries()) {
      const x0 = 10 + col * (ml + panelW + mr) + ml;
      const vals = cells.filter((c) => c.backend === b && !c.skipped && Number.isFinite(c[metric]!) && c[metric]! > 0).map((c) => c[metric]!);
      const title = `${b}: ${metric === "p50Ms" ? "p50 latency (ms, lower is better)" : "throughput (correct answers/s, higher is better)"}`;
      o.push(`<text x="${x0 + panelW / 2}" y="${y0 - 10}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
      o.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
      if (vals.length === 0) continue;
      const lo = 10 ** Math.floor(Math.log10(Math.min(...vals)));
      const hi = 10 ** Math.ceil(Math.log10(Math.max(...vals)));
      const yPos = (v: number) => y0 + panelH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * panelH;
      for (const t of niceLogTicks(lo, hi)) {
        const y = yPos(t);
        o.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x0 + panelW}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
        o.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#333">${fmtTick(t)}</text>`);
      }
      for (const c of clientsAll) {
        const x = xPos(c, x0);
        o.push(`<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y0 + panelH}" stroke="#f3f3f3"/>`);
        o.push(`<text x="${x.toFixed(1)}" y="${y0 + panelH + 16}" text-anchor="middle" fill="#333">${c}</text>`);
      }
      o.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 34}" text-anchor="middle" fill="#555">concurrent clients</text>`);
      for (const p of paths) {
        const pts = clientsAll.map((n) => {
          const c = cells.find((x) => x.backend === b && x.path === p.id && x.clients === n);
          const v = c && !c.skipped ? c[metric] : undefined;
          return v !== undefined && Number.isFinite(v) && v > 0 ? ([xPos(n, x0), yPos(v)] as const) : null;
        });
        const color = COLORS[p.id] ?? "#000";
        const dash = DASHED.has(p.id) ? ` stroke-dasharray="6 4"` : "";
        let seg: string[] = [];
        const flush = () => {
          if (seg.length > 1) o.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${seg.join(" ")}"/>`);
          seg = [];
        };
        for (const pt of pts) {
          if (!pt) {
            flush();
            continue;
          }
          seg.push(`${pt[0].toFixed(1)},${pt[1].toFixed(1)}`);
          o.push(`<circle cx="${pt[0].toFixed(1)}" cy="${pt[1].toFixed(1)}" r="3" fill="${color}"/>`);
        }
        flush();
      }
    }
  });
  const ly = top + backends.length * (mt + panelH + mb_) + 10;
  paths.forEach((p, i) => {
    const x = 30 + (i % 3) * ((width - 40) / 3);
    const y = ly + Math.floor(i / 3) * 20;
    const color = COLORS[p.id] ?? "#000";
    const dash = DASHED.has(p.id) ? ` stroke-dasharray="6 4"` : "";
    o.push(`<line x1="${x}" y1="${y}" x2="${x + 26}" y2="${y}" stroke="${color}" stroke-width="2"${dash}/>`);
    const misrouting = cells.some((c) => c.path === p.id && (c.misroutes ?? 0) > 0);
    const label = `${p.label}${p.depth > 1 ? " (pipelined)" : ""}${misrouting ? " — misroutes!" : ""}`;
    o.push(`<text x="${x + 32}" y="${y + 4}"${misrouting ? ' fill="#b00"' : ""}>${esc(label)}</text>`);
  });
  o.push("</svg>");
  return o.join("\n");
}
