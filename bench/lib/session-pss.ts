/**
 * What N host sessions of one server cost in memory, three ways: direct (each session spawns the server, as hosts
 * do without a multiplexer), through rmcp-mux-proxy (a proxy process per session, one daemon, one backend), and
 * over the daemon's HTTP front (no process per session at all). Each session does an MCP handshake and one
 * `tools/call`; then PSS (/proc/PID/smaps_rollup, after `sync`) of every process on the path, summed by role,
 * median of a few samples. PSS, not RSS: RSS counts the shared executable once per process.
 */
import { readFileSync } from "node:fs";
import { handshake, stdioLink, type Link } from "../pipelined.ts";
import type { BackendSpec } from "./backends.ts";
import { descendants } from "./proc.ts";
import { startDaemon, type MuxBinaries } from "./servers.ts";
import { median } from "./stats.ts";

export type SessionPath = "direct" | "proxy" | "http";

export interface SessionPssRow {
  path: SessionPath;
  sessions: number;
  /** PSS in MB by role, and the total. */
  daemonMb: number;
  backendMb: number;
  proxiesMb: number;
  totalMb: number;
  processes: number;
}

export interface SessionPssResult {
  backend: string;
  binaries: string;
  samples: number;
  rows: SessionPssRow[];
}

const round = (x: number) => Number(x.toFixed(1));

function pssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      kb += m ? Number(m[1]) : 0;
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

/** One tools/call on a handshaken stdio link, answered. */
function call(link: Link, backend: BackendSpec, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no tools/call answer within ${timeoutMs} ms`)), timeoutMs);
    link.onLine = (line) => {
      if (!line.includes('"bench-call"')) return;
      clearTimeout(timer);
      link.onLine = () => {};
      resolve();
    };
    const params = { name: backend.tool, arguments: { [backend.argKey]: "hello" } };
    link.write(`${JSON.stringify({ jsonrpc: "2.0", id: "bench-call", method: "tools/call", params })}\n`);
  });
}

/** Samples of the three role sums, read `samples` times after `sync`; the medians. */
async function sample(roles: { daemon: () => number[]; backend: () => number[]; proxies: () => number[] }, samples: number) {
  const d: number[] = [];
  const b: number[] = [];
  const p: number[] = [];
  let processes = 0;
  for (let i = 0; i < samples; i++) {
    Bun.spawnSync(["sync"]);
    const [dp, bp, pp] = [roles.daemon(), roles.backend(), roles.proxies()];
    processes = dp.length + bp.length + pp.length;
    d.push(pssMb(dp));
    b.push(pssMb(bp));
    p.push(pssMb(pp));
    await Bun.sleep(150); // spacing between samples, not synchronisation
  }
  return { daemonMb: round(median(d)), backendMb: round(median(b)), proxiesMb: round(median(p)), processes };
}

async function direct(backend: BackendSpec, n: number, samples: number): Promise<SessionPssRow> {
  const links: Array<Link & { pid: number }> = [];
  try {
    for (let i = 0; i < n; i++) links.push(stdioLink([backend.cmd, ...backend.args]));
    await Promise.all(links.map(async (l) => {
      await handshake(l, 60_000, "bench-sessions");
      await call(l, backend);
    }));
    const backends = () => links.flatMap((l) => [l.pid, ...descendants(l.pid)]);
    const s = await sample({ daemon: () => [], backend: backends, proxies: () => [] }, samples);
    return { path: "direct", sessions: n, ...s, totalMb: round(s.daemonMb + s.backendMb + s.proxiesMb) };
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
}

async function viaProxy(bins: MuxBinaries, backend: BackendSpec, n: number, samples: number): Promise<SessionPssRow> {
  const d = await startDaemon(bins, [{ name: backend.name, backend }], { maxActive: 512 });
  const links: Array<Link & { pid: number }> = [];
  try {
    for (let i = 0; i < n; i++) links.push(stdioLink([...bins.proxy, "--socket", d.sockets[backend.name]!]));
    for (const l of links) {
      await handshake(l, 60_000, "bench-sessions");
      await call(l, backend);
    }
    const proxies = new Set(links.flatMap((l) => [l.pid, ...descendants(l.pid)]));
    const s = await sample(
      { daemon: () => [d.pid], backend: () => descendants(d.pid).filter((p) => !proxies.has(p)), proxies: () => [...proxies] },
      samples,
    );
    return { path: "proxy", sessions: n, ...s, totalMb: round(s.daemonMb + s.backendMb + s.proxiesMb) };
  } finally {
    await Promise.all(links.map((l) => l.close()));
    await d.stop();
  }
}

async function viaHttp(bins: MuxBinaries, backend: BackendSpec, n: number, samples: number): Promise<SessionPssRow> {
  const d = await startDaemon(bins, [{ name: backend.name, backend }], { maxActive: 512, http: true });
  const { base, token } = d.http!;
  const url = `${base}/mcp/${backend.name}`;
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  const post = async (body: unknown, sid?: string) => {
    const r = await fetch(url, { method: "POST", headers: sid ? { ...headers, "Mcp-Session-Id": sid } : headers, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${await r.text()}`);
    await r.text();
    return r.headers.get("mcp-session-id") ?? "";
  };
  try {
    const sids: string[] = [];
    for (let i = 0; i < n; i++) {
      const sid = await post({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench-sessions", version: "0.0.1" } },
      });
      await post({ jsonrpc: "2.0", method: "notifications/initialized" }, sid);
      await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: backend.tool, arguments: { [backend.argKey]: "hello" } } }, sid);
      sids.push(sid);
    }
    const s = await sample({ daemon: () => [d.pid], backend: () => descendants(d.pid), proxies: () => [] }, samples);
    return { path: "http", sessions: n, ...s, totalMb: round(s.daemonMb + s.backendMb + s.proxiesMb) };
  } finally {
    await d.stop();
  }
}

export async function measureSessionPss(
  bins: MuxBinaries,
  backend: BackendSpec,
  log: (s: string) => void,
  counts: number[] = [1, 8, 32],
  samples = 3,
): Promise<SessionPssResult> {
  const rows: SessionPssRow[] = [];
  for (const n of counts) {
    for (const run of [() => direct(backend, n, samples), () => viaProxy(bins, backend, n, samples), () => viaHttp(bins, backend, n, samples)]) {
      const r = await run();
      rows.push(r);
      log(`  ${r.path.padEnd(6)} ×${String(n).padStart(2)}: ${r.totalMb} MB (daemon ${r.daemonMb}, backends ${r.backendMb}, proxies ${r.proxiesMb}; ${r.processes} processes)`);
    }
  }
  return { backend: backend.describe, binaries: bins.kind, samples, rows };
}

/** The Markdown table: one row per session count, the three paths side by side, ratios to direct. */
export function sessionPssTable(r: SessionPssResult): string {
  const counts = [...new Set(r.rows.map((x) => x.sessions))];
  const at = (p: SessionPath, n: number) => r.rows.find((x) => x.path === p && x.sessions === n);
  const cell = (x: SessionPssRow | undefined, base: SessionPssRow | undefined) =>
    x === undefined ? "–" : `${x.totalMb}${base && x !== base ? ` (${(x.totalMb / base.totalMb).toFixed(2)}×)` : ""}`;
  const parts = (x: SessionPssRow | undefined) => (x === undefined ? "–" : `${x.daemonMb} + ${x.backendMb} + ${x.proxiesMb}`);
  const lines = [
    "| Host sessions | direct MB | via proxy MB | over HTTP MB | proxy: daemon + backend + proxies | HTTP: daemon + backend |",
    "|--:|--:|--:|--:|--:|--:|",
  ];
  for (const n of counts) {
    const d = at("direct", n);
    const h = at("http", n);
    lines.push(`| ${n} | ${cell(d, d)} | ${cell(at("proxy", n), d)} | ${cell(h, d)} | ${parts(at("proxy", n))} | ${h ? `${h.daemonMb} + ${h.backendMb}` : "–"} |`);
  }
  return lines.join("\n");
}
