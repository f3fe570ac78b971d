/** Cursor: `~/.cursor/mcp.json`, servers under `mcpServers`; remote ones have `url` (and `headers`). */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const LOCATION = ".cursor/mcp.json";

export const cursor: HostDef = {
  id: "cursor",
  label: "Cursor",
  format: "json",
  files: (ctx: HostContext) => [{ scope: "user", path: path.join(ctx.home, LOCATION) }],
  containers: [["mcpServers"]],
  httpEntry: (url, headers) => ({ url, headers }),
};
