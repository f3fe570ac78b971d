/**
 * Sockets are bound while the config is checked in its child process, so clients can connect at
 * once; nothing is spawned before the check passes, and a refused config or a stop signal in that
 * window leaves no socket behind.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { BUN, CLI, cleanup, RawClient, socketFilesIn, tempDir, trackPid, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

function spawnDaemon(configPath: string) {
  const p = Bun.spawn([BUN, CLI, "--config", configPath], { stdout: "ignore", stderr: "pipe" });
  trackPid(p.pid);
  return p;
}

/** The pid of `parent`'s `check` child, if it has one now (from /proc). */
function checkChildOf(parent: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== parent) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.includes("check")) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describe("early binding", () => {
  test("a client that connects before the config check has finished is served once it has", async () => {
    const cfg = writeConfig(undefined, { a: {} });
    const p = spawnDaemon(cfg.configPath);
    // Connect as soon as the socket exists (the check child is still validating at that point).
    await waitFor(() => existsSync(cfg.sockets.a!), 10_000, "socket bound");
    const c = await RawClient.connect(cfg.sockets.a!);
    const init = await c.initialize({ timeoutMs: 10_000 });
    expect((init.result as { serverInfo: { name: string } }).serverInfo.name).toBe("fixture");
    const echo = await c.request("tools/call", { name: "echo", arguments: { text: "early" } }, 1, 10_000);
    expect((echo.result as { content: Array<{ text: string }> }).content[0]!.text).toBe("early");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(socketFilesIn(cfg.dir)).toEqual([]);
  });

  test("a config the check refuses leaves no socket behind, and spawns nothing", async () => {
    const dir = tempDir();
    const configPath = path.join(dir, "mux.toml");
    const pidfile = path.join(dir, "pids");
    writeFileSync(
      configPath,
      `[servers.a]\nsocket = "${dir}/a.sock"\ncmd = "${BUN}"\nargs = ["${path.join(import.meta.dir, "../fixtures/fixture-server.ts")}"]\nenv = { FIXTURE_PIDFILE = "${pidfile}" }\nbogus_key = 1\n`,
    );
    const p = spawnDaemon(configPath);
    const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown key "bogus_key"');
    expect(socketFilesIn(dir)).toEqual([]);
    expect(existsSync(pidfile)).toBe(false);
  });

  test("SIGTERM while the config is being checked: exit 0, every early socket removed, no child", async () => {
    // The config is a FIFO: the daemon's quick read gets the text once, and the check child then blocks on its
    // own read until a writer comes, which none does. So the signal lands inside the check, every time.
    const written = writeConfig(undefined, { a: {}, b: {} });
    const fifo = path.join(written.dir, "fifo.toml");
    execFileSync("mkfifo", [fifo]);
    const text = readFileSync(written.configPath, "utf8");
    const p = spawnDaemon(fifo);
    await writeFile(fifo, text); // opens once the daemon reads; resolves when it has the text
    const cfg = written;
    await waitFor(() => existsSync(cfg.sockets.a!) && existsSync(cfg.sockets.b!), 10_000, "sockets bound");
    await waitFor(() => checkChildOf(p.pid) !== undefined, 10_000, "the check child blocked on its read");
    p.kill("SIGTERM");
    const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    expect(code).toBe(0);
    expect(stderr).not.toContain("started pid"); // it was stopped inside the check window, before any spawn
    expect(socketFilesIn(cfg.dir)).toEqual([]);
  });
});
