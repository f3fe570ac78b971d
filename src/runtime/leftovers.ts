/**
 * Children left behind by a daemon that died without cleaning up (kill -9, power loss).
 *
 * Each server records its child next to its socket: `<socket>.pid` holds the daemon's pid, the
 * child's pid and the child's start time. On the next start, if that daemon is gone but the child
 * still runs, the child's whole process group is killed before a new one is spawned. The start
 * time (from /proc on Linux) proves the pid was not reused by an unrelated process; where it
 * cannot be read, nothing is killed — a stubborn leftover is better than killing a stranger.
 */
import { lstatSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";

interface Record {
  daemon: number;
  child: number;
  started: string | null;
}

export function recordPath(socket: string): string {
  return `${socket}.pid`;
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; null off Linux or if gone. */
export function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Running, not merely unreaped: a killed process whose parent never reaps it still answers kill(0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return true; // no /proc (macOS): kill(0) is all we have
  }
}

/** Signals a child's whole process group (children are spawned as group leaders). */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is empty: everyone in it has exited
  }
}

export function writeRecord(socket: string, child: number): void {
  const rec: Record = { daemon: process.pid, child, started: startTimeOf(child) };
  const path = recordPath(socket);
  try {
    // Remove whatever is there (a planted symlink is removed, not followed), then create exclusively:
    // O_EXCL refuses to follow a symlink planted in between.
    removeRecord(socket);
    writeFileSync(path, JSON.stringify(rec), { mode: 0o600, flag: "wx" });
  } catch {
    // best effort: without it, only the stdin-EOF rule stops a leftover
  }
}

export function removeRecord(socket: string): void {
  try {
    unlinkSync(recordPath(socket));
  } catch {
    // not there
  }
}

/** Kills the leftover child of a dead daemon, if provably the same process. Returns its pid if killed. */
export function reapLeftover(socket: string): number | null {
  let rec: Record;
  try {
    if (!lstatSync(recordPath(socket)).isFile()) return null; // not ours: never read through a link
    rec = JSON.parse(readFileSync(recordPath(socket), "utf8")) as Record;
  } catch {
    return null;
  }
  if (rec.daemon !== process.pid && alive(rec.daemon)) return null; // its daemon lives: not ours to touch
  removeRecord(socket);
  if (!Number.isInteger(rec.child) || rec.child <= 1 || !alive(rec.child)) return null;
  if (rec.started === null || startTimeOf(rec.child) !== rec.started) return null;
  killGroup(rec.child, "SIGKILL");
  return rec.child;
}
