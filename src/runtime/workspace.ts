/**
 * A client's workspace, the key its instance is found by, and the folder that instance runs in.
 *
 * The workspace is the sorted set of the client's root URIs when it declares roots, else the folder its host
 * started the proxy in (as a file:// URI, so a proxy started in /ws/a and a client whose one root is
 * file:///ws/a share), else "global".
 */
import { statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

export const GLOBAL = "global";

/** The roots a `roots/list` result names, as a workspace; null when it names none (the next rule applies). */
export function workspaceOfRoots(result: unknown): string | null {
  const roots = (result as { roots?: unknown } | null)?.roots;
  if (!Array.isArray(roots)) return null;
  const uris = new Set<string>();
  for (const r of roots) {
    const uri = (r as { uri?: unknown } | null)?.uri;
    if (typeof uri === "string" && uri.length > 0) uris.add(uri);
  }
  // URIs never contain a raw space, so one joins them without ambiguity.
  return uris.size === 0 ? null : [...uris].sort().join(" ");
}

export function workspaceOfCwd(cwd: string | undefined): string {
  return cwd === undefined ? GLOBAL : pathToFileURL(cwd).href;
}

/** The folder an instance for this workspace runs in: its one file:// root, when that is an existing folder. */
export function folderOf(workspace: string): string | undefined {
  if (workspace === GLOBAL || workspace.includes(" ") || !workspace.startsWith("file://")) return undefined;
  try {
    const dir = fileURLToPath(workspace);
    return statSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}
