/**
 * Claude Code: `~/.claude.json` (or `$CLAUDE_CONFIG_DIR/.claude.json`). User-scope servers live in the top-level
 * `mcpServers`; local-scope ones in `projects["/abs/project"].mcpServers`. Entries carry `"type": "stdio" | "http" |
 * "sse"`. Project-scope `.mcp.json` files are shared through git, so they are not rewired to a personal socket.
 */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const LOCATION = ".claude.json";

export const claudeCode: HostDef = {
  id: "claude-code",
  label: "Claude Code",
  format: "json",
  files: (ctx: HostContext) => [
    { scope: "user", path: path.join(ctx.env.CLAUDE_CONFIG_DIR || ctx.home, LOCATION) },
  ],
  containers: [["mcpServers"], ["projects", "*", "mcpServers"]],
  httpEntry: (url, headers) => ({ type: "http", url, headers }),
};
