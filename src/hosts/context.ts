/** Where things are by default, all derived from one home folder so a test can move the whole world with --home. */
import { existsSync } from "node:fs";
import path from "node:path";
import { expandHome, homeDir } from "../config/paths.ts";
import type { HostContext } from "./types.ts";
import { UsageError } from "../errors.ts";

export interface ContextOptions {
  home?: string | undefined;
  platform?: string | undefined;
  workspace?: string | undefined;
}

export function hostContext(o: ContextOptions = {}): HostContext {
  const platform = o.platform ?? (process.platform === "darwin" ? "darwin" : "linux");
  if (platform !== "darwin" && platform !== "linux") throw new UsageError(`--platform must be darwin or linux (was ${platform})`);
  return {
    home: o.home ? path.resolve(expandHome(o.home)) : homeDir(),
    platform,
    workspace: path.resolve(expandHome(o.workspace ?? process.cwd())),
    // CODEX_HOME and friends describe the real account; under --home (tests, dry runs) they would point elsewhere.
    env: o.home ? {} : { ...process.env },
  };
}

export const defaultSocketDir = (home: string) => path.join(home, ".rmcp-servers/rmcp-mux/sockets");
export const defaultManifest = (home: string) => path.join(home, ".rmcp-servers/rmcp-mux/mux.toml");

/**
 * The proxy hosts should run: next to this executable when it is the compiled rmcp-mux (so a rewired host runs the
 * matching version), else the one on PATH, else where install.sh puts it. Always absolute: hosts have their own PATH.
 */
export function defaultProxy(home: string): string {
  const exe = process.execPath;
  if (path.basename(exe).startsWith("rmcp-mux")) {
    const sibling = path.join(path.dirname(exe), "rmcp-mux-proxy");
    if (existsSync(sibling)) return sibling;
  }
  return Bun.which("rmcp-mux-proxy") ?? path.join(home, ".local/bin/rmcp-mux-proxy");
}

/** `~/x` for paths under home: shorter output, and no user name in pasted logs. */
export function tildify(p: string, home: string): string {
  return p === home ? "~" : p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p;
}

/** citty flags shared by scan, rewire and wizard (plain objects, so this module needs no citty import). */
export const CONTEXT_ARGS = {
  home: { type: "string", description: "Home folder whose host configs to use (default: $HOME)", valueHint: "DIR" },
  workspace: { type: "string", description: "Project folder for workspace configs such as .vscode/mcp.json (default: cwd)", valueHint: "DIR" },
  platform: { type: "string", description: "darwin or linux: which host file locations to use (default: this OS)", valueHint: "OS" },
} as const;
