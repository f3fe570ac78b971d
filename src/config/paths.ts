// Path handling for config values. No arktype here: the proxy resolves `~` in --socket with these too.
import os from "node:os";
import path from "node:path";

/** $HOME first (tests and sandboxes set it), then the OS account's home. */
export function homeDir(): string {
  return process.env.HOME || os.homedir();
}

/** `~` and `~/x` only: `~user/x` would need a passwd lookup and is rare enough to leave literal. */
export function expandHome(p: string): string {
  if (p === "~") return homeDir();
  if (p.startsWith("~/")) return path.join(homeDir(), p.slice(2));
  return p;
}

/** Expands `~`, then anchors relative paths at `baseDir` (the config file's folder), not the process cwd. */
export function resolveFrom(baseDir: string, p: string): string {
  return path.resolve(baseDir, expandHome(p));
}

// sun_path is 104 bytes on macOS/BSD and 108 on Linux, including the terminating NUL.
export const MAX_SOCKET_PATH_BYTES = process.platform === "linux" ? 107 : 103;

export function socketPathTooLong(p: string): boolean {
  return Buffer.byteLength(p) > MAX_SOCKET_PATH_BYTES;
}
