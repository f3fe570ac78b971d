/**
 * The wizard end to end in a real terminal: tmux runs `rmcp-mux wizard` on a copy of the fixture home, keys are typed
 * with send-keys, the screen is read with capture-pane (polled until the expected text shows, never slept on). The
 * config it writes is then started by the real daemon, and the rewired host entry is run the way the host would
 * run it: proxy -> socket -> daemon -> server.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { BUN, cleanup, CLI, FIXTURE, PROXY, readPids, REPO, startDaemon, tempDir, waitFor } from "./harness.ts";

const TMUX = Bun.which("tmux");
const FIXTURE_HOME = path.join(REPO, "test/fixtures/homes/full");
const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

let tmuxSocket: string | undefined;
afterEach(async () => {
  if (tmuxSocket) Bun.spawnSync(["tmux", "-S", tmuxSocket, "kill-server"]);
  tmuxSocket = undefined;
  await cleanup();
});
afterAll(cleanup);

function tmux(...args: string[]): string {
  const r = Bun.spawnSync(["tmux", "-S", tmuxSocket!, ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Everything the pane has shown (history included, wrapped lines joined). */
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-5000", "-t", "wiz");
const count = (s: string, text: string) => s.split(text).length - 1;

async function waitScreen(text: string, times = 1, timeoutMs = 10_000): Promise<string> {
  return waitFor(() => {
    const s = screen();
    return count(s, text) >= times ? s : undefined;
  }, timeoutMs, `"${text}" x${times} on the wizard's screen`, 50).catch((e) => {
    throw new Error(`${(e as Error).message}\n--- screen ---\n${screen()}`);
  });
}

function type(text: string): void {
  if (text) tmux("send-keys", "-t", "wiz", "-l", text);
  tmux("send-keys", "-t", "wiz", "Enter");
}

/** Number of the row labelled `label` in the latest checklist on screen. */
function row(s: string, label: string): string {
  const hits = [...s.matchAll(new RegExp(`^\\s*(\\d+)\\. \\[[ x]\\] ${label}\\s`, "gm"))];
  if (!hits.length) throw new Error(`no row ${label} on screen:\n${s}`);
  return hits.at(-1)![1]!;
}
const checked = (s: string, label: string) => [...s.matchAll(new RegExp(`^\\s*\\d+\\. \\[([ x])\\] ${label}\\s`, "gm"))].at(-1)?.[1] === "x";

/** Read newline-delimited JSON from a process' stdout, one message at a time, with a timeout. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  return async (timeoutMs = 10_000): Promise<any> => {
    const deadline = Date.now() + timeoutMs;
    while (!buf.includes("\n")) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from the proxy within ${timeoutMs} ms (got ${JSON.stringify(buf)})`);
      const r = await Promise.race([reader.read(), Bun.sleep(left).then(() => undefined)]);
      if (!r) continue;
      if (r.done) throw new Error(`proxy stdout ended (got ${JSON.stringify(buf)})`);
      buf += decoder.decode(r.value, { stream: true });
    }
    const nl = buf.indexOf("\n");
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    return JSON.parse(line);
  };
}

describe("wizard in a terminal", () => {
  const title = TMUX ? "scan, pick, write, rewire; the daemon then serves the config" : "SKIPPED: tmux is not installed, so the terminal wizard cannot be driven";
  test.skipIf(!TMUX)(title, async () => {
    const dir = tempDir();
    tmuxSocket = path.join(dir, "tmux.sock");
    const home = path.join(dir, "home");
    cpSync(FIXTURE_HOME, home, { recursive: true });
    // Two servers that really run (the test fixture server); echo-a is listed by two hosts and must become one server.
    const echoA = { command: BUN, args: [FIXTURE, "a"], env: { FIXTURE_PIDFILE: path.join(dir, "a.pids"), FIXTURE_TAG: "alpha" } };
    const echoB = { command: BUN, args: [FIXTURE, "b"], env: { FIXTURE_PIDFILE: path.join(dir, "b.pids") } };
    const cursorFile = path.join(home, ".cursor/mcp.json");
    const cursorText = `${JSON.stringify({ mcpServers: { "echo-a": echoA, "echo-b": echoB, figma: { url: "http://127.0.0.1:3845/mcp" } } }, null, 2)}\n`;
    writeFileSync(cursorFile, cursorText);
    const junieFile = path.join(home, ".junie/mcp/mcp.json");
    writeFileSync(junieFile, `${JSON.stringify({ mcpServers: { "echo-a": echoA } }, null, 2)}\n`);
    const junieText = readFileSync(junieFile, "utf8");
    const proxy = path.join(dir, "bin/rmcp-mux-proxy");
    mkdirSync(path.dirname(proxy));
    writeFileSync(proxy, `#!/bin/sh\nexec ${q(BUN)} ${q(PROXY)} "$@"\n`);
    chmodSync(proxy, 0o755);
    const config = path.join(dir, "mux.toml");
    const socks = path.join(dir, "socks");

    const wizard = [BUN, CLI, "wizard", "--home", home, "--workspace", path.join(home, "src/webapp"), "--platform", "linux"];
    const cmd = `${[...wizard, "--config", config, "--proxy", proxy].map(q).join(" ")}; echo "WIZARD-EXIT=$?"; exec cat`;
    tmux("new-session", "-d", "-s", "wiz", "-x", "220", "-y", "60", "sh", "-c", cmd);

    const PROMPT = "Enter = continue:";
    let s = await waitScreen(PROMPT);
    expect(s).toMatch(/echo-a\s+\S*bun\S* \S*fixture-server\.ts a {2}\(cursor, junie; env: FIXTURE_PIDFILE, FIXTURE_TAG\)/);
    type("n");
    s = await waitScreen(PROMPT, 2);
    expect(checked(s, "echo-a")).toBe(false);
    type(`${row(s, "echo-a")} ${row(s, "echo-b")}`);
    s = await waitScreen(PROMPT, 3);
    expect([checked(s, "echo-a"), checked(s, "echo-b"), checked(s, "memory")]).toEqual([true, true, false]);
    type("");
    await waitScreen("Socket folder [");
    type(socks);
    s = await waitScreen("Hosts to rewire");
    s = await waitScreen(PROMPT, 4);
    expect(s).toContain("junie"); // junie lists echo-a too, but stays unticked
    type(row(s, "cursor"));
    s = await waitScreen(PROMPT, 5);
    expect([checked(s, "cursor"), checked(s, "junie")]).toEqual([true, false]);
    type("");
    s = await waitScreen("Write the config? [y/N]");
    expect(s).toContain("Servers:  echo-a, echo-b");
    expect(s).toContain("Rewire:   cursor (~/.cursor/mcp.json)");
    type("y");
    await waitScreen("Rewire 1 host file(s) now?");
    type("y");
    s = await waitScreen("WIZARD-EXIT=", 1, 20_000);
    expect(s).toContain("WIZARD-EXIT=0");
    expect(s).toContain("~/.cursor/mcp.json: rewired echo-a, echo-b; backup:");

    // What it wrote: a private config our loader accepts, and a rewired Cursor file (with a backup of the old one).
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const cfg = await loadConfig(config);
    expect(cfg.servers.map((x) => [x.name, x.socket])).toEqual([
      ["echo-a", path.join(socks, "echo-a.sock")],
      ["echo-b", path.join(socks, "echo-b.sock")],
    ]);
    expect(cfg.servers[0]!.env).toEqual(echoA.env);
    const cursor = JSON.parse(readFileSync(cursorFile, "utf8"));
    expect(cursor.mcpServers["echo-a"]).toEqual({ command: proxy, args: ["--socket", path.join(socks, "echo-a.sock"), "--config", config] });
    expect(cursor.mcpServers.figma).toEqual({ url: "http://127.0.0.1:3845/mcp" });
    const backups = readdirSync(path.dirname(cursorFile)).filter((n) => n.endsWith(".rmcp-mux.bak"));
    expect(backups).toHaveLength(1);
    expect(readFileSync(path.join(path.dirname(cursorFile), backups[0]!), "utf8")).toBe(cursorText);
    expect(readFileSync(junieFile, "utf8")).toBe(junieText);

    // The daemon starts the written config: both sockets accept, and echo-a got its env from the config.
    const daemon = await startDaemon(config);
    await waitFor(() => readPids(echoA.env.FIXTURE_PIDFILE).length === 1, 10_000, "echo-a started with its FIXTURE_PIDFILE");
    expect(existsSync(path.join(socks, "echo-b.sock"))).toBe(true);

    // Cursor's new entry, run as Cursor would run it, reaches the server through the daemon.
    const entry = cursor.mcpServers["echo-a"];
    const host = Bun.spawn([entry.command, ...entry.args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const next = lineReader(host.stdout);
    const send = (m: object) => host.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cursor-like", version: "1" } } });
    expect((await next()).result.protocolVersion).toBeString();
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "via the wizard's config" } } });
    expect((await next()).result.content[0].text).toBe("via the wizard's config");
    host.stdin.end();
    await host.exited;

    expect(await daemon.stop("SIGTERM")).toBe(0);
  }, 90_000);
});
