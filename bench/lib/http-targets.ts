/** The targets of the HTTP front: its latency against the raw socket, its throughput against the HTTP peers, memory per session. */
import type { BackendName } from "./backends.ts";
import type { CellResult } from "./cell.ts";
import type { PathId } from "./paths.ts";
import type { Target } from "./report.ts";
import type { PeerInfo, PeerName } from "./servers.ts";
import type { SessionPssResult } from "./session-pss.ts";

function find(cells: CellResult[], p: PathId, b: BackendName, n: number): CellResult | undefined {
  const c = cells.find((x) => x.path === p && x.backend === b && x.clients === n);
  return c && !c.skipped ? c : undefined;
}

const x2 = (x: number) => `${x.toFixed(2)}×`;

export function httpTargets(cells: CellResult[], sessions: SessionPssResult | null, sessionsSkip: string | null, peers: Map<PeerName, PeerInfo>): Target[] {
  const t: Target[] = [];
  for (const b of ["fixture", "everything"] as BackendName[]) {
    const name = `1 client p50 over HTTP vs the raw socket (${b})`;
    const http = find(cells, "mux-http", b, 1);
    const raw = find(cells, "mux-raw", b, 1);
    if (http && raw) {
      const r = http.p50Ms! / raw.p50Ms!;
      t.push({ name, figure: `${http.p50Ms!.toFixed(3)} ms vs ${raw.p50Ms!.toFixed(3)} ms = ${x2(r)}`, limit: "≤ 1.5×", pass: r <= 1.5 });
    } else t.push({ name, figure: "not measured", limit: "≤ 1.5×", pass: null });
  }
  for (const [peer, path] of [["mcp-proxy", "mcp-proxy"], ["supergateway", "supergateway-http"]] as const) {
    const name = `8 clients, server-everything echo: rmcp-mux HTTP throughput vs ${path}, rmcp-mux misroutes 0`;
    const mux = find(cells, "mux-http", "everything", 8);
    const other = find(cells, path, "everything", 8);
    if (mux && other) {
      const r = other.rps! > 0 ? mux.rps! / other.rps! : Number.POSITIVE_INFINITY;
      t.push({
        name,
        figure: `${mux.rps!.toFixed(0)} vs ${other.rps!.toFixed(0)} correct answers/s = ${Number.isFinite(r) ? x2(r) : "∞"}; misroutes ${mux.misroutes} / ${other.misroutes}`,
        limit: "≥ 3× and 0 misroutes",
        pass: r >= 3 && mux.misroutes === 0,
      });
    } else t.push({ name, figure: "not measured", limit: "≥ 3× and 0 misroutes", pass: null, note: mux ? peers.get(peer)?.skip : "rmcp-mux HTTP cell missing" });
  }
  const row = (p: string, n: number) => sessions?.rows.find((r) => r.path === p && r.sessions === n);
  for (const [p, limit] of [["http", 0.4], ["proxy", 0.5]] as const) {
    const name = `PSS of 8 host sessions of server-everything ${p === "http" ? "over HTTP" : "via rmcp-mux-proxy"} vs 8 direct servers`;
    const mine = row(p, 8);
    const direct = row("direct", 8);
    if (mine && direct) {
      const r = mine.totalMb / direct.totalMb;
      t.push({ name, figure: `${mine.totalMb} MB vs ${direct.totalMb} MB = ${x2(r)}`, limit: `≤ ${limit}×`, pass: r <= limit });
    } else t.push({ name, figure: "not measured", limit: `≤ ${limit}×`, pass: null, note: sessionsSkip ?? undefined });
  }
  return t;
}
