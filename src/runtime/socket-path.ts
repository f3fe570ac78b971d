/**
 * Getting a Unix socket path ready to listen on, safely.
 *
 * - A missing folder is created 0700, so only this user can reach sockets inside it.
 *   An existing folder is left as it is (it may be /tmp).
 * - A symlink at the path is refused, never followed: it could point anywhere.
 * - A socket file nobody answers on is a leftover of a dead daemon and is replaced; one that
 *   answers belongs to a live daemon and is an error — never silently stolen.
 * - Anything else at the path (a regular file) is the user's, and is an error.
 */
import { lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { PathError } from "../errors.ts";

export class SocketPathError extends PathError {
  override readonly name = "SocketPathError";
}

/** True when something accepts a connection on `path` within `timeoutMs`. */
export async function socketAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Bun.connect({
    unix: path,
    socket: { data() {}, open() {}, close() {}, error() {} },
  }).then(
    (s) => {
      s.end();
      return true;
    },
    () => false,
  );
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  const answered = await Promise.race([attempt, timeout]);
  clearTimeout(timer);
  return answered;
}

export async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new SocketPathError(path, `cannot create its folder: ${(e as Error).message}`);
  }
  if ((await inspectSocketPath(path)) === "stale") unlinkSync(path); // left by a daemon that died
}

/**
 * Whether `path` can be listened on, without changing anything: nothing there ("free"), a socket
 * nobody answers on ("stale", to be replaced), or a SocketPathError for what must not be replaced.
 */
export async function inspectSocketPath(path: string): Promise<"free" | "stale"> {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch {
    return "free";
  }
  if (st.isSymbolicLink()) throw new SocketPathError(path, "is a symbolic link; refusing to follow or replace it");
  if (!st.isSocket()) throw new SocketPathError(path, "exists and is not a socket; refusing to replace it");
  if (await socketAnswers(path)) {
    throw new SocketPathError(path, "another process is already listening here (is a daemon already running?)");
  }
  return "stale";
}

/** Remove our socket file, but only if it is still a socket (never a file put there since). */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}
