/** The start lock of the daemon on demand, with a stand-in "daemon" (a shell that leaves a marker file). */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { daemonCommand, ensureDaemon, lockPath } from "../../src/proxy/autostart.ts";

const dir = mkdtempSync("/tmp/mxl-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process id that is certainly not running any more. */
function deadPid(): number {
  const p = Bun.spawnSync(["sh", "-c", "echo $$"]);
  return Number(p.stdout.toString());
}

function setup(name: string) {
  const lockDir = path.join(dir, `${name}-locks`);
  const marker = path.join(dir, `${name}.started`);
  const config = path.join(dir, `${name}.toml`);
  // Unreadable as TOML: no control socket to wait for, so the stand-in's marker alone means "answers".
  writeFileSync(config, "= not toml\n");
  const lines: string[] = [];
  // The stand-in appends `--config FILE` like rmcp-mux gets; it only records that it ran.
  const opts = {
    config,
    command: ["sh", "-c", 'echo "$@" >> "$0"; sleep 2', marker],
    answers: async () => existsSync(marker),
    timeoutMs: 10_000,
    stderr: (l: string) => void lines.push(l),
    lockDir,
  };
  return { opts, marker, lockDir, lines };
}

describe("ensureDaemon", () => {
  test("nothing answers: starts the daemon once, with --config, and releases the lock", async () => {
    const s = setup("fresh");
    expect(await ensureDaemon(s.opts)).toBeUndefined();
    expect(await Bun.file(s.marker).text()).toBe(`--config ${s.opts.config}\n`);
    expect(s.lines.filter((l) => l.includes("started"))).toHaveLength(1);
    expect(readdirSync(s.lockDir)).toEqual([]);
  });

  test("a lock left by a proxy that died is broken, and the daemon started", async () => {
    const s = setup("stale");
    writeFileSync(lockPath(s.opts), String(deadPid()));
    expect(await ensureDaemon(s.opts)).toBeUndefined();
    expect(existsSync(s.marker)).toBe(true);
  });

  test("a live holder is waited for, not raced: no second start", async () => {
    const s = setup("held");
    // Held by a live process (this one, as far as the lock can tell), which "starts" the daemon 200 ms later.
    const lock = lockPath(s.opts);
    writeFileSync(lock, String(process.pid));
    setTimeout(() => writeFileSync(s.marker, "started by the holder\n"), 200);
    expect(await ensureDaemon(s.opts)).toBeUndefined();
    expect(await Bun.file(s.marker).text()).toBe("started by the holder\n");
    expect(existsSync(lock)).toBe(true); // not ours to remove
  });
});

describe("daemonCommand", () => {
  test.each([
    ["/opt/bin/rmcp-mux-proxy", "/$bunfs/root/rmcp-mux-proxy", ["/opt/bin/rmcp-mux"]],
    ["/opt/bin/rmcp-mux", "/$bunfs/root/rmcp-mux", ["/opt/bin/rmcp-mux"]],
  ])("compiled %s runs %j", (exe, argv1, cmd) => expect(daemonCommand(exe, argv1)).toEqual(cmd));
  test("from source: bun and the CLI script", () => {
    expect(daemonCommand("/usr/bin/bun", "/repo/src/proxy/main.ts")).toEqual(["/usr/bin/bun", path.resolve(import.meta.dir, "../../src/cli/main.ts")]);
  });
});
