/** Claude Desktop: `claude_desktop_config.json`, servers under `mcpServers` (stdio only; remote servers are connectors). */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

// Anthropic ships Claude Desktop for macOS and Windows; the Linux path is where the community builds keep it.
const LOCATIONS = {
  darwin: "Library/Application Support/Claude/claude_desktop_config.json",
  linux: ".config/Claude/claude_desktop_config.json",
} as const;

export const claudeDesktop: HostDef = {
  id: "claude-desktop",
  label: "Claude Desktop",
  format: "json",
  files: (ctx: HostContext) => [{ scope: "user", path: path.join(ctx.home, LOCATIONS[ctx.platform]) }],
  containers: [["mcpServers"]],
};
