/**
 * The open-files limit (RLIMIT_NOFILE): every client connection costs the daemon a file descriptor.
 *
 * At start the soft limit is raised towards the hard one, so the daemon is not held to a shell's low default.
 * Through `bun:ffi` against the C library, loaded only when the limit is not there yet: Bun's own start-up
 * raises it on Linux already, and loading the FFI costs ~6 MB of resident memory and ~12 ms. When raising is
 * not possible (another platform, no libc found) the limit is left as it is and only the reason is logged.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { AcceptGate } from "./accept-gate.ts";
import type { Logger } from "./log.ts";

export interface FdLimit {
  soft: number;
  hard: number;
}

/** macOS refuses a soft limit above OPEN_MAX even when the hard one is unlimited. */
const DARWIN_OPEN_MAX = 10240;

const platform = (): { lib: string; resource: number } | null => {
  if (process.platform === "linux") return { lib: "libc.so.6", resource: 7 };
  if (process.platform === "darwin") return { lib: "/usr/lib/libSystem.B.dylib", resource: 8 };
  return null;
};

/** The limits as the system reports them without the FFI (Linux: /proc; elsewhere: the shell's ulimit). */
export function readFdLimit(): FdLimit | null {
  const num = (v: string | undefined) => (v === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(v));
  try {
    if (process.platform === "linux") {
      const line = readFileSync("/proc/self/limits", "utf8")
        .split("\n")
        .find((l) => l.startsWith("Max open files"));
      const [, soft, hard] = line?.split(/\s{2,}/) ?? [];
      const limit = { soft: num(soft), hard: num(hard) };
      return limit.soft > 0 && limit.hard > 0 ? limit : null;
    }
    const r = Bun.spawnSync(["/bin/sh", "-c", "ulimit -Sn; ulimit -Hn"], { stdout: "pipe", stderr: "ignore" });
    const [soft, hard] = r.stdout.toString().trim().split(/\s+/);
    const limit = { soft: num(soft), hard: num(hard) };
    return limit.soft > 0 && limit.hard > 0 ? limit : null;
  } catch {
    return null;
  }
}

/** Raises the soft limit towards the hard one; returns the limits now in force, or why they could not be read. */
export async function raiseFdLimit(): Promise<{ limit: FdLimit; raisedFrom?: number } | { error: string }> {
  const p = platform();
  if (p === null) return { error: `not supported on ${process.platform}` };
  const known = readFdLimit();
  if (known !== null && known.soft >= (process.platform === "darwin" ? Math.min(known.hard, DARWIN_OPEN_MAX) : known.hard)) {
    return { limit: known };
  }
  return setSoftFdLimit();
}

/** Sets the soft limit to `to` (default: the hard one, capped on macOS) through the C library. */
export async function setSoftFdLimit(to?: number): Promise<{ limit: FdLimit; raisedFrom?: number } | { error: string }> {
  const p = platform();
  if (p === null) return { error: `not supported on ${process.platform}` };
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    const libc = dlopen(p.lib, {
      getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    });
    try {
      // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; }: two 64-bit unsigned integers on both platforms.
      const buf = new BigUint64Array(2);
      if (libc.symbols.getrlimit(p.resource, ptr(buf)) !== 0) return { error: "getrlimit failed" };
      const soft = buf[0] as bigint;
      const hard = buf[1] as bigint;
      let target = to === undefined ? hard : BigInt(to);
      if (process.platform === "darwin" && target > BigInt(DARWIN_OPEN_MAX)) target = BigInt(DARWIN_OPEN_MAX);
      const asNumber = (v: bigint) => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));
      if (target === soft || (to === undefined && target < soft)) return { limit: { soft: asNumber(soft), hard: asNumber(hard) } };
      buf[0] = target;
      if (libc.symbols.setrlimit(p.resource, ptr(buf)) !== 0) {
        return { error: `setrlimit from ${soft} to ${target} failed` };
      }
      return { limit: { soft: asNumber(target), hard: asNumber(hard) }, ...(target > soft ? { raisedFrom: asNumber(soft) } : {}) };
    } finally {
      libc.close();
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}


/** Descriptors this process has open now, or null where the system does not list them. */
export function countOpenFds(): number | null {
  for (const dir of ["/proc/self/fd", "/dev/fd"]) {
    try {
      // The listing itself holds one descriptor while it runs.
      return readdirSync(dir).length - 1;
    } catch (e) {
      // No descriptor left even to list them: that is the count, all of them (a flood of TCP connections to the
      // HTTP front gets there without a connection event the gate could count on the way).
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EMFILE" || code === "ENFILE") return Number.POSITIVE_INFINITY;
      // else: not this system
    }
  }
  return null;
}

/** At daemon start: raise the limit, log it, and let `gate` pause accepting near it. */
export async function guardFdLimit(gate: AcceptGate, log: Logger): Promise<void> {
  const r = await raiseFdLimit();
  const limit = "limit" in r ? r.limit.soft : (readFdLimit()?.soft ?? null);
  if ("error" in r) log("warn", `open-files limit (RLIMIT_NOFILE) not raised: ${r.error}${limit === null ? "" : `; it stays at ${limit}`}`);
  else if (r.raisedFrom !== undefined) log("info", `open-files limit (RLIMIT_NOFILE) raised from ${r.raisedFrom} to ${r.limit.soft}`);
  else log("debug", `open-files limit (RLIMIT_NOFILE): ${r.limit.soft} (hard ${r.limit.hard})`);
  if (limit !== null) gate.configure({ limit, countFds: countOpenFds, log });
}
