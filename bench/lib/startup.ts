/**
 * Start-up costs of the compiled binaries: `rmcp-mux --help` to exit, rmcp-mux-proxy exec to its first byte
 * forwarded to a socket, and the daemon's exec to every socket accepting connections.
 */
import path from "node:path";
import { BACKENDS } from "./backends.ts";
import { drainLines, stopProcess } from "./proc.ts";
import { canConnectUnix, tempDir, writeMuxConfig, type MuxBinaries } from "./servers.ts";
import { median, percentile } from "./stats.ts";

export interface Timing {
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

function timing(xs: number[]): Timing {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Number(x.toFixed(2));
  return {
    runs: xs.length,
    medianMs: r(median(xs)),
    p90Ms: r(percentile(s, 0.9)),
    minMs: r(s[0] ?? Number.NaN),
    maxMs: r(s[s.length - 1] ?? Number.NaN),
    samplesMs: xs.map(r),
  };
}

export interface StartupResult {
  binaries: string;
  helpMs: Timing;
  proxyFirstByteMs: Timing;
  socketsListeningMs: Timing;
  /** servers in the config used for socketsListeningMs */
  servers: number;
}

/** `rmcp-mux --help`: exec to exit (output read and discarded). */
async function helpOnce(bins: MuxBinaries): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn([...bins.cli, "--help"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
  await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).arrayBuffer(), p.exited]);
  const dt = performance.now() - t0;
  clearTimeout(timer);
  if (p.exitCode !== 0) throw new Error(`rmcp-mux --help exited ${p.exitCode ?? p.signalCode}`);
  return dt;
}

/**
 * rmcp-mux-proxy: exec, with an initialize line already waiting on its stdin, until the first byte of it reaches
 * a socket we listen on (a stand-in daemon, so daemon speed is not part of the figure).
 */
async function proxyFirstByteOnce(bins: MuxBinaries, sock: string, arrivals: { next: (() => void) | null }): Promise<number> {
  const got = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      arrivals.next = null;
      reject(new Error("rmcp-mux-proxy forwarded nothing within 5 s"));
    }, 5000);
    arrivals.next = () => {
      clearTimeout(timer);
      resolve(performance.now());
    };
  });
  const t0 = performance.now();
  const p = Bun.spawn([...bins.proxy, "--socket", sock, "--drain-ms", "0"], { stdin: "pipe", stdout: "ignore", stderr: "pipe" });
  p.stdin.write('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}\n');
  void p.stdin.flush();
  const tail: string[] = [];
  void drainLines(p.stderr, tail);
  try {
    const t1 = await got;
    return t1 - t0;
  } catch (e) {
    throw new Error(`${(e as Error).message}; stderr: ${tail.join(" | ")}`);
  } finally {
    try {
      p.stdin.end();
    } catch {
      // gone
    }
    await stopProcess(p, "SIGTERM", 2000);
  }
}

/** The daemon with `servers` fixture servers: exec until every socket accepts a connection. */
async function socketsOnce(bins: MuxBinaries, servers: number): Promise<number> {
  const dir = tempDir();
  const specs = Array.from({ length: servers }, (_, i) => ({ name: `s${i + 1}`, backend: BACKENDS.fixture }));
  const { configPath, sockets } = writeMuxConfig(dir, specs, 8);
  const pending = new Set(Object.values(sockets));
  const t0 = performance.now();
  const p = Bun.spawn([...bins.cli, "--config", configPath], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const tail: string[] = [];
  void drainLines(p.stdout, tail);
  void drainLines(p.stderr, tail);
  try {
    const deadline = t0 + 10_000;
    while (pending.size > 0) {
      for (const s of [...pending]) if (await canConnectUnix(s)) pending.delete(s);
      if (pending.size === 0) break;
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`rmcp-mux exited early: ${tail.join(" | ")}`);
      if (performance.now() > deadline) throw new Error(`sockets not listening within 10 s: ${tail.join(" | ")}`);
      await Bun.sleep(1); // polling: listening has no event another process can wait on
    }
    return performance.now() - t0;
  } finally {
    await stopProcess(p, "SIGTERM", 5000);
  }
}

export async function measureStartup(bins: MuxBinaries, runs: { help: number; proxy: number; sockets: number }, servers = 5): Promise<StartupResult> {
  // one unmeasured run of each first: page cache, not start-up, is what a first exec after a build measures
  await helpOnce(bins);
  const help: number[] = [];
  for (let i = 0; i < runs.help; i++) help.push(await helpOnce(bins));

  const dir = tempDir();
  const sock = path.join(dir, "fb.sock");
  const arrivals: { next: (() => void) | null } = { next: null };
  const listener = Bun.listen({
    unix: sock,
    socket: {
      data: () => {
        const f = arrivals.next;
        arrivals.next = null;
        f?.();
      },
      error() {},
    },
  });
  const proxy: number[] = [];
  try {
    await proxyFirstByteOnce(bins, sock, arrivals);
    for (let i = 0; i < runs.proxy; i++) proxy.push(await proxyFirstByteOnce(bins, sock, arrivals));
  } finally {
    listener.stop(true);
  }

  await socketsOnce(bins, servers);
  const socks: number[] = [];
  for (let i = 0; i < runs.sockets; i++) socks.push(await socketsOnce(bins, servers));
  return {
    binaries: bins.kind,
    helpMs: timing(help),
    proxyFirstByteMs: timing(proxy),
    socketsListeningMs: timing(socks),
    servers,
  };
}
