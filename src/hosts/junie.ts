/**
 * JetBrains Junie: `~/.junie/mcp/mcp.json` (global) and `.junie/mcp/mcp.json` in a project, Claude-style
 * `mcpServers`. (The JetBrains AI Assistant keeps its MCP list in IDE settings XML, edited through the IDE.)
 */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const LOCATION = ".junie/mcp/mcp.json";

export const junie: HostDef = {
  id: "junie",
  label: "JetBrains Junie",
  format: "json",
  files: (ctx: HostContext) => [
    { scope: "user", path: path.join(ctx.home, LOCATION) },
    { scope: "workspace", path: path.join(ctx.workspace, LOCATION) },
  ],
  containers: [["mcpServers"]],
};
