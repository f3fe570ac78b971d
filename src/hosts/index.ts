/** Every supported MCP host, in the order scan reports them (and in which duplicate servers get their names). */
import { claudeCode } from "./claude-code.ts";
import { claudeDesktop } from "./claude-desktop.ts";
import { codex } from "./codex.ts";
import { cursor } from "./cursor.ts";
import { gemini } from "./gemini.ts";
import { junie } from "./junie.ts";
import type { HostDef } from "./types.ts";
import { vscode } from "./vscode.ts";
import { windsurf } from "./windsurf.ts";

export const HOSTS: readonly HostDef[] = [claudeDesktop, claudeCode, codex, cursor, vscode, gemini, windsurf, junie];

export function hostById(id: string): HostDef | undefined {
  return HOSTS.find((h) => h.id === id);
}
