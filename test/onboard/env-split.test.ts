/**
 * Three hosts each run a `memory` server with their own env (as Claude Code, Gemini CLI and Codex write them): scan
 * must make three servers, each with its own env, and rewire must point each host at its own one.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import TOML from "@iarna/toml";
import { loadConfig } from "../../src/config/load.ts";
import { mux } from "./fixture-home.ts";

const root = mkdtempSync("/tmp/mxe-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, text: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

test("env-split servers each keep their own env, and each host is rewired to its own", async () => {
  const home = path.join(root, "home");
  const m = "/data/mem";
  const server = ["-y", "@modelcontextprotocol/server-memory"];
  write(
    path.join(home, ".claude.json"),
    JSON.stringify({ mcpServers: { memory: { type: "stdio", command: "npx", args: server, env: { MEMORY_FILE_PATH: `${m}/memory.jsonl` } } } }, null, 2),
  );
  write(path.join(home, ".gemini/settings.json"), JSON.stringify({ mcpServers: { memory: { command: "npx", args: server, env: { MEMORY_FILE_PATH: `${m}/gmem.jsonl` } } } }, null, 2));
  write(
    path.join(home, ".codex/config.toml"),
    `[mcp_servers.memory]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-memory"]\n\n[mcp_servers.memory.env]\nMEMORY_FILE_PATH = "${m}/cmem.jsonl"\nSECRET_TOKEN = "codex-only"\n`,
  );
  const where = ["--home", home, "--workspace", path.join(root, "ws"), "--platform", "linux"];
  const manifest = path.join(root, "mux.toml");
  const proxy = path.join(root, "rmcp-mux-proxy");
  writeFileSync(proxy, "#!/bin/sh\n", { mode: 0o755 });
  const scan = await mux(["scan", ...where, "--manifest", manifest, "--socket-dir", path.join(root, "s")]);
  expect(scan.code).toBe(0);
  expect(scan.stdout).not.toContain("codex-only");
  const cfg = await loadConfig(manifest);
  expect(cfg.servers.map((s) => [s.name, s.env])).toEqual([
    ["memory", { MEMORY_FILE_PATH: `${m}/memory.jsonl` }],
    ["memory-codex", { MEMORY_FILE_PATH: `${m}/cmem.jsonl`, SECRET_TOKEN: "codex-only" }],
    ["memory-gemini", { MEMORY_FILE_PATH: `${m}/gmem.jsonl` }],
  ]);
  const socketOf = (name: string) => cfg.servers.find((s) => s.name === name)!.socket;

  for (const host of ["claude-code", "gemini", "codex"]) {
    const r = await mux(["rewire", "--host", host, ...where, "--config", manifest, "--proxy", proxy]);
    expect(r.code).toBe(0);
  }
  const socketArg = (args: string[]) => args[args.indexOf("--socket") + 1];
  expect(socketArg(JSON.parse(readFileSync(path.join(home, ".claude.json"), "utf8")).mcpServers.memory.args)).toBe(socketOf("memory"));
  expect(socketArg(JSON.parse(readFileSync(path.join(home, ".gemini/settings.json"), "utf8")).mcpServers.memory.args)).toBe(socketOf("memory-gemini"));
  const codex = TOML.parse(readFileSync(path.join(home, ".codex/config.toml"), "utf8")) as any;
  expect(socketArg(codex.mcp_servers.memory.args)).toBe(socketOf("memory-codex"));
  expect(codex.mcp_servers.memory.env).toBeUndefined(); // the secret now lives only in mux.toml, in its own server
}, 60_000);
