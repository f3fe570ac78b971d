/** Windsurf (Codeium): `~/.codeium/windsurf/mcp_config.json`, `mcpServers`; remote entries use `serverUrl`. */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const LOCATION = ".codeium/windsurf/mcp_config.json";

export const windsurf: HostDef = {
  id: "windsurf",
  label: "Windsurf",
  format: "json",
  files: (ctx: HostContext) => [{ scope: "user", path: path.join(ctx.home, LOCATION) }],
  containers: [["mcpServers"]],
  httpEntry: (url, headers) => ({ serverUrl: url, headers }),
};
