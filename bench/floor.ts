#!/usr/bin/env bun
/**
 * The floor of the stack: what Bun on this machine costs with no routing at all, measured in the same run as
 * rmcp-mux, for the issue-7 targets that rmcp-mux misses (1-client latency, pipelined throughput, CPU per request,
 * peak RSS). If a program that routes nothing already misses a target, no router in this stack can meet it, and
 * the distance between that program and rmcp-mux is what routing costs.
 *
 *   bun bench/floor.ts [--quick] [--out bench/results/floor.md]
 *
 * The programs, written to a temp dir and compiled with `bun build --compile` (rmcp-mux is compiled too: dist/
 * from `bun run build`, else a temp build), all serving test/fixtures/fixture-server.ts (answers at once):
 *
 *   relay    Bun.listen + Bun.spawn per server, bytes copied both ways (one client per server: it cannot route)
 *   framed   relay + what the routing rules cannot skip: lines framed both ways (our LineDecoder and Outbox) and
 *            every client line parsed once with JSON.parse; also run without the parse ("lines only"), the floor
 *            of any router that handles lines as strings (rmcp-mux validates plain requests without JSON.parse)
 *   bridge   stdin → Unix socket → stdout, the I/O of rmcp-mux-proxy without its framing
 *   http     Bun.serve in front of one backend: each POST body written to its stdin, the answer with the same id
 *            sent back as the JSON response (no session table, no auth, no routing): the floor of an HTTP front
 *   sdk-http the same relay through the official SDK's web-standard Streamable HTTP server transport (one
 *            session, JSON answers): what rmcp-mux's front would cost had it used that transport
 *
 * The 1-client latency is also measured over HTTP with a client that is only `fetch` (bench/lib/http-link.ts),
 * against rmcp-mux's HTTP front and the http floor, so the front's cost and HTTP's own are told apart from the
 * SDK client's that bench/run.ts measures.
 *
 * Everything runs on Unix sockets and pipes in a temp dir; nothing is installed.
 */
import type { Subprocess } from "bun";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { handshake, runPipelined, socketLink, stdioLink, type Link } from "./pipelined.ts";
import { httpLink } from "./lib/http-link.ts";
import { BACKENDS, BUN, FIXTURE, REPO } from "./lib/backends.ts";
import { CLK_TCK, descendants, readMem, readStat, stopProcess } from "./lib/proc.ts";
import { canConnectUnix, compiledBinaries, removeTempDirs, startDaemon, tempDir } from "./lib/servers.ts";
import { median, percentile } from "./lib/stats.ts";

const quick = process.argv.includes("--quick");
const outIdx = process.argv.indexOf("--out");
const outFile = outIdx > 0 ? process.argv[outIdx + 1] : undefined;
const ROUNDS = quick ? 1 : 3;
const LAT_MS = quick ? 1500 : 4000;
const PIPE_MS = quick ? 2000 : 5000;
const MEM_REQUESTS = quick ? 30_000 : 100_000;
const backend = BACKENDS.fixture;
const dir = tempDir("rmf-");
const lines: string[] = [];
const say = (s = "") => {
  console.log(s);
  lines.push(s);
};

// ---- the floor programs ---------------------------------------------------------------------------------------

/** A generated program's loop over its child's stdout lines (`p`), running `onLine` with each as `line`. */
const childLines = (onLine: string) => `const dec = new TextDecoder();
let buf = "";
void (async () => {
  for await (const c of p.stdout) {
    buf += dec.decode(c, { stream: true });
    for (let i = buf.indexOf("\\n"); i >= 0; i = buf.indexOf("\\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      ${onLine}
    }
  }
})();`;

const SOURCES: Record<string, string> = {
  relay: `const [n, dir, ...cmd] = process.argv.slice(2);
for (let i = 1; i <= Number(n); i++) {
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  let client = null;
  void (async () => { for await (const c of p.stdout) client?.write(c); })();
  Bun.listen({ unix: dir + "/relay" + i + ".sock", socket: { open(s) { client = s; }, data(_s, d) { p.stdin.write(d); } } });
}`,
  framed: `import { LineDecoder } from ${JSON.stringify(path.join(REPO, "src/wire/framing.ts"))};
import { Outbox } from ${JSON.stringify(path.join(REPO, "src/wire/outbox.ts"))};
const [n, dir, parse, ...cmd] = process.argv.slice(2);
const check = parse === "1" ? (l) => JSON.parse(l) : () => {};
for (let i = 1; i <= Number(n); i++) {
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  let out = null;
  let batch = [];
  const flush = () => { const t = batch.join("\\n") + "\\n"; batch = []; p.stdin.write(t); };
  const fromChild = new LineDecoder(1 << 26, { onLine: (l) => out?.push(l), onOversize() {} });
  const fromClient = new LineDecoder(1 << 26, { onLine(l) { check(l); if (batch.push(l) === 1) queueMicrotask(flush); }, onOversize() {} });
  void (async () => { for await (const c of p.stdout) fromChild.push(c); })();
  Bun.listen({ unix: dir + "/framed" + i + ".sock", socket: { open(s) { out = new Outbox(s, 1 << 26, () => s.end()); }, drain() { out?.drain(); }, data(_s, d) { fromClient.push(d); } } });
}`,
  bridge: `const w = Bun.stdout.writer();
const s = await Bun.connect({ unix: process.argv[2], socket: { data(_s, d) { w.write(d); w.flush(); } } });
for await (const c of Bun.stdin.stream()) s.write(c);
s.end();`,
  http: `const p = Bun.spawn(process.argv.slice(2), { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
const waiting = new Map();
const idOf = (t) => /"id":("(?:[^"\\\\]|\\\\.)*"|-?\\d+)/.exec(t)?.[1];
${childLines(`const id = idOf(line);
      const done = id === undefined ? undefined : waiting.get(id);
      if (done) { waiting.delete(id); done(new Response(line, { headers: { "Content-Type": "application/json", "Mcp-Session-Id": "floor" } })); }`)}
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, async fetch(req) {
  const body = await req.text();
  p.stdin.write(body + "\\n");
  p.stdin.flush();
  const id = idOf(body);
  return id === undefined ? new Response(null, { status: 202 }) : new Promise((r) => waiting.set(id, r));
} });
console.log(server.port);`,
  "sdk-http": `import { WebStandardStreamableHTTPServerTransport } from ${JSON.stringify(path.join(REPO, "node_modules/@modelcontextprotocol/sdk/dist/esm/server/webStandardStreamableHttp.js"))};
const p = Bun.spawn(process.argv.slice(2), { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
// One transport per session (the SDK's holds one); the bench opens one session at a time.
let t = null;
const session = async () => {
  t = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => crypto.randomUUID(), enableJsonResponse: true });
  t.onmessage = (m) => { p.stdin.write(JSON.stringify(m) + "\\n"); p.stdin.flush(); };
  await t.start();
};
${childLines(`const m = JSON.parse(line);
      void t?.send(m, "id" in m ? { relatedRequestId: m.id } : undefined);`)}
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, async fetch(req) {
  if (req.method === "POST" && !req.headers.has("mcp-session-id")) await session();
  return t.handleRequest(req);
} });
console.log(server.port);`,
};

async function compile(name: string): Promise<string> {
  const src = path.join(dir, `${name}.ts`);
  const out = path.join(dir, name);
  writeFileSync(src, SOURCES[name] as string);
  const p = Bun.spawn([BUN, "build", "--compile", "--minify", src, "--outfile", out], { stdout: "pipe", stderr: "pipe" });
  const [o, e] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if ((await p.exited) !== 0) throw new Error(`building ${name} failed:\n${o}${e}`);
  return out;
}

async function listening(proc: Subprocess, sockets: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const s of sockets) {
    while (!(await canConnectUnix(s))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${s} is not listening`);
      await Bun.sleep(10); // polling: a socket starting to listen has no event to wait on
    }
  }
}

/** Start a floor program (stderr kept for errors), resolve once its sockets listen. */
async function start(argv: string[], sockets: string[]): Promise<Subprocess> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  await listening(proc, sockets);
  return proc;
}

/** Start the http floor program; resolves with it and the port it printed. */
async function startHttp(argv: string[]): Promise<{ proc: Subprocess; port: number }> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the http floor exited before it listened: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { proc, port: Number(out.trim()) };
}

/** The fixture processes under `root` (the daemon also has a short-lived config check child). */
function backendsOf(root: number): number[] {
  return descendants(root).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("fixture-server");
    } catch {
      return false;
    }
  });
}

const ticks = (pids: number[]) => pids.reduce((a, p) => a + (readStat(p)?.ticks ?? 0), 0);

interface Load {
  rps: number;
  p50us: number;
  answered: number;
}

async function load(link: Link, depth: number, ms: number): Promise<Load> {
  const t0 = performance.now();
  const r = await runPipelined({ links: [link], lanesPerLink: 1, depth, backend, windowStart: t0 + 300, windowEnd: t0 + 300 + ms });
  const bad = r.counts.misrouted + r.counts.stray + r.counts.missing + r.counts.errors;
  if (bad > 0) throw new Error(`answers went wrong: ${JSON.stringify(r.counts)} ${r.problems.join("; ")}`);
  return {
    rps: (r.completedInWindow / r.windowMs) * 1000,
    p50us: percentile(r.latencies.sorted(), 0.5) * 1000,
    answered: r.counts.ok + r.counts.errors,
  };
}

const opened = async <L extends Link>(link: L | Promise<L>): Promise<L> => {
  const l = await link;
  await handshake(l);
  return l;
};

// ---- run ----------------------------------------------------------------------------------------------------

const bins = await compiledBinaries((s) => console.log(s));
const [relayBin, framedBin, bridgeBin, httpBin, sdkHttpBin] = (await Promise.all(
  ["relay", "framed", "bridge", "http", "sdk-http"].map((n) => compile(n)),
)) as [string, string, string, string, string];
const fixtureCmd = [backend.cmd, ...backend.args];
const relaySock = path.join(dir, "relay1.sock");
const framedSock = path.join(dir, "framed1.sock");
const linesDir = tempDir("rmf-l-");
const linesSock = path.join(linesDir, "framed1.sock");

say(`# The floor of the stack, next to rmcp-mux`);
say();
say(`- Date: ${new Date().toISOString()}; command: \`bun bench/floor.ts${quick ? " --quick" : ""}\``);
say(`- Machine: ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; bun ${Bun.version}; rmcp-mux ${bins.kind}`);
say(`- Backend: ${FIXTURE.replace(`${REPO}/`, "")} (answers at once). Floor programs: see the header of bench/floor.ts.`);

const relay = await start([relayBin, "1", dir, ...fixtureCmd], [relaySock]);
const framed = await start([framedBin, "1", dir, "1", ...fixtureCmd], [framedSock]);
const linesOnly = await start([framedBin, "1", linesDir, "0", ...fixtureCmd], [linesSock]);
const httpFloor = await startHttp([httpBin, ...fixtureCmd]);
const sdkHttp = await startHttp([sdkHttpBin, ...fixtureCmd]);
const daemon = await startDaemon(bins, [{ name: "fx", backend }], { maxActive: 64, http: true });
const muxSock = daemon.sockets.fx as string;
const muxHttp = daemon.http as { base: string; token: string };

try {
  // 1. one request in flight
  const paths: Array<[string, () => Promise<Link>]> = [
    ["direct stdio", () => opened(stdioLink(fixtureCmd))],
    ["floor: relay", () => opened(socketLink(relaySock))],
    ["floor: bridge → relay", () => opened(stdioLink([bridgeBin, relaySock]))],
    ["rmcp-mux raw socket", () => opened(socketLink(muxSock))],
    ["rmcp-mux-proxy → rmcp-mux", () => opened(stdioLink([...bins.proxy, "--socket", muxSock]))],
    ["floor: http (Bun.serve), fetch client", () => opened(httpLink(`http://127.0.0.1:${httpFloor.port}/mcp/fx`))],
    ["rmcp-mux HTTP, fetch client", () => opened(httpLink(`${muxHttp.base}/mcp/fx`, { Authorization: `Bearer ${muxHttp.token}` }))],
    ["SDK server transport relay, fetch client", () => opened(httpLink(`http://127.0.0.1:${sdkHttp.port}/mcp/fx`))],
  ];
  const p50 = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, open] of paths) {
      const link = await open();
      const res = await load(link, 1, LAT_MS);
      await link.close();
      p50.set(name, [...(p50.get(name) ?? []), res.p50us]);
    }
  }
  const lat = (name: string) => median(p50.get(name) ?? []);
  const direct = lat("direct stdio");
  say();
  say(`## One client, one request in flight (p50 µs, median of ${ROUNDS} round${ROUNDS > 1 ? "s" : ""})`);
  say();
  say(`| Path | p50 µs | × direct |`);
  say(`|---|--:|--:|`);
  for (const [name] of paths) say(`| ${name} | ${lat(name).toFixed(1)} | ${(lat(name) / direct).toFixed(2)} |`);
  const raw = lat("rmcp-mux raw socket");
  say();
  say(
    `Over HTTP with a fetch-only client: rmcp-mux ${(lat("rmcp-mux HTTP, fetch client") / raw).toFixed(2)}× its raw socket, ` +
      `the http floor ${(lat("floor: http (Bun.serve), fetch client") / raw).toFixed(2)}×; ` +
      `rmcp-mux's front is ${(lat("rmcp-mux HTTP, fetch client") / lat("floor: http (Bun.serve), fetch client")).toFixed(2)}× the floor, ` +
      `a relay through the SDK's server transport ${(lat("SDK server transport relay, fetch client") / lat("floor: http (Bun.serve), fetch client")).toFixed(2)}×.`,
  );

  // 2. pipelined 1 × 32: throughput and CPU per request
  const pipePaths: Array<[string, () => Promise<Link>, () => number[], () => number[]]> = [
    ["direct stdio", async () => opened(stdioLink(fixtureCmd)), () => [], () => []],
    ["floor: relay", () => opened(socketLink(relaySock)), () => [relay.pid], () => backendsOf(relay.pid)],
    ["floor: framed, lines only", () => opened(socketLink(linesSock)), () => [linesOnly.pid], () => backendsOf(linesOnly.pid)],
    ["floor: framed (frame + JSON.parse)", () => opened(socketLink(framedSock)), () => [framed.pid], () => backendsOf(framed.pid)],
    ["rmcp-mux raw socket", () => opened(socketLink(muxSock)), () => [daemon.pid], () => backendsOf(daemon.pid)],
  ];
  say();
  say(`## One client, 32 in flight: throughput and CPU per request (from /proc)`);
  say();
  say(`| Path | req/s | × direct | middle µs/req | backend µs/req | middle ÷ backend |`);
  say(`|---|--:|--:|--:|--:|--:|`);
  let directRps = 0;
  for (const [name, open, middle, backs] of pipePaths) {
    const link = await open();
    const mids = middle();
    const bk = name === "direct stdio" ? [(link as Link & { pid: number }).pid] : backs();
    const m0 = ticks(mids);
    const b0 = ticks(bk);
    const res = await load(link, 32, PIPE_MS);
    const mUs = ((ticks(mids) - m0) / CLK_TCK / res.answered) * 1e6;
    const bUs = ((ticks(bk) - b0) / CLK_TCK / res.answered) * 1e6;
    await link.close();
    if (name === "direct stdio") directRps = res.rps;
    const mid = mids.length > 0;
    say(`| ${name} | ${res.rps.toFixed(0)} | ${(res.rps / directRps).toFixed(2)} | ${mid ? mUs.toFixed(2) : "–"} | ${bUs.toFixed(2)} | ${mid ? (mUs / bUs).toFixed(2) : "–"} |`);
  }
} finally {
  await stopProcess(relay);
  await stopProcess(framed);
  await stopProcess(linesOnly);
  await stopProcess(httpFloor.proc);
  await stopProcess(sdkHttp.proc);
  await daemon.stop();
}

// 3. memory: 5 servers, one client each, 40 in flight, the same requests through the relay and through rmcp-mux
async function memory(name: string, argv: string[] | null, prefix = "relay"): Promise<string> {
  let proc: Subprocess | null = null;
  let daemonStop: (() => Promise<void>) | null = null;
  let pid: number;
  let sockets: string[];
  if (argv !== null) {
    sockets = [1, 2, 3, 4, 5].map((i) => path.join(argv[2] as string, `${prefix}${i}.sock`));
    proc = await start(argv, sockets);
    pid = proc.pid;
  } else {
    const d = await startDaemon(bins, [1, 2, 3, 4, 5].map((i) => ({ name: `s${i}`, backend })), { maxActive: 64 });
    pid = d.pid;
    sockets = Object.values(d.sockets);
    daemonStop = d.stop;
  }
  try {
    const links = await Promise.all(sockets.map((s) => opened(socketLink(s))));
    const idle = (readMem(pid)?.rssKb ?? 0) / 1024;
    const t0 = performance.now();
    const r = await runPipelined({ links, lanesPerLink: 1, depth: 40, backend, windowStart: t0, windowEnd: Number.POSITIVE_INFINITY, maxRequests: MEM_REQUESTS, hardStopAt: t0 + 120_000 });
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN) / 1024;
    await Promise.all(links.map((l) => l.close()));
    if (r.counts.ok < MEM_REQUESTS) throw new Error(`${name}: only ${r.counts.ok} of ${MEM_REQUESTS} answered`);
    return `| ${name} | ${idle.toFixed(1)} | ${kb("VmHWM").toFixed(1)} | ${kb("RssFile").toFixed(1)} | ${kb("RssAnon").toFixed(1)} |`;
  } finally {
    if (proc) await stopProcess(proc);
    if (daemonStop) await daemonStop();
  }
}

say();
say(`## Memory: 5 servers, one client each with 40 in flight, ${MEM_REQUESTS.toLocaleString("en-US")} requests (MB)`);
say();
say(`RSS counts the pages of the executable it has touched (RssFile) as well as its own memory (RssAnon).`);
say();
say(`| Process | RSS idle, clients connected | peak (VmHWM) | at the end: RssFile | RssAnon |`);
say(`|---|--:|--:|--:|--:|`);
say(await memory("floor: relay (compiled)", [relayBin, "5", tempDir("rmf-m-"), ...fixtureCmd]));
say(await memory("floor: framed, lines only (compiled)", [framedBin, "5", tempDir("rmf-m-"), "0", ...fixtureCmd], "framed"));
say(await memory("floor: framed (compiled)", [framedBin, "5", tempDir("rmf-m-"), "1", ...fixtureCmd], "framed"));
say(await memory(`rmcp-mux (${bins.kind})`, null));

removeTempDirs();
if (outFile) {
  writeFileSync(outFile, `${lines.join("\n")}\n`);
  console.log(`\nwrote ${outFile}`);
}
