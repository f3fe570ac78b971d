/**
 * The daemon on demand: proxies given `--config` start `rmcp-mux --config` (detached) when nothing answers, and
 * five of them starting at once start exactly one daemon. Without a daemon, the host's initialize gets an error.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLI } from "../onboard/fixture-home.ts";
import { cleanup, PROXY, pidAlive, tempDir, trackPid, waitFor, writeConfig } from "../e2e/harness.ts";

afterAll(cleanup);

const INIT = `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`;

/** One proxy as a host runs it: writes initialize, returns the first line it answers and its stderr. */
async function hostSession(args: string[], command = [process.execPath, PROXY]): Promise<{ first: any; stderr: string; code: number }> {
  const p = Bun.spawn([...command, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  p.stdin.write(INIT);
  await p.stdin.flush();
  const reader = p.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  p.stdin.end();
  const code = await p.exited;
  return { first: text ? JSON.parse(text.split("\n")[0]!) : undefined, stderr: await new Response(p.stderr).text(), code };
}

test("5 proxies started at once start exactly one daemon, and all of them are served by it", async () => {
  const cfg = writeConfig(undefined, { fx: {} });
  const sessions = await Promise.all(Array.from({ length: 5 }, () => hostSession(["--socket", cfg.sockets.fx!, "--config", cfg.configPath])));
  const started = sessions.flatMap((s) => s.stderr.split("\n").filter((l) => l.includes("started rmcp-mux --config")));
  const pids = started.map((l) => Number(/\(pid (\d+)\)/.exec(l)?.[1]));
  for (const p of pids) if (p) trackPid(p);
  const pid = pids[0]!;
  expect(started).toHaveLength(1);
  expect(started[0]).toContain(`its log: ${path.join(cfg.dir, "mux.log")}`);
  for (const s of sessions) {
    expect(s.first.id).toBe(1);
    expect(s.first.result.serverInfo.name).toBe("fixture");
    expect(s.code).toBe(0);
  }
  // Detached: it outlives every proxy that asked for it, and a sixth proxy just connects.
  expect(pidAlive(pid)).toBe(true);
  const sixth = await hostSession(["--socket", cfg.sockets.fx!, "--config", cfg.configPath]);
  expect(sixth.first.result.serverInfo.name).toBe("fixture");
  expect(sixth.stderr).not.toContain("started rmcp-mux");
  expect(readFileSync(path.join(cfg.dir, "mux.log"), "utf8")).toContain("fx");
  process.kill(pid, "SIGTERM");
  await waitFor(() => !pidAlive(pid), 10_000, "the started daemon to stop");
}, 60_000);

test("a config the daemon refuses: the host's initialize gets an error that says so and where the log is", async () => {
  const dir = tempDir();
  const config = path.join(dir, "mux.toml");
  writeFileSync(config, `[servers.fx]\nsocket = "${dir}/fx.sock"\ncmd = 5\n`);
  const s = await hostSession(["--socket", `${dir}/fx.sock`, "--config", config]);
  expect(s.code).toBe(1);
  expect(s.first.id).toBe(1);
  expect(s.first.error.message).toContain(`rmcp-mux daemon could not be started: rmcp-mux --config ${config} exited (code 2) before its socket answered; see ${dir}/mux.log`);
  expect(readFileSync(`${dir}/mux.log`, "utf8")).toContain("servers.fx.cmd");
}, 60_000);

test("no daemon and no --config: the host's initialize gets an error saying how to start the daemon", async () => {
  const dir = tempDir();
  const s = await hostSession(["--socket", `${dir}/none.sock`, "--retry-ms", "100"]);
  expect(s.code).toBe(1);
  expect(s.first).toMatchObject({ jsonrpc: "2.0", id: 1, error: { code: -32603, data: { reason: "backend_unavailable" } } });
  expect(s.first.error.message).toContain("rmcp-mux daemon is not running");
  expect(s.first.error.message).toContain("Start it with `rmcp-mux --config <your mux.toml>`");
  expect(existsSync(`${dir}/mux.log`)).toBe(false);
}, 30_000);

test("a rewired entry works with no daemon running: its --config starts one", async () => {
  const cfg = writeConfig(undefined, { fx: {} });
  const home = path.join(cfg.dir, "home");
  mkdirSync(path.join(home, ".cursor"), { recursive: true });
  const fixture = (cfg.servers.fx as { cmd: string; args: string[] });
  writeFileSync(path.join(home, ".cursor/mcp.json"), JSON.stringify({ mcpServers: { fx: { command: fixture.cmd, args: fixture.args } } }));
  // Hosts run an executable: this one runs the proxy from source, as the installed binary would.
  const proxy = path.join(cfg.dir, "rmcp-mux-proxy");
  writeFileSync(proxy, `#!/bin/sh\nexec "${process.execPath}" "${PROXY}" "$@"\n`, { mode: 0o755 });
  const rewire = Bun.spawnSync([process.execPath, CLI, "rewire", "--host", "cursor", "--home", home, "--config", cfg.configPath, "--proxy", proxy]);
  expect(rewire.exitCode).toBe(0);
  const entry = JSON.parse(readFileSync(path.join(home, ".cursor/mcp.json"), "utf8")).mcpServers.fx;
  expect(entry).toEqual({ command: proxy, args: ["--socket", cfg.sockets.fx!, "--config", cfg.configPath] });
  const s = await hostSession(entry.args, [entry.command]);
  const pid = Number(/\(pid (\d+)\)/.exec(s.stderr)?.[1]);
  if (pid) trackPid(pid);
  expect(s.first.result.serverInfo.name).toBe("fixture");
  process.kill(pid, "SIGTERM");
  await waitFor(() => !pidAlive(pid), 10_000, "the started daemon to stop");
}, 60_000);
