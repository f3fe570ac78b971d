/** One measurement: a path, a backend, a client count — set up, warmed up, measured, torn down. */
import type { BackendSpec } from "./backends.ts";
import { setupPath, type PathDef, type SetupContext } from "./paths.ts";
import { cpuDelta, rememberTree, Sampler, type CpuSnapshot, type RoleCpu } from "./proc.ts";
import { percentile } from "./stats.ts";

export interface CellResult {
  path: string;
  label: string;
  backend: string;
  clients: number;
  depth: number;
  /** why there are no figures (setup failed, peer unavailable) */
  skipped?: string;
  p50Ms?: number;
  p99Ms?: number;
  rps?: number;
  ok?: number;
  /** misrouted + stray: answers that reached the wrong request or the wrong client */
  misroutes?: number;
  misrouted?: number;
  stray?: number;
  missing?: number;
  errors?: number;
  /** answers that came after their request had been given up on (already counted in missing) */
  late?: number;
  /** the slowest answer of the cell, warm-up included */
  maxLatencyMs?: number;
  /** CPU seconds per 10k requests, by role, over the window (client process excluded from `total`) */
  cpuPer10k?: RoleCpu & { client: number };
  /** CPU cores in use during the window, by role */
  cpuCores?: RoleCpu & { client: number };
  /** sum of per-process VmHWM, MB */
  peakRssMb?: { mux: number; backend: number; proxy: number };
  processes?: { mux: number; backend: number; proxy: number };
  windowMs?: number;
  samples?: number;
  /** 1-minute load average when the cell started (other work on the machine) */
  load1?: number;
  problems?: string[];
}

export interface Schedule {
  warmupMs: number;
  durationMs: number;
}

const round = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)) : x);

export async function runCell(
  def: PathDef,
  backend: BackendSpec,
  clients: number,
  sched: Schedule,
  ctx: SetupContext,
  log: (s: string) => void,
): Promise<CellResult> {
  const base = { path: def.id, label: def.label, backend: backend.name, clients, depth: def.depth };
  let setup;
  try {
    setup = await setupPath(def.id, backend, clients, ctx);
  } catch (e) {
    const why = (e as Error).message.split("\n").slice(0, 3).join(" ");
    log(`  ${def.id} ${backend.name} ×${clients}: SKIPPED — ${why}`);
    return { ...base, skipped: why };
  }
  rememberTree();
  const sampler = new Sampler(setup.attribution, 200);
  sampler.start();
  let cpuA: CpuSnapshot | null = null;
  let cpuB: CpuSnapshot | null = null;
  let clientA = process.cpuUsage();
  let clientB = clientA;
  try {
    const t0 = performance.now();
    const windowStart = t0 + sched.warmupMs;
    const windowEnd = windowStart + sched.durationMs;
    const ta = setTimeout(() => {
      cpuA = sampler.cpu();
      clientA = process.cpuUsage();
    }, sched.warmupMs);
    const tb = setTimeout(() => {
      cpuB = sampler.cpu();
      clientB = process.cpuUsage();
    }, sched.warmupMs + sched.durationMs);
    const r = await setup.run(windowStart, windowEnd);
    clearTimeout(ta);
    clearTimeout(tb);
    const death = setup.died();
    if (death) r.problems.unshift(death);
    if (r.counts.ok === 0) {
      r.problems.unshift(
        `no correct answer inside the ${sched.durationMs} ms window (slowest answer of the run: ${r.maxLatencyMs.toFixed(0)} ms)`,
      );
    }
    sampler.stop();
    if (!cpuA) cpuA = sampler.cpu();
    if (!cpuB) {
      cpuB = sampler.cpu();
      clientB = process.cpuUsage();
    }
    const a = cpuA as CpuSnapshot;
    const b = cpuB as CpuSnapshot;
    const snapS = (b.at - a.at) / 1000;
    const cpu = cpuDelta(a, b);
    const clientS = (clientB.user + clientB.system - clientA.user - clientA.system) / 1e6;
    const sorted = r.latencies.sorted();
    // throughput counts correct answers only: a wrong answer delivered fast is not work done
    const rps = r.windowMs > 0 ? (r.counts.ok / r.windowMs) * 1000 : 0;
    // CPU per request from rates (the snapshot timers may fire a little late under load)
    const per10k = (s: number) => (rps > 0 && snapS > 0 ? round(((s / snapS) / rps) * 10_000, 4) : Number.NaN);
    const cores = (s: number) => (snapS > 0 ? round(s / snapS, 3) : Number.NaN);
    const peak = sampler.peakMb();
    const procCount = { mux: 0, backend: 0, proxy: 0 };
    for (const { role } of sampler.peakHwmKb.values()) procCount[role]++;
    const res: CellResult = {
      ...base,
      p50Ms: round(percentile(sorted, 0.5), 4),
      p99Ms: round(percentile(sorted, 0.99), 4),
      rps: round(rps, 1),
      ok: r.counts.ok,
      misroutes: r.counts.misrouted + r.counts.stray,
      misrouted: r.counts.misrouted,
      stray: r.counts.stray,
      missing: r.counts.missing,
      errors: r.counts.errors,
      late: r.counts.late,
      maxLatencyMs: round(r.maxLatencyMs, 1),
      cpuPer10k: {
        mux: per10k(cpu.mux),
        backend: per10k(cpu.backend),
        proxy: per10k(cpu.proxy),
        total: per10k(cpu.total),
        client: per10k(clientS),
      },
      cpuCores: { mux: cores(cpu.mux), backend: cores(cpu.backend), proxy: cores(cpu.proxy), total: cores(cpu.total), client: cores(clientS) },
      peakRssMb: { mux: round(peak.mux, 1), backend: round(peak.backend, 1), proxy: round(peak.proxy, 1) },
      processes: procCount,
      windowMs: round(r.windowMs, 1),
      samples: sorted.length,
      problems: r.problems,
    };
    log(
      `  ${def.id} ${backend.name} ×${clients}: ${res.rps!.toFixed(0)} req/s, p50 ${res.p50Ms!.toFixed(3)} ms, p99 ${res.p99Ms!.toFixed(3)} ms, ` +
        `misroutes ${res.misroutes}, missing ${res.missing}, errors ${res.errors}, CPU ${res.cpuPer10k!.total.toFixed(2)} s/10k` +
        (r.problems.length ? `\n    first problem: ${r.problems[0]}` : ""),
    );
    return res;
  } catch (e) {
    const why = (e as Error).message.split("\n")[0]!;
    log(`  ${def.id} ${backend.name} ×${clients}: FAILED during the load — ${why}`);
    return { ...base, skipped: `failed during the load: ${why}` };
  } finally {
    sampler.stop();
    await setup.teardown().catch((e) => log(`  teardown of ${def.id}: ${(e as Error).message}`));
  }
}
