/**
 * The server side of each path: the rmcp-mux daemon (compiled or from source) and the peer gateways
 * (installed at bench time into a cache folder outside the repo, never a dependency of this project).
 */
import TOML from "@iarna/toml";
import type { Subprocess } from "bun";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BUN, CLI_SRC, LOOPBACK_PRELOAD, NODE, PROXY_SRC, REPO, shellJoin, type BackendSpec } from "./backends.ts";
import { socketAnswers } from "../../src/runtime/socket-path.ts";
import { drainLines, stopProcess } from "./proc.ts";

// ---- temp dirs ----------------------------------------------------------------------------------------------

const tempDirs = new Set<string>();

/** A short temp dir (Unix socket paths must stay under ~100 bytes); removed by removeTempDirs(). */
export function tempDir(prefix = "rmb-"): string {
  const d = mkdtempSync(path.join("/tmp", prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

// ---- rmcp-mux binaries ------------------------------------------------------------------------------------

export interface MuxBinaries {
  /** argv prefix that runs the daemon CLI */
  cli: string[];
  /** argv prefix that runs rmcp-mux-proxy */
  proxy: string[];
  kind: "compiled (dist/)" | "compiled (temp build)" | "source";
  note?: string;
}

export const SOURCE_BINARIES: MuxBinaries = { cli: [BUN, CLI_SRC], proxy: [BUN, PROXY_SRC], kind: "source" };

function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

/**
 * dist/rmcp-mux and dist/rmcp-mux-proxy when both exist (from `bun run build`), else `bun build.ts` into a temp
 * dir: the very build a user installs (one executable, the proxy a link to it, the same flags). Throws when the
 * build fails.
 */
export async function compiledBinaries(log: (s: string) => void): Promise<MuxBinaries> {
  const dist = path.join(REPO, "dist");
  const d1 = path.join(dist, "rmcp-mux");
  const d2 = path.join(dist, "rmcp-mux-proxy");
  // dist/ as build.ts lays it out now (the proxy a link): an older build's two files would measure the old layout.
  if (existsSync(d1) && existsSync(d2) && lstatSync(d2).isSymbolicLink()) {
    const built = Math.min(statSync(d1).mtimeMs, statSync(d2).mtimeMs);
    const stale = newestMtime(path.join(REPO, "src")) > built;
    return {
      cli: [d1],
      proxy: [d2],
      kind: "compiled (dist/)",
      note: stale ? "dist/ is older than src/: run `bun run build` for current figures" : undefined,
    };
  }
  const dir = tempDir("rmb-bin-");
  log(`dist/ has no compiled binaries: bun build.ts --outdir=${dir}…`);
  const t0 = performance.now();
  const argv = [BUN, path.join(REPO, "build.ts"), `--outdir=${dir}`];
  const p = Bun.spawn(argv, { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 240_000);
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  clearTimeout(timer);
  const cli = path.join(dir, "rmcp-mux");
  const proxy = path.join(dir, "rmcp-mux-proxy");
  if (p.exitCode !== 0 || !existsSync(cli) || !existsSync(proxy)) throw new Error(`${shellJoin(argv)} failed:\n${stdout}${stderr}`);
  // A fresh binary's pages count as dirty until written back: PSS read before that would be off.
  Bun.spawnSync(["sync"]);
  log(`  built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { cli: [cli], proxy: [proxy], kind: "compiled (temp build)" };
}

// ---- the daemon ---------------------------------------------------------------------------------------------

export interface MuxServerSpec {
  name: string;
  backend: Pick<BackendSpec, "cmd" | "args">;
}

export interface RunningDaemon {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  configPath: string;
  sockets: Record<string, string>;
  stderrTail: string[];
  /** With `http: true`: the front's base URL and its bearer token. */
  http?: { base: string; token: string };
  stop(): Promise<void>;
}

export function writeMuxConfig(
  dir: string,
  servers: MuxServerSpec[],
  maxActive: number,
  env: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): { configPath: string; sockets: Record<string, string> } {
  const tables: Record<string, unknown> = {};
  const sockets: Record<string, string> = {};
  for (const s of servers) {
    sockets[s.name] = path.join(dir, `${s.name}.sock`);
    tables[s.name] = {
      socket: sockets[s.name],
      cmd: s.backend.cmd,
      args: s.backend.args,
      env,
      max_active_clients: maxActive,
      request_timeout_ms: 30_000,
    };
  }
  const configPath = path.join(dir, "mux.toml");
  writeFileSync(configPath, TOML.stringify({ status_socket: path.join(dir, "daemon.sock"), ...extra, servers: tables } as any));
  return { configPath, sockets };
}

/** True when something accepts a connection on `p` (the daemon's own probe). */
export const canConnectUnix = (p: string): Promise<boolean> => socketAnswers(p);

export async function canConnectTcp(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {}, close() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** Start the daemon and resolve once every socket accepts a connection (bounded). */
export async function startDaemon(
  bins: MuxBinaries,
  servers: MuxServerSpec[],
  opts: { maxActive?: number; timeoutMs?: number; env?: Record<string, string>; http?: boolean } = {},
): Promise<RunningDaemon> {
  const dir = tempDir();
  const tokenFile = path.join(dir, "http-token");
  // port 0: the daemon logs the port it got
  const extra = opts.http ? { http: { listen: "127.0.0.1:0", token_file: tokenFile } } : {};
  const { configPath, sockets } = writeMuxConfig(dir, servers, opts.maxActive ?? 512, opts.env, extra);
  const proc = Bun.spawn([...bins.cli, "--config", configPath], {
    cwd: REPO,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderrTail: string[] = [];
  void drainLines(proc.stdout, stderrTail);
  void drainLines(proc.stderr, stderrTail);
  const daemon: RunningDaemon = {
    proc,
    pid: proc.pid,
    configPath,
    sockets,
    stderrTail,
    stop: () => stopProcess(proc, "SIGTERM", 5000),
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const pending = new Set(Object.values(sockets));
  while (pending.size > 0) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`rmcp-mux exited (${proc.exitCode ?? proc.signalCode}) before listening:\n${stderrTail.join("\n")}`);
    }
    for (const s of [...pending]) if (await canConnectUnix(s)) pending.delete(s);
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`rmcp-mux sockets not listening within ${opts.timeoutMs ?? 15_000} ms:\n${stderrTail.join("\n")}`);
    }
    await Bun.sleep(10); // polling: a socket starting to listen has no event we can wait on
  }
  if (opts.http) {
    // the front starts after the servers: its line comes a moment after the sockets listen
    for (;;) {
      const line = daemon.stderrTail.find((l) => l.includes("http: listening on"));
      const m = line ? /http: listening on (\S+)\/mcp/.exec(line) : null;
      if (m) {
        daemon.http = { base: m[1]!, token: readFileSync(tokenFile, "utf8").trim() };
        break;
      }
      if (Date.now() > deadline || proc.exitCode !== null) {
        await daemon.stop();
        throw new Error(`rmcp-mux HTTP front not listening:\n${stderrTail.join("\n")}`);
      }
      await Bun.sleep(10); // polling the log tail, which has no event of its own
    }
  }
  return daemon;
}

// ---- peers --------------------------------------------------------------------------------------------------

export type PeerName = "supergateway" | "mcp-proxy" | "mcp-hub";
export const PEERS: PeerName[] = ["supergateway", "mcp-proxy", "mcp-hub"];

export interface PeerInfo {
  name: PeerName;
  version?: string;
  /** the package's bin script (run with node) */
  bin?: string;
  /** why it cannot be measured */
  skip?: string;
}

export const PEER_CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "rmcp-mux-bench");

function peerPackage(name: PeerName): { dir: string; pkg: any } | null {
  const dir = path.join(PEER_CACHE, name, "node_modules", name);
  try {
    return { dir, pkg: JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) };
  } catch {
    return null;
  }
}

/** Make sure `name` is installed in the cache (npm install --prefix, only when missing); never throws. */
export async function ensurePeer(name: PeerName, allowInstall: boolean, log: (s: string) => void): Promise<PeerInfo> {
  let found = peerPackage(name);
  if (!found) {
    if (!allowInstall) return { name, skip: `not installed in ${PEER_CACHE} and --no-install was given` };
    const prefix = path.join(PEER_CACHE, name);
    mkdirSync(prefix, { recursive: true });
    log(`installing ${name} into ${prefix} (npm install --prefix)…`);
    const argv = ["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", "--no-save", name];
    try {
      const p = Bun.spawn(argv, { cwd: prefix, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      const timer = setTimeout(() => p.kill("SIGKILL"), 300_000);
      const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
      await p.exited;
      clearTimeout(timer);
      if (p.exitCode !== 0) {
        const lines = (err || out).trim().split("\n").filter((l) => !/Unknown user config/.test(l));
        return { name, skip: `npm install failed (exit ${p.exitCode ?? p.signalCode}): ${lines.slice(-3).join(" / ")}` };
      }
    } catch (e) {
      return { name, skip: `npm install could not run: ${(e as Error).message}` };
    }
    found = peerPackage(name);
    if (!found) return { name, skip: "npm install finished but the package is not there" };
  }
  const bin = typeof found.pkg.bin === "string" ? found.pkg.bin : found.pkg.bin?.[name] ?? Object.values(found.pkg.bin ?? {})[0];
  if (!bin) return { name, version: found.pkg.version, skip: "the package declares no bin" };
  const binPath = path.join(found.dir, bin as string);
  if (!existsSync(binPath)) return { name, version: found.pkg.version, skip: `bin ${bin} missing` };
  return { name, version: String(found.pkg.version), bin: binPath };
}

/** A free TCP port on 127.0.0.1 (the listener is closed again; a race with another process is possible but rare). */
export function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

export interface RunningGateway {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  port: number;
  url: string;
  tail: string[];
  stop(): Promise<void>;
}

export type GatewayKind = "supergateway-sse" | "supergateway-http" | "mcp-proxy" | "mcp-hub";

/** Start a peer gateway in front of `backend`, on 127.0.0.1 only; resolves when it is ready for clients. */
export async function startGateway(kind: GatewayKind, peer: PeerInfo, backend: BackendSpec, timeoutMs = 30_000): Promise<RunningGateway> {
  if (!peer.bin) throw new Error(`${peer.name} unavailable: ${peer.skip}`);
  const port = freePort();
  const dir = tempDir("rmb-peer-");
  const env: Record<string, string | undefined> = { ...process.env };
  const node = [NODE, "--require", LOOPBACK_PRELOAD, peer.bin];
  let argv: string[];
  let url: string;
  let ready: () => Promise<boolean> = () => canConnectTcp(port);
  const backendCmd = `exec ${shellJoin([backend.cmd, ...backend.args])}`;
  switch (kind) {
    case "supergateway-sse":
      argv = [...node, "--stdio", backendCmd, "--port", String(port), "--outputTransport", "sse", "--logLevel", "none"];
      url = `http://127.0.0.1:${port}/sse`;
      break;
    case "supergateway-http":
      argv = [
        ...node,
        "--stdio",
        backendCmd,
        "--port",
        String(port),
        "--outputTransport",
        "streamableHttp",
        "--stateful",
        "--logLevel",
        "none",
      ];
      url = `http://127.0.0.1:${port}/mcp`;
      break;
    case "mcp-proxy":
      argv = [...node, "--host", "127.0.0.1", "--port", String(port), "--", backend.cmd, ...backend.args];
      url = `http://127.0.0.1:${port}/mcp`;
      break;
    case "mcp-hub": {
      const cfg = path.join(dir, "mcp-servers.json");
      writeFileSync(cfg, JSON.stringify({ mcpServers: { [backend.name]: { command: backend.cmd, args: backend.args } } }, null, 2));
      // its workspace cache and log file go to the temp dir, not to ~/.local
      env.XDG_STATE_HOME = path.join(dir, "state");
      env.XDG_CONFIG_HOME = path.join(dir, "config");
      env.XDG_DATA_HOME = path.join(dir, "data");
      argv = [...node, "--port", String(port), "--config", cfg];
      url = `http://127.0.0.1:${port}/mcp`;
      ready = async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2000) });
          if (!r.ok) return false;
          const h = (await r.json()) as any;
          return Array.isArray(h.servers) && h.servers.length > 0 && h.servers.every((s: any) => s.status === "connected");
        } catch {
          return false;
        }
      };
      break;
    }
  }
  const proc = Bun.spawn(argv, { cwd: dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const tail: string[] = [];
  void drainLines(proc.stdout, tail);
  void drainLines(proc.stderr, tail);
  const gw: RunningGateway = { proc, pid: proc.pid, port, url, tail, stop: () => stopProcess(proc, "SIGTERM", 6000) };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${kind} exited (${proc.exitCode ?? proc.signalCode}) during start: ${tail.slice(-5).join(" | ")}`);
    }
    if (await ready()) break;
    if (Date.now() > deadline) {
      await gw.stop();
      throw new Error(`${kind} not ready within ${timeoutMs} ms: ${tail.slice(-5).join(" | ")}`);
    }
    await Bun.sleep(50); // polling: no readiness event from another process
  }
  return gw;
}
