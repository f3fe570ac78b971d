/**
 * Shared by the onboarding tests: a private copy of the fixture home (real files in a temp dir, so tests can rewire
 * them), the fake secrets planted in it, and a way to run the real CLI.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";

export const REPO = path.resolve(import.meta.dir, "../..");
export const CLI = path.join(REPO, "src/cli/main.ts");
export const FIXTURE_HOME = path.join(REPO, "test/fixtures/homes/full");

/** Every env/header value in the fixture home: none of them may ever show up in output. */
export const SECRETS = [
  "FIXTURE-SECRET-brave-123",
  "FIXTURE-SECRET-ghp-456",
  "FIXTURE-SECRET-ctx7-789",
  "FIXTURE-SECRET-stripe-000",
  "FIXTURE-SECRET-ua-111",
  "FIXTURE-SECRET-db-222",
  "FIXTURE-SECRET-api-333",
];

/** Host file of each host in the fixture home (Linux locations), relative to the home. */
export const HOST_FILES: Record<string, string> = {
  "claude-desktop": ".config/Claude/claude_desktop_config.json",
  "claude-code": ".claude.json",
  codex: ".codex/config.toml",
  cursor: ".cursor/mcp.json",
  vscode: ".config/Code/User/mcp.json",
  gemini: ".gemini/settings.json",
  windsurf: ".codeium/windsurf/mcp_config.json",
  junie: ".junie/mcp/mcp.json",
};

const dirs: string[] = [];

/** A fresh copy of the fixture home under /tmp (short paths keep socket paths valid). */
export function copyHome(): { root: string; home: string; workspace: string } {
  const root = mkdtempSync("/tmp/mxo-");
  dirs.push(root);
  const home = path.join(root, "home");
  cpSync(FIXTURE_HOME, home, { recursive: true });
  return { root, home, workspace: path.join(home, "src/webapp") };
}

export function removeHomes(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function mux(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: REPO,
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  return { code: proc.exitCode, stdout, stderr };
}

/** The flags that point every command at a fixture copy, on Linux locations. */
export function where(h: { home: string; workspace: string }): string[] {
  return ["--home", h.home, "--workspace", h.workspace, "--platform", "linux"];
}
