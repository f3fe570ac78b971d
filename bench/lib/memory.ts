/**
 * Daemon memory: 5 servers, 100 connected clients (20 per server, all initialized), a bounded number of requests
 * through all of them; the daemon's VmRSS is read as the run progresses and its VmHWM at the end.
 */
import { handshake, runPipelined, socketLink, type Link } from "../pipelined.ts";
import { BACKENDS } from "./backends.ts";
import { CLK_TCK, readMem, readStat, rememberTree } from "./proc.ts";
import { startDaemon, type MuxBinaries } from "./servers.ts";
import { median } from "./stats.ts";

export interface MemoryResult {
  binaries: string;
  servers: number;
  clients: number;
  depth: number;
  requests: number;
  answered: number;
  misroutes: number;
  missing: number;
  errors: number;
  seconds: number;
  rps: number;
  /** daemon VmRSS (MB) with every client connected and initialized, before the load */
  idleRssMb: number;
  /** daemon VmHWM (MB) at the end: the peak over the whole run */
  peakHwmMb: number;
  /** median daemon VmRSS (MB) over 10–20 % of the requests, and over the last 10 % */
  earlyRssMb: number;
  lateRssMb: number;
  /** late / early */
  growth: number;
  /** (progress fraction, VmRSS MB) */
  series: Array<[number, number]>;
  daemonCpuPer10k: number;
  problems: string[];
}

export async function measureMemory(bins: MuxBinaries, requests: number, log: (s: string) => void): Promise<MemoryResult> {
  const servers = 5;
  const clients = 100;
  const depth = 2;
  const specs = Array.from({ length: servers }, (_, i) => ({ name: `s${i + 1}`, backend: BACKENDS.fixture }));
  const d = await startDaemon(bins, specs, { maxActive: 128 });
  rememberTree();
  const links: Link[] = [];
  try {
    const names = Object.keys(d.sockets);
    for (let i = 0; i < clients; i++) {
      const l = await socketLink(d.sockets[names[i % servers]!]!);
      links.push(l);
      await handshake(l);
    }
    rememberTree();
    const mb = () => (readMem(d.pid)?.rssKb ?? Number.NaN) / 1024;
    const idle = mb();
    const series: Array<[number, number]> = [[0, idle]];
    const step = Math.max(1000, Math.floor(requests / 100));
    const cpu0 = readStat(d.pid)?.ticks ?? 0;
    const t0 = performance.now();
    let lastLog = t0;
    const r = await runPipelined({
      links,
      lanesPerLink: 1,
      depth,
      backend: BACKENDS.fixture,
      windowStart: t0,
      windowEnd: Number.POSITIVE_INFINITY,
      maxRequests: requests,
      // generous (the machine may be busy) but bounded: 1,000 requests/s at the very least
      hardStopAt: t0 + Math.max(120_000, requests),
      drainMs: 15_000,
      progressEvery: step,
      onProgress: (answered) => {
        series.push([answered / requests, mb()]);
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          log(`    ${answered}/${requests} requests, daemon RSS ${mb().toFixed(1)} MB`);
        }
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpuS = ((readStat(d.pid)?.ticks ?? 0) - cpu0) / CLK_TCK;
    series.push([1, mb()]);
    const hwm = (readMem(d.pid)?.hwmKb ?? Number.NaN) / 1024;
    const band = (lo: number, hi: number) => median(series.filter(([f]) => f >= lo && f <= hi).map(([, m]) => m));
    const early = band(0.1, 0.2);
    const late = band(0.9, 1);
    const answered = r.counts.ok + r.counts.misrouted + r.counts.errors;
    const rnd = (x: number, n = 1) => Number(x.toFixed(n));
    return {
      binaries: bins.kind,
      servers,
      clients,
      depth,
      requests,
      answered,
      misroutes: r.counts.misrouted + r.counts.stray,
      missing: r.counts.missing,
      errors: r.counts.errors,
      seconds: rnd(seconds, 2),
      rps: rnd(answered / seconds, 0),
      idleRssMb: rnd(idle),
      peakHwmMb: rnd(hwm),
      earlyRssMb: rnd(early),
      lateRssMb: rnd(late),
      growth: rnd(late / early, 3),
      series: series.map(([f, m]) => [rnd(f, 3), rnd(m)] as [number, number]),
      daemonCpuPer10k: rnd((cpuS / Math.max(1, answered)) * 10_000, 4),
      problems: r.problems,
    };
  } finally {
    await Promise.all(links.map((l) => l.close()));
    await d.stop();
  }
}
