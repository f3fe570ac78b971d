/**
 * OpenAI Codex CLI: `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`), one `[mcp_servers.NAME]` table per
 * server: `command`, `args`, `env` (inline or as `[mcp_servers.NAME.env]`), `cwd`, `env_vars`, plus Codex's own
 * `startup_timeout_sec`, `tool_timeout_sec`, `enabled`, `enabled_tools`/`disabled_tools`. Remote servers have `url`.
 */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const LOCATION = "config.toml";

export const codex: HostDef = {
  id: "codex",
  label: "Codex CLI",
  format: "toml",
  files: (ctx: HostContext) => [
    { scope: "user", path: path.join(ctx.env.CODEX_HOME || path.join(ctx.home, ".codex"), LOCATION) },
  ],
  containers: [["mcp_servers"]],
  httpEntry: (url, headers) => ({ url, http_headers: headers }),
};
