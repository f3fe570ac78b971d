/**
 * Relative paths in a host entry (`node ./dist/index.js`, `command: "bin/server"`, `cwd: "sub"`) mean "relative to
 * where the host starts the server": the project folder for project- and workspace-level files, nothing fixed for a
 * user-level file. The daemon starts servers from its own folder, so such an entry is either anchored to its known
 * folder (cwd set, command and ./ arguments made absolute) or flagged and left to the host. Pure.
 */
import path from "node:path";

/** Script files a runtime is given by name (`python server.py`, `node dist/index.js`). */
const SCRIPT = /\.(?:[cm]?js|[cm]?ts|py|rb|sh|jar|php|pl)$/i;

const anchored = (p: string) => path.isAbsolute(p) || p === "~" || p.startsWith("~/");

/** A command with a folder part that is not absolute (a bare `npx` is looked up on PATH, and is fine). */
export const relativeCommand = (c: string) => c.includes("/") && !anchored(c);

/** An argument that names a file relative to the working folder. */
export function relativeArg(a: string): boolean {
  if (anchored(a) || a.startsWith("-") || a.startsWith("@") || a.includes("://") || a.includes("=")) return false;
  return a === "." || a === ".." || a.startsWith("./") || a.startsWith("../") || SCRIPT.test(a);
}

export interface Anchored {
  command: string;
  args: string[];
  cwd?: string;
  /** Set when the entry has relative paths and no known folder: the first such path, for the message. */
  unresolved?: string;
}

/**
 * `folder` is the entry's known folder (the project of a Claude Code per-project entry, the workspace of a
 * workspace file), if any. An absolute `cwd` is itself a known folder: the daemon starts the server there too.
 */
export function anchorPaths(command: string, args: readonly string[], cwd: string | undefined, folder: string | undefined): Anchored {
  const relCwd = cwd !== undefined && !anchored(cwd);
  const first = (relCwd ? cwd : undefined) ?? (relativeCommand(command) ? command : undefined) ?? args.find(relativeArg);
  if (first === undefined) return { command, args: [...args], ...(cwd !== undefined ? { cwd } : {}) };
  const base = cwd !== undefined && !relCwd ? cwd : folder;
  if (base === undefined) return { command, args: [...args], ...(cwd !== undefined ? { cwd } : {}), unresolved: first };
  const dir = relCwd ? path.resolve(base, cwd!) : base;
  // ~ in an absolute-looking cwd is expanded by the daemon's config loader; resolve against it only for display.
  const abs = (p: string) => (dir.startsWith("~") ? path.join(dir, p) : path.resolve(dir, p));
  return {
    command: relativeCommand(command) ? abs(command) : command,
    args: args.map((a) => (a.startsWith("./") || a.startsWith("../") || a === "." || a === ".." ? abs(a) : a)),
    cwd: dir,
  };
}

/** Why a "relative" entry is left to its host: the same words in scan and rewire. */
export const relativeNote = (p: string | undefined) =>
  `has a relative path (${p}) and no known folder to resolve it against, so it was left to the host (use an absolute path, or a cwd)`;
