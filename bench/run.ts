#!/usr/bin/env bun
/**
 * rmcp-mux benchmark (issue 7): `bun run bench` = `bun bench/run.ts [options]`.
 *
 * Measures, in one run: direct stdio, rmcp-mux through rmcp-mux-proxy, rmcp-mux on its raw socket and over its
 * HTTP front, and the peers
 * (supergateway SSE and stateful streamable HTTP, mcp-proxy, mcp-hub — installed at bench time into
 * ~/.cache/rmcp-mux-bench, never dependencies of this repo), against an instant fixture backend and
 * server-everything's echo, with 1/8/64 SDK clients in closed loops and raw clients pipelining 32 requests each.
 * Then daemon memory (5 servers, 100 clients), start-up of the compiled binaries, the PSS of an `npx -y` server
 * (server-memory from npm) under the daemon against the same launch run directly, and the PSS of 1, 8 and 32 host
 * sessions of server-everything direct, through proxies and over the HTTP front. Writes bench/results/<mode>.md,
 * .json and .svg and prints the table and the target lines.
 *
 * Options:
 *   --quick              ~1 minute smoke run: clients 1,8, short windows, server-everything only where a target needs it
 *   --long               the memory run sends 1,000,000 requests (default 100,000)
 *   --only a,b           paths to run (stdio-direct, mux-proxy, mux-raw, mux-http, supergateway-sse, supergateway-http,
 *                        mcp-proxy, mcp-hub, mux-raw-pipelined, stdio-pipelined) and/or memory, startup, npx, sessions;
 *                        "peers" = the four peer paths, "mux" = the rmcp-mux paths
 *   --clients 1,8        client counts (default 1,8,64)
 *   --backends a,b       fixture, everything (default both)
 *   --duration-ms N      measured window per cell (default 4000; quick 1000)
 *   --warmup-ms N        warm-up before each window (default 1000; quick 300)
 *   --requests N         requests in the memory run (overrides --long)
 *   --source             run the daemon and proxy from src/ with bun for the path cells (default: compiled binaries)
 *   --no-install         do not npm-install missing peers (they are skipped)
 *   --max-minutes N      abort (cleaning up) after N minutes (default 40; --long 90; --quick 10)
 *   --out DIR            where results go (default bench/results)
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BACKENDS, BENCH, EVERYTHING, NODE, packageVersion, REPO, type BackendName } from "./lib/backends.ts";
import { runCell, type CellResult, type Schedule } from "./lib/cell.ts";
import { measureMemory, type MemoryResult } from "./lib/memory.ts";
import { measureNpxPss, type NpxPssResult } from "./lib/npx-pss.ts";
import { PATH_IDS, PATHS, type PathId } from "./lib/paths.ts";
import { cleanupEverything, descendants, SELF } from "./lib/proc.ts";
import { markdown, svgChart, targetLines, cellTable, type Meta, type Target } from "./lib/report.ts";
import {
  compiledBinaries,
  ensurePeer,
  PEER_CACHE,
  PEERS,
  removeTempDirs,
  SOURCE_BINARIES,
  type MuxBinaries,
  type PeerInfo,
  type PeerName,
} from "./lib/servers.ts";
import { measureStartup, type StartupResult } from "./lib/startup.ts";
import { measureSessionPss, type SessionPssResult } from "./lib/session-pss.ts";
import { httpTargets } from "./lib/http-targets.ts";

// ---- options ------------------------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  long: boolean;
  only: Set<string> | null;
  clients: number[];
  backends: BackendName[];
  warmupMs: number;
  durationMs: number;
  requests: number;
  source: boolean;
  install: boolean;
  maxMinutes: number;
  out: string;
  custom: boolean;
}

const EXTRA_STEPS = ["memory", "startup", "npx", "sessions"];
const GROUPS: Record<string, string[]> = {
  peers: ["supergateway-sse", "supergateway-http", "mcp-proxy", "mcp-hub"],
  mux: ["mux-proxy", "mux-raw", "mux-http", "mux-raw-pipelined"],
};

function usage(): string {
  const src = readFileSync(import.meta.path, "utf8");
  return src.slice(src.indexOf("/**") + 3, src.indexOf("*/")).replace(/^ \* ?/gm, "").trim();
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    quick: false,
    long: false,
    only: null,
    clients: [1, 8, 64],
    backends: ["fixture", "everything"],
    warmupMs: 1000,
    durationMs: 4000,
    requests: 100_000,
    source: false,
    install: true,
    maxMinutes: 40,
    out: path.join(BENCH, "results"),
    custom: false,
  };
  const set: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "-h" || a === "--help") {
      console.log(usage());
      process.exit(0);
    }
    const flag = a.replace(/^--/, "");
    if (["quick", "long", "source", "no-install"].includes(flag)) {
      set[flag] = "1";
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !["only", "clients", "backends", "duration-ms", "warmup-ms", "requests", "max-minutes", "out"].includes(m[1]!)) {
      console.error(`bench: unknown option ${a}\n\n${usage()}`);
      process.exit(2);
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === "") {
      console.error(`bench: ${a} needs a value`);
      process.exit(2);
    }
    set[m[1]!] = v;
  }
  const num = (k: string, min: number) => {
    const n = Number(set[k]);
    if (!Number.isFinite(n) || n < min) {
      console.error(`bench: --${k} must be a number >= ${min}`);
      process.exit(2);
    }
    return n;
  };
  if (set.quick) {
    o.quick = true;
    o.clients = [1, 8];
    o.warmupMs = 300;
    o.durationMs = 1000;
    o.requests = 20_000;
    o.maxMinutes = 10;
  }
  if (set.long) {
    o.long = true;
    o.requests = 1_000_000;
    o.maxMinutes = 90;
  }
  if (set.source) o.source = true;
  if (set["no-install"]) o.install = false;
  if (set.only) {
    const only = new Set<string>();
    for (const t of set.only.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (GROUPS[t]) GROUPS[t]!.forEach((x) => only.add(x));
      else if ((PATH_IDS as string[]).includes(t) || EXTRA_STEPS.includes(t)) only.add(t);
      else {
        console.error(`bench: --only: unknown path ${t} (known: ${[...PATH_IDS, ...EXTRA_STEPS, ...Object.keys(GROUPS)].join(", ")})`);
        process.exit(2);
      }
    }
    o.only = only;
    o.custom = true;
  }
  if (set.clients) {
    o.clients = set.clients.split(",").map((s) => Number(s.trim()));
    if (o.clients.some((n) => !Number.isInteger(n) || n < 1 || n > 512)) {
      console.error("bench: --clients takes integers from 1 to 512, e.g. 1,8,64");
      process.exit(2);
    }
    o.custom = true;
  }
  if (set.backends) {
    const bs = set.backends.split(",").map((s) => s.trim());
    if (bs.some((b) => !(b in BACKENDS))) {
      console.error("bench: --backends takes fixture and/or everything");
      process.exit(2);
    }
    o.backends = bs as BackendName[];
    o.custom = true;
  }
  if (set["duration-ms"]) {
    o.durationMs = num("duration-ms", 100);
    o.custom = true;
  }
  if (set["warmup-ms"]) o.warmupMs = num("warmup-ms", 0);
  if (set.requests) o.requests = num("requests", 1000);
  if (set["max-minutes"]) o.maxMinutes = num("max-minutes", 1);
  if (set.out) o.out = path.resolve(set.out);
  return o;
}

// ---- environment --------------------------------------------------------------------------------------------

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function run(argv: string[]): string {
  try {
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore", cwd: REPO });
    return r.exitCode === 0 ? r.stdout.toString().trim() : "unknown";
  } catch {
    return "unknown";
  }
}

// ---- cleanup ------------------------------------------------------------------------------------------------

let cleaning: Promise<void> | null = null;
/** set by a signal: the plan stops starting new cells */
let aborted = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await cleanupEverything(2000);
    removeTempDirs();
  })();
  return cleaning;
}

process.on("exit", () => {
  // last resort (synchronous): anything still below us is killed outright
  for (const pid of descendants(SELF)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  removeTempDirs();
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    aborted = true;
    console.error(`\nbench: ${sig}: stopping every process this run started…`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- targets ------------------------------------------------------------------------------------------------

function find(cells: CellResult[], p: PathId, b: BackendName, n: number): CellResult | undefined {
  const c = cells.find((x) => x.path === p && x.backend === b && x.clients === n);
  return c && !c.skipped ? c : undefined;
}

const x2 = (x: number) => `${x.toFixed(2)}×`;

function computeTargets(
  cells: CellResult[],
  memory: MemoryResult | null,
  startup: StartupResult | null,
  startupSkip: string | null,
  peers: Map<PeerName, PeerInfo>,
  npx: NpxPssResult | null,
  npxSkip: string | null,
): Target[] {
  const t: Target[] = [];
  // 1 client p50 via proxy vs direct stdio, per backend
  for (const b of ["fixture", "everything"] as BackendName[]) {
    const via = find(cells, "mux-proxy", b, 1);
    const direct = find(cells, "stdio-direct", b, 1);
    const name = `1 client p50 via rmcp-mux-proxy vs direct stdio (${b})`;
    if (via && direct) {
      const r = via.p50Ms! / direct.p50Ms!;
      t.push({ name, figure: `${via.p50Ms!.toFixed(3)} ms vs ${direct.p50Ms!.toFixed(3)} ms = ${x2(r)}`, limit: "≤ 1.25×", pass: r <= 1.25 });
    } else t.push({ name, figure: "not measured", limit: "≤ 1.25×", pass: null });
  }
  // 8 clients on echo: mux throughput vs supergateway SSE, 0 misroutes
  {
    const name = "8 clients, server-everything echo: rmcp-mux (via proxy) throughput vs supergateway SSE, rmcp-mux misroutes 0";
    const mux = find(cells, "mux-proxy", "everything", 8);
    const sg = find(cells, "supergateway-sse", "everything", 8);
    const sgCell = cells.find((x) => x.path === "supergateway-sse" && x.backend === "everything" && x.clients === 8);
    if (mux && sg) {
      const r = sg.rps! > 0 ? mux.rps! / sg.rps! : Number.POSITIVE_INFINITY;
      t.push({
        name,
        figure: `${mux.rps!.toFixed(0)} vs ${sg.rps!.toFixed(0)} correct answers/s = ${Number.isFinite(r) ? x2(r) : "∞"}; misroutes rmcp-mux ${mux.misroutes}, supergateway ${sg.misroutes}`,
        limit: "≥ 4× and 0 misroutes",
        pass: r >= 4 && mux.misroutes === 0,
      });
    } else {
      const why = !mux ? "rmcp-mux cell missing" : sgCell?.skipped ? `supergateway: ${sgCell.skipped}` : peers.get("supergateway")?.skip ?? "supergateway cell not run";
      t.push({ name, figure: "not measured", limit: "≥ 4× and 0 misroutes", pass: null, note: why });
    }
  }
  // pipelined 8×32 through the daemon vs into one backend's stdin
  {
    const name = "pipelined 8 clients × 32 in flight, fixture: rmcp-mux raw socket vs one backend's stdio";
    const mux = find(cells, "mux-raw-pipelined", "fixture", 8);
    const direct = find(cells, "stdio-pipelined", "fixture", 8);
    if (mux && direct) {
      const r = mux.rps! / direct.rps!;
      t.push({ name, figure: `${mux.rps!.toFixed(0)} vs ${direct.rps!.toFixed(0)} req/s = ${x2(r)}`, limit: "≥ 0.9×", pass: r >= 0.9 });
    } else t.push({ name, figure: "not measured", limit: "≥ 0.9×", pass: null });
  }
  // daemon CPU per routed request vs the backend's own, 64 clients pipelining
  {
    const name = "daemon CPU per routed request vs the fixture backend's CPU per request (64 clients × 32, from /proc)";
    const c = find(cells, "mux-raw-pipelined", "fixture", 64);
    if (c && c.cpuPer10k) {
      const r = c.cpuPer10k.mux / c.cpuPer10k.backend;
      t.push({
        name,
        figure: `${(c.cpuPer10k.mux * 100).toFixed(2)} µs vs ${(c.cpuPer10k.backend * 100).toFixed(2)} µs CPU per request = ${x2(r)}`,
        limit: "≤ 1.0×",
        pass: r <= 1.0,
      });
    } else t.push({ name, figure: "not measured", limit: "≤ 1.0×", pass: null, note: "needs the mux-raw-pipelined / fixture / 64-client cell" });
  }
  // every rmcp-mux cell: 0 misroutes, 0 missing
  {
    const mine = cells.filter((c) => !c.skipped && (c.path.startsWith("mux-") || c.path === "stdio-direct" || c.path === "stdio-pipelined"));
    const bad = mine.filter((c) => c.misroutes! + c.missing! + c.errors! > 0);
    t.push({
      name: "every rmcp-mux (and direct) cell: 0 misroutes, 0 missing, 0 errors",
      figure: mine.length ? (bad.length ? bad.map((c) => `${c.path}/${c.backend}/${c.clients}: ${c.misroutes}/${c.missing}/${c.errors}`).join("; ") : `${mine.length} cells clean`) : "not measured",
      limit: "0",
      pass: mine.length ? bad.length === 0 : null,
    });
  }
  // memory
  if (memory) {
    t.push({
      name: `daemon peak RSS with ${memory.servers} servers and ${memory.clients} connected clients (${memory.binaries})`,
      figure: `${memory.peakHwmMb} MB VmHWM (idle with clients ${memory.idleRssMb} MB)`,
      limit: "≤ 50 MB",
      pass: memory.peakHwmMb <= 50,
    });
    t.push({
      name: `daemon RSS flat over ${memory.requests.toLocaleString("en-US")} requests`,
      figure: `${memory.earlyRssMb} MB → ${memory.lateRssMb} MB (×${memory.growth}); misroutes ${memory.misroutes}, missing ${memory.missing}${memory.answered < memory.requests ? `; only ${memory.answered} answered` : ""}`,
      limit: "within 10%",
      pass: memory.growth <= 1.1 && memory.growth >= 0.9 && memory.misroutes === 0 && memory.missing === 0 && memory.answered >= memory.requests,
      note: memory.requests < 1_000_000 ? "short run; --long sends 1,000,000" : undefined,
    });
  } else {
    t.push({ name: "daemon RSS ≤ 50 MB / flat", figure: "not measured", limit: "≤ 50 MB, within 10%", pass: null });
  }
  // start-up
  if (startup) {
    t.push({ name: `rmcp-mux-proxy exec → first byte forwarded (${startup.binaries}, median)`, figure: `${startup.proxyFirstByteMs.medianMs} ms`, limit: "≤ 20 ms", pass: startup.proxyFirstByteMs.medianMs <= 20 });
    t.push({ name: `rmcp-mux --help (${startup.binaries}, median)`, figure: `${startup.helpMs.medianMs} ms`, limit: "≤ 50 ms", pass: startup.helpMs.medianMs <= 50 });
    t.push({
      name: `daemon exec → all ${startup.servers} sockets listening (${startup.binaries}, median)`,
      figure: `${startup.socketsListeningMs.medianMs} ms`,
      limit: "≤ 200 ms",
      pass: startup.socketsListeningMs.medianMs <= 200,
    });
  } else {
    t.push({ name: "start-up (proxy first byte, --help, sockets listening)", figure: "not measured", limit: "≤ 20 / 50 / 200 ms", pass: null, note: startupSkip ?? undefined });
  }
  // an npx-launched server under the daemon runs without npm's wrapper
  {
    const name = "PSS of an npx -y server (server-memory) under the daemon vs the same npx -y run directly, same moment";
    if (npx) {
      t.push({
        name,
        figure: `${npx.underDaemon.pssMb} MB vs ${npx.direct.pssMb} MB = ${x2(npx.ratio)} (direct: ${npx.direct.procs.length} processes, under the daemon: ${npx.underDaemon.procs.length})`,
        limit: "≤ 0.55×",
        pass: npx.ratio <= 0.55,
      });
    } else t.push({ name, figure: "not measured", limit: "≤ 0.55×", pass: null, note: npxSkip ?? undefined });
  }
  return t;
}

// ---- plan ---------------------------------------------------------------------------------------------------

/**
 * Which cells run, per backend, in order: grouped by client count so that the paths compared with each other run
 * close together in time (the machine's load drifts). --quick: server-everything only on the paths its target
 * compares, plus the one 64-client cell the CPU target needs.
 */
function planCells(opts: Options, pathIds: PathId[]): Array<[BackendName, Array<{ id: PathId; n: number }>]> {
  const quick = opts.quick && !opts.custom;
  const quickEverything = new Set<PathId>(["stdio-direct", "mux-proxy", "supergateway-sse", "mux-http", "mcp-proxy", "supergateway-http"]);
  return opts.backends.map((b) => {
    const plan: Array<{ id: PathId; n: number }> = [];
    for (const n of opts.clients) {
      for (const id of pathIds) {
        if (quick && b === "everything" && (!quickEverything.has(id) || (n === 1 && id === "supergateway-sse"))) continue;
        plan.push({ id, n });
      }
    }
    if (quick && b === "fixture" && pathIds.includes("mux-raw-pipelined") && !opts.clients.includes(64)) {
      plan.push({ id: "mux-raw-pipelined", n: 64 });
    }
    return [b, plan];
  });
}

// ---- main ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = performance.now();
  const opts = parseOptions(process.argv.slice(2));
  const mode = opts.custom ? "custom" : opts.quick ? "quick" : opts.long ? "long" : "default";
  const log = (s: string) => console.log(s);
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${opts.maxMinutes} minutes (--max-minutes): aborting`);
    void cleanup().finally(() => process.exit(3));
  }, opts.maxMinutes * 60_000);
  watchdog.unref();

  const selected = (id: string) => opts.only === null || opts.only.has(id);
  const pathIds = PATHS.map((p) => p.id).filter(selected);
  const peerNames = PEERS.filter((n) => pathIds.some((id) => PATHS.find((p) => p.id === id)?.peer === n));

  const command = `bun bench/run.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}`;
  const loadStart = os.loadavg();
  const gitSha = run(["git", "rev-parse", "--short", "HEAD"]);
  const dirty = run(["git", "status", "--porcelain", "--", "src"]) !== "" ? "+dirty" : "";
  const versions: Record<string, string> = {
    "rmcp-mux": `${packageVersion(REPO)} (${gitSha}${dirty})`,
    bun: Bun.version,
    node: run([NODE, "--version"]).replace(/^v/, ""),
    "@modelcontextprotocol/sdk": packageVersion(path.join(REPO, "node_modules/@modelcontextprotocol/sdk")),
    "server-everything": packageVersion(path.dirname(path.dirname(EVERYTHING))),
  };
  console.log(`rmcp-mux benchmark — ${mode} run`);
  console.log(`command:  ${command}`);
  console.log(`machine:  ${cpuModel()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB RAM, Linux ${os.release()}, load ${loadStart.map((x) => x.toFixed(2)).join(" ")}`);

  const peers = new Map<PeerName, PeerInfo>();
  for (const n of peerNames) {
    const p = await ensurePeer(n, opts.install, log);
    peers.set(n, p);
    if (p.version) versions[n] = p.version;
    if (p.skip) log(`peer ${n}: SKIPPED — ${p.skip}`);
  }
  console.log(`versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  if (peerNames.length) console.log(`peers:    installed under ${PEER_CACHE} (not dependencies of this repo)`);

  // compiled binaries: needed for start-up, and used for the path cells unless --source
  let compiled: MuxBinaries | null = null;
  let compileError: string | null = null;
  if (selected("startup") || selected("memory") || selected("npx") || selected("sessions") || (!opts.source && pathIds.some((id) => id.startsWith("mux-")))) {
    try {
      compiled = await compiledBinaries(log);
    } catch (e) {
      compileError = (e as Error).message.split("\n").slice(0, 4).join(" ");
      log(`compiled binaries unavailable: ${compileError}`);
    }
  }
  const bins = opts.source || !compiled ? SOURCE_BINARIES : compiled;
  const binsLabel = `${bins.kind}: ${bins.cli.join(" ")} / ${bins.proxy.join(" ")}`;
  console.log(`rmcp-mux: ${binsLabel}${bins.note ? ` — ${bins.note}` : ""}`);
  console.log(`schedule: ${opts.warmupMs} ms warm-up + ${opts.durationMs} ms per cell; clients ${opts.clients.join(",")}; backends ${opts.backends.join(",")}`);
  console.log("");

  const sched: Schedule = { warmupMs: opts.warmupMs, durationMs: opts.durationMs };
  const ctx = { bins, peers, timeoutMs: 60_000 };
  const cells: CellResult[] = [];
  for (const [b, plan] of planCells(opts, pathIds)) {
    if (plan.length === 0) continue;
    console.log(`backend ${b}: ${BACKENDS[b].describe}`);
    for (const { id, n } of plan) {
      if (aborted) break;
      const def = PATHS.find((p) => p.id === id)!;
      const peer = def.peer ? peers.get(def.peer) : undefined;
      if (peer?.skip) {
        cells.push({ path: id, label: def.label, backend: b, clients: n, depth: def.depth, skipped: `${peer.name}: ${peer.skip}` });
        continue;
      }
      const load1 = os.loadavg()[0]!;
      const cell = await runCell(def, BACKENDS[b], n, sched, ctx, log);
      cells.push({ ...cell, load1: Number(load1.toFixed(2)) });
    }
  }

  let memory: MemoryResult | null = null;
  if (selected("memory") && !aborted) {
    const mbins = compiled ?? SOURCE_BINARIES;
    console.log(`\ndaemon memory: 5 servers, 100 clients, ${opts.requests.toLocaleString("en-US")} requests (${mbins.kind})`);
    try {
      memory = await measureMemory(mbins, opts.requests, log);
      console.log(`  peak ${memory.peakHwmMb} MB, ${memory.earlyRssMb} → ${memory.lateRssMb} MB RSS, ${memory.rps} req/s, misroutes ${memory.misroutes}, missing ${memory.missing}`);
    } catch (e) {
      console.log(`  FAILED: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  let startup: StartupResult | null = null;
  let startupSkip: string | null = null;
  if (selected("startup") && !aborted) {
    if (!compiled) startupSkip = `no compiled binaries: ${compileError ?? "not built"}`;
    else {
      console.log(`\nstart-up (${compiled.kind})`);
      try {
        startup = await measureStartup(compiled, opts.quick ? { help: 5, proxy: 5, sockets: 3 } : { help: 20, proxy: 20, sockets: 8 });
        console.log(
          `  --help ${startup.helpMs.medianMs} ms, proxy first byte ${startup.proxyFirstByteMs.medianMs} ms, sockets listening ${startup.socketsListeningMs.medianMs} ms (medians)`,
        );
      } catch (e) {
        startupSkip = (e as Error).message.split("\n")[0]!;
        console.log(`  FAILED: ${startupSkip}`);
      }
    }
  }

  let npx: NpxPssResult | null = null;
  let npxSkip: string | null = null;
  if (selected("npx") && !aborted) {
    const nbins = compiled ?? SOURCE_BINARIES;
    console.log(`\nnpx -y server under the daemon vs run directly (PSS, ${nbins.kind})`);
    try {
      npx = await measureNpxPss(nbins, log);
      console.log(`  under the daemon ${npx.underDaemon.pssMb} MB, direct ${npx.direct.pssMb} MB (${x2(npx.ratio)})`);
    } catch (e) {
      npxSkip = (e as Error).message.split("\n")[0]!;
      console.log(`  FAILED: ${npxSkip}`);
    }
  }

  let sessions: SessionPssResult | null = null;
  let sessionsSkip: string | null = null;
  if (selected("sessions") && !aborted) {
    const sbins = compiled ?? SOURCE_BINARIES;
    console.log(`\nmemory of N host sessions, server-everything: direct / via proxy / over HTTP (PSS, ${sbins.kind})`);
    try {
      sessions = await measureSessionPss(sbins, BACKENDS.everything, log, opts.quick ? [1, 8] : [1, 8, 32]);
    } catch (e) {
      sessionsSkip = (e as Error).message.split("\n")[0]!;
      console.log(`  FAILED: ${sessionsSkip}`);
    }
  }

  const targets = [...computeTargets(cells, memory, startup, startupSkip, peers, npx, npxSkip), ...httpTargets(cells, sessions, sessionsSkip, peers)];
  const meta: Meta = {
    date: new Date().toISOString(),
    mode,
    command,
    machine: { cpu: cpuModel(), cores: os.cpus().length, memoryGb: os.totalmem() / 2 ** 30, kernel: os.release(), loadStart, loadEnd: os.loadavg() },
    versions,
    binaries: binsLabel.replace(REPO + "/", ""),
    binariesNote: bins.note,
    schedule: { warmupMs: opts.warmupMs, durationMs: opts.durationMs, clients: opts.clients, backends: opts.backends },
    peers: PEERS.map((n) => ({ name: n, version: peers.get(n)?.version, skip: peers.get(n)?.skip ?? (peerNames.includes(n) ? undefined : "not selected") })),
    elapsedS: (performance.now() - started) / 1000,
  };

  mkdirSync(opts.out, { recursive: true });
  const write = (name: string, text: string) => {
    const file = path.join(opts.out, name);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    return file;
  };
  const haveCells = cells.some((c) => !c.skipped);
  const svgFile = haveCells ? write(`${mode}.svg`, svgChart(meta, cells)) : null;
  const md = markdown(meta, cells, targets, memory, startup, svgFile ? path.basename(svgFile) : null, npx, sessions);
  const mdFile = write(`${mode}.md`, `${md}\n`);
  const jsonFile = write(`${mode}.json`, `${JSON.stringify({ meta, targets, cells, memory, startup, npx, sessions }, null, 2)}\n`);

  console.log("");
  if (cells.length) console.log(cellTable(cells));
  console.log("\ntargets:");
  console.log(targetLines(targets));
  console.log(`\nwrote ${path.relative(REPO, mdFile)}, ${path.relative(REPO, jsonFile)}${svgFile ? `, ${path.relative(REPO, svgFile)}` : ""} in ${Math.round(meta.elapsedS!)} s`);
  clearTimeout(watchdog);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`bench: ${(e as Error).stack ?? e}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
