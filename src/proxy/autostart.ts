/**
 * Starting the daemon on demand: `rmcp-mux-proxy --socket S --config M` starts `rmcp-mux --config M`, detached,
 * when nothing answers on S. Hosts start many proxies at once (one per server, several sessions), so a lock file
 * per config makes exactly one of them start the daemon; the others wait for the socket to answer. Loaded only
 * when the first connection attempt fails, so a proxy whose daemon runs never pays for it.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import TOML from "@iarna/toml";
import { resolveFrom } from "../config/paths.ts";

export interface AutostartOptions {
  /** Absolute path of the mux.toml to start the daemon with. */
  config: string;
  /** The command that runs rmcp-mux (see daemonCommand). */
  command: string[];
  /** True once the proxy's socket accepts a connection. */
  answers: () => Promise<boolean>;
  /** How long to wait for the socket once the daemon was started (or while another proxy starts it). */
  timeoutMs: number;
  stderr: (line: string) => void;
  /** Where the lock lives (default: a per-user folder under the system temp dir). */
  lockDir?: string;
}

/** A lock older than this belongs to a proxy that died mid-start: the daemon's own start takes about a second. */
const STALE_LOCK_MS = 60_000;

/** rmcp-mux next to this proxy binary, this binary itself (`rmcp-mux proxy`), or bun plus the CLI script. */
export function daemonCommand(execPath = process.execPath, argv1 = process.argv[1] ?? ""): string[] {
  const compiled = argv1 === "" || argv1.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(argv1);
  if (!compiled) return [execPath, path.resolve(import.meta.dir, "../cli/main.ts")];
  const base = path.basename(execPath);
  return [base.startsWith("rmcp-mux-proxy") ? path.join(path.dirname(execPath), base.replace("rmcp-mux-proxy", "rmcp-mux")) : execPath];
}

/**
 * The daemon's control socket, from a quick read of the config (no schema; undefined when unreadable). It answers
 * only once the config passed its check: the servers' sockets are bound before that, and closed again when the
 * config is refused, so they alone cannot tell a starting daemon from one about to give up.
 */
export function controlSocketOf(config: string): string | undefined {
  try {
    const text = readFileSync(config, "utf8");
    const raw = (/\.json$/i.test(config) ? JSON.parse(text) : TOML.parse(text)) as { status_socket?: unknown };
    return resolveFrom(path.dirname(config), typeof raw.status_socket === "string" ? raw.status_socket : "daemon.sock");
  } catch {
    return undefined;
  }
}

async function socketAnswers(socket: string): Promise<boolean> {
  try {
    const s = await Bun.connect({ unix: socket, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** The daemon's stderr goes next to its config: `mux.toml` → `mux.log`. */
export const daemonLogOf = (config: string) => path.join(path.dirname(config), `${path.basename(config, path.extname(config))}.log`);

/** One lock per config file, in a per-user folder: proxies of every server in that config share it. */
export function lockPath(o: Pick<AutostartOptions, "config" | "lockDir">): string {
  const dir = o.lockDir ?? path.join(os.tmpdir(), `rmcp-mux-${process.getuid?.() ?? "user"}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `start-${createHash("sha256").update(o.config).digest("hex").slice(0, 16)}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Take the lock, or say who holds it; a lock whose holder is gone (or which is very old) is broken first. */
function tryLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder = 0;
    let age = 0;
    try {
      holder = Number(readFileSync(file, "utf8")) || 0;
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      continue; // released between our open and read: try again
    }
    // A holder that has not written its pid yet is alive (the file is seconds old at most).
    if ((holder !== 0 && !alive(holder)) || age > STALE_LOCK_MS) {
      try {
        unlinkSync(file);
      } catch {}
      continue;
    }
    return false;
  }
  return false;
}

function release(file: string): void {
  try {
    if (Number(readFileSync(file, "utf8")) === process.pid) unlinkSync(file);
  } catch {}
}

/** Spawns the daemon in its own session, so it outlives this proxy and the host that started it. */
function startDetached(o: AutostartOptions): { pid?: number; log: string; exited: Promise<number | null> } {
  const log = daemonLogOf(o.config);
  let out: number | "ignore" = "ignore";
  try {
    out = openSync(log, "a", 0o600);
  } catch {
    // an unwritable config folder only costs the log
  }
  const [cmd, ...args] = o.command as [string, ...string[]];
  const child = spawn(cmd, [...args, "--config", o.config], { detached: true, stdio: ["ignore", out, out] });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(-1));
  });
  child.unref();
  if (typeof out === "number") closeSync(out);
  return { pid: child.pid, log, exited };
}

/**
 * Makes the daemon for `config` answer on the proxy's socket: starts it when no other proxy is doing so. Resolves
 * to undefined when the socket answers, else to a sentence saying why not.
 */
export async function ensureDaemon(o: AutostartOptions): Promise<string | undefined> {
  const lock = lockPath(o);
  const deadline = performance.now() + o.timeoutMs;
  const control = controlSocketOf(o.config);
  const alive = async () => control !== undefined && (await socketAnswers(control));
  const ready = async () => control === undefined || (await alive());
  let started: ReturnType<typeof startDetached> | undefined;
  let exitCode: number | null | undefined;
  let running = false;
  try {
    while (performance.now() < deadline) {
      if ((await ready()) && (await o.answers())) return undefined;
      // A daemon whose control socket answers is running: its server socket may be paused (short of file
      // descriptors) or still binding. A second daemon would take that socket's path; wait instead.
      running = !started && (await alive());
      if (!started && !running && tryLock(lock)) {
        // Another proxy may have started it and released the lock since we last looked.
        if ((await ready()) && (await o.answers())) return undefined;
        started = startDetached(o);
        void started.exited.then((c) => (exitCode = c));
        o.stderr(`rmcp-mux-proxy: started rmcp-mux --config ${o.config} (pid ${started.pid}); its log: ${started.log}`);
      }
      if (started && exitCode !== undefined) {
        return `rmcp-mux --config ${o.config} exited (code ${exitCode}) before its socket answered; see ${started.log}`;
      }
      await Bun.sleep(50); // polling pace for a socket another process is creating, not synchronisation
    }
    if (running) {
      return `the rmcp-mux daemon for ${o.config} is running, but its socket did not accept a connection within ${o.timeoutMs} ms (it pauses accepting while it is short of file descriptors); see its log, ${daemonLogOf(o.config)}`;
    }
    return started
      ? `rmcp-mux --config ${o.config} (pid ${started.pid}) did not answer within ${o.timeoutMs} ms; see ${started.log}`
      : `another rmcp-mux-proxy is starting the daemon for ${o.config}, but it did not answer within ${o.timeoutMs} ms`;
  } finally {
    if (started) release(lock);
  }
}
