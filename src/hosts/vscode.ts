/**
 * VS Code (Copilot agent mode): `mcp.json` in the user profile and `.vscode/mcp.json` in a workspace. JSONC with a
 * top-level `servers` object (and `inputs`); entries name their transport in `type` ("stdio", "http", "sse").
 */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const USER_DIRS = {
  darwin: ["Library/Application Support/Code/User", "Library/Application Support/Code - Insiders/User"],
  linux: [".config/Code/User", ".config/Code - Insiders/User"],
} as const;
const WORKSPACE = ".vscode/mcp.json";

export const vscode: HostDef = {
  id: "vscode",
  label: "VS Code",
  format: "json",
  files: (ctx: HostContext) => [
    ...USER_DIRS[ctx.platform].map((d) => ({ scope: "user", path: path.join(ctx.home, d, "mcp.json") })),
    { scope: "workspace", path: path.join(ctx.workspace, WORKSPACE), folder: ctx.workspace },
  ],
  containers: [["servers"]],
  // VS Code documents `type` on every entry; keep it first, where its own editor puts it.
  finishProxyEntry: (e) => ("type" in e ? e : { type: "stdio", ...e }),
  httpEntry: (url, headers) => ({ type: "http", url, headers }),
};
