/**
 * What an `npx -y` server costs in memory under the daemon, against the same `npx -y` launch run directly (what a
 * host does without a multiplexer): @modelcontextprotocol/server-memory both ways, each after one MCP handshake,
 * PSS (/proc/PID/smaps_rollup, after `sync`) summed over each process tree, both trees read at the same moment.
 * PSS splits pages shared between the two trees (node itself, the package's files), so neither side gets them free.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { handshake, socketLink, stdioLink, type Link } from "../pipelined.ts";
import { descendants, rememberTree } from "./proc.ts";
import { startDaemon, tempDir, type MuxBinaries } from "./servers.ts";
import { median } from "./stats.ts";

export const NPX_PACKAGE = "@modelcontextprotocol/server-memory";

export interface TreePss {
  /** PSS in MB, summed over `procs` */
  pssMb: number;
  procs: Array<{ pid: number; command: string; pssMb: number }>;
}

export interface NpxPssResult {
  pkg: string;
  binaries: string;
  /** the server's tree below the daemon (the daemon itself not counted) */
  underDaemon: TreePss;
  /** `npx -y PKG` run directly: npm exec, sh, the server */
  direct: TreePss;
  /** the daemon's own PSS, for reference */
  daemonPssMb: number;
  /** underDaemon / direct, median over the samples */
  ratio: number;
  samples: number;
  /** the daemon's status line on how it launched the server */
  launch: string;
}

const round = (x: number, n = 1) => Number(x.toFixed(n));

function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function command(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "?";
  }
}

function treePss(pids: number[]): TreePss {
  const procs = pids.map((pid) => ({ pid, command: command(pid), pssMb: round(pssKb(pid) / 1024) }));
  return { pssMb: round(procs.reduce((a, p) => a + p.pssMb, 0)), procs };
}

async function run(argv: string[], timeoutMs: number): Promise<void> {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const err = new Response(p.stderr).text();
  const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const code = await p.exited;
  clearTimeout(t);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (${code ?? p.signalCode}): ${(await err).trim().split("\n").at(-1)}`);
}

async function daemonStatusOf(bins: MuxBinaries, configPath: string): Promise<{ pid: number | null; launch?: string; state: string }> {
  const p = Bun.spawn([...bins.cli, "--show-status", "--json", "--config", configPath], { stdout: "pipe", stderr: "ignore" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const st = JSON.parse(out) as { servers: Array<{ pid: number | null; launch?: string; state: string }> };
  return st.servers[0] ?? { pid: null, state: "missing" };
}

export async function measureNpxPss(bins: MuxBinaries, log: (s: string) => void, samples = 5): Promise<NpxPssResult> {
  // The first `npx -y` on a machine installs the package; both launches below must find it cached.
  await run(["npx", "--yes", `--package=${NPX_PACKAGE}`, "--", "node", "-e", "0"], 180_000);
  const dir = tempDir("rmb-npx-");
  const env = { MEMORY_FILE_PATH: path.join(dir, "memory.jsonl") };
  const d = await startDaemon(bins, [{ name: "mem", backend: { cmd: "npx", args: ["-y", NPX_PACKAGE] } }], { env });
  const links: Link[] = [];
  try {
    const mux = await socketLink(d.sockets.mem!);
    links.push(mux);
    const direct = stdioLink(["npx", "-y", NPX_PACKAGE], { ...process.env, ...env });
    links.push(direct);
    // A handshake each: both servers have loaded what answering takes before they are measured.
    await Promise.all([handshake(mux, 60_000, "bench-npx"), handshake(direct, 60_000, "bench-npx")]);
    rememberTree();
    const st = await daemonStatusOf(bins, d.configPath);
    if (st.state !== "running" || st.pid === null) throw new Error(`the daemon's server is ${st.state}`);
    log(`  daemon: ${st.launch ?? "(no launch note)"}`);
    let under: TreePss | null = null;
    let straight: TreePss | null = null;
    const ratios: number[] = [];
    for (let i = 0; i < samples; i++) {
      Bun.spawnSync(["sync"]);
      // Read back to back: the same moment, so shared pages are split the same way for both.
      under = treePss(descendants(d.pid));
      straight = treePss([direct.pid, ...descendants(direct.pid)]);
      ratios.push(under.pssMb / straight.pssMb);
      await Bun.sleep(200); // spacing between samples, not synchronisation
    }
    return {
      pkg: NPX_PACKAGE,
      binaries: bins.kind,
      underDaemon: under!,
      direct: straight!,
      daemonPssMb: round(pssKb(d.pid) / 1024),
      ratio: round(median(ratios), 3),
      samples,
      launch: st.launch ?? "",
    };
  } finally {
    await Promise.all(links.map((l) => l.close()));
    await d.stop();
  }
}
