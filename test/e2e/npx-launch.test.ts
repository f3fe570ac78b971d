/**
 * Issue 18's proof: a server configured as `npx -y @modelcontextprotocol/server-memory` (the real package from
 * npm) runs under the daemon without npm: no `npm exec`, `npx` or `sh` among the daemon's descendants, while
 * `launch = "as-written"` keeps today's wrapper. npm's cache is warmed once first, as a user's would be after the
 * first `npx -y`; that needs the npm registry the first time on a machine.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, renameSync, mkdirSync, writeFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { descendants } from "../../bench/lib/proc.ts";
import { cleanup, type Daemon, runCli, serverStatus, startDaemon, tempDir, waitFor, writeConfig } from "./harness.ts";
import { allText, closeSdkClients, connectSdkClient } from "./wire.ts";

const PKG = "@modelcontextprotocol/server-memory";
const NPX = ["-y", PKG];
/** Warming installs the package from the registry when this machine's npm cache lacks it. */
const WARM_MS = 180_000;
const T = 90_000;

beforeAll(async () => {
  const warm = Bun.spawn(["npx", "--yes", `--package=${PKG}`, "--", "node", "-e", "0"], { stdout: "ignore", stderr: "pipe" });
  const err = new Response(warm.stderr).text();
  if ((await warm.exited) !== 0) throw new Error(`could not warm npm's cache with ${PKG}: ${await err}`);
}, WARM_MS);

afterEach(closeSdkClients);
afterAll(cleanup);

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The daemon's descendants that are npm, npx or a shell: the wrapper this feature removes. npm renames itself
 * ("npm exec PKG" in one cmdline string), so the whole command line is read, not argv[0] alone.
 */
function wrappers(root: number): string[] {
  return descendants(root)
    .map((pid) => cmdline(pid).join(" "))
    .filter((line) => {
      const [prog = "", script = ""] = line.split(" ");
      return ["npm", "npx", "sh", "bash", "dash"].includes(path.basename(prog)) || /\/np[mx]-cli\.js$/.test(script);
    });
}

/** A daemon serving server-memory as `npx -y` with its graph in the test's dir; `extra` adds keys. */
async function memoryDaemon(extra: Record<string, unknown> = {}): Promise<{ d: Daemon; socket: string; ctl: string; dir: string; configPath: string }> {
  const dir = tempDir();
  const cfg = writeConfig(
    dir,
    { mem: { cmd: "npx", args: NPX, env: { MEMORY_FILE_PATH: path.join(dir, "memory.jsonl") }, ...extra } },
    { status_socket: path.join(dir, "d.sock") },
  );
  const d = await startDaemon(cfg.configPath, [], { timeoutMs: 20_000 });
  return { d, socket: cfg.sockets.mem!, ctl: path.join(dir, "d.sock"), dir, configPath: cfg.configPath };
}

const running = (ctl: string, notPid: number | null = null) =>
  waitFor(
    async () => {
      const s = await serverStatus(ctl, "mem");
      return s.state === "running" && s.pid !== null && s.pid !== notPid ? s : null;
    },
    60_000,
    "server-memory running",
    50,
  );

describe("npx -y server-memory under the daemon", () => {
  test(
    "runs as node BIN with no npm/npx/sh wrapper, answers, and keeps its data across --restart-service (with and without --refresh)",
    async () => {
      const { d, socket, ctl, configPath } = await memoryDaemon();
      const first = await running(ctl);
      expect(first.command[0]).toBe(Bun.which("node")!);
      expect(first.command[1]).toEndWith("/node_modules/.bin/mcp-server-memory");
      expect(first.launch).toStartWith(`npx resolved to ${PKG} `);
      expect(cmdline(first.pid!)).toEqual(first.command);
      expect(wrappers(d.proc.pid)).toEqual([]);
      expect(descendants(d.proc.pid)).toEqual([first.pid!]);

      const c = await connectSdkClient(socket, "npx-mem");
      await c.client.callTool({
        name: "create_entities",
        arguments: { entities: [{ name: "rmcp-mux", entityType: "project", observations: ["runs npx servers without npm"] }] },
      });
      expect(allText(await c.client.callTool({ name: "read_graph", arguments: {} }))).toContain("runs npx servers without npm");

      for (const flags of [[], ["--refresh"]]) {
        const before = (await serverStatus(ctl, "mem")).pid;
        const res = await runCli(["--config", configPath, "--restart-service", "mem", ...flags], 60_000);
        expect(res.code).toBe(0);
        const after = await running(ctl, before);
        expect(after.command).toEqual(first.command);
        expect(wrappers(d.proc.pid)).toEqual([]);
        expect(descendants(d.proc.pid)).toEqual([after.pid!]);
        // The same client, still connected: the daemon replays its handshake to the new process.
        expect(allText(await c.client.callTool({ name: "read_graph", arguments: {} }))).toContain("runs npx servers without npm");
      }
      expect(d.countStderr(/resolved in \d+ ms/)).toBe(2); // the start and --refresh, not the plain restart

      // A reload that leaves the server unchanged keeps its child but asks npm again for the next one.
      const pid = (await serverStatus(ctl, "mem")).pid;
      d.proc.kill("SIGHUP");
      await waitFor(() => d.countStderr(/resolved in \d+ ms/) === 3, 30_000, "a third resolution after SIGHUP");
      expect(d.countStderr(/reload: unchanged mem/)).toBe(1);
      expect((await serverStatus(ctl, "mem")).pid).toBe(pid);
    },
    T,
  );

  test(
    'launch = "as-written" keeps npm exec as the server\'s parent, and the server still answers',
    async () => {
      const { d, socket, ctl } = await memoryDaemon({ launch: "as-written" });
      const s = await running(ctl);
      expect(s.command).toEqual(["npx", ...NPX]);
      expect(s.launch).toBeUndefined();
      await waitFor(() => wrappers(d.proc.pid).some((w) => w.startsWith("npm exec")), 30_000, "npm exec under the daemon");
      const c = await connectSdkClient(socket, "npx-mem-as-written");
      const tools = await c.client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain("read_graph");
    },
    T,
  );

  test(
    "a resolved bin that disappears is resolved again at the next start (here: from a local project to npm's cache)",
    async () => {
      // A project folder with its own copy of the package: npx prefers it, so the first resolution points here.
      const project = tempDir();
      const pkgDir = path.join(project, "node_modules", PKG);
      mkdirSync(path.join(pkgDir, "dist"), { recursive: true });
      mkdirSync(path.join(project, "node_modules", ".bin"));
      writeFileSync(path.join(pkgDir, "package.json"), JSON.stringify({ name: PKG, version: "0.0.1-local", bin: { "mcp-server-memory": "dist/index.js" } }));
      writeFileSync(path.join(pkgDir, "dist/index.js"), "#!/usr/bin/env node\nprocess.stdin.resume();\n", { mode: 0o755 });
      symlinkSync(`../${PKG}/dist/index.js`, path.join(project, "node_modules", ".bin", "mcp-server-memory"));

      const { d, ctl, configPath } = await memoryDaemon({ cwd: project });
      const local = await running(ctl);
      expect(local.command[1]).toBe(path.join(project, "node_modules/.bin/mcp-server-memory"));
      expect(local.launch).toContain("0.0.1-local");

      renameSync(path.join(project, "node_modules"), path.join(project, "gone"));
      const res = await runCli(["--config", configPath, "--restart-service", "mem"], 60_000);
      expect(res.code).toBe(0);
      const cached = await running(ctl, local.pid);
      expect(cached.command[1]).not.toContain(project);
      expect(cached.command[1]).toEndWith("/node_modules/.bin/mcp-server-memory");
      expect(d.countStderr(/mcp-server-memory is gone; asking npm for @modelcontextprotocol\/server-memory again/)).toBe(1);
      expect(wrappers(d.proc.pid)).toEqual([]);
    },
    T,
  );
});
