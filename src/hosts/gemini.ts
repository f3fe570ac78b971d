/**
 * Gemini CLI: `~/.gemini/settings.json` (and `.gemini/settings.json` in a project), servers under `mcpServers`
 * next to every other setting. stdio entries may carry `cwd`, `timeout`, `trust`, `includeTools`/`excludeTools`;
 * remote ones use `url` (SSE) or `httpUrl` (streamable HTTP). The CLI strips comments, so the file may be JSONC.
 */
import path from "node:path";
import type { HostContext, HostDef } from "./types.ts";

const LOCATION = ".gemini/settings.json";

export const gemini: HostDef = {
  id: "gemini",
  label: "Gemini CLI",
  format: "json",
  files: (ctx: HostContext) => [
    { scope: "user", path: path.join(ctx.home, LOCATION) },
    { scope: "workspace", path: path.join(ctx.workspace, LOCATION), folder: ctx.workspace },
  ],
  containers: [["mcpServers"]],
  // `url` would mean SSE to Gemini CLI; `httpUrl` is its streamable HTTP.
  httpEntry: (url, headers) => ({ httpUrl: url, headers }),
};
