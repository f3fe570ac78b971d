/**
 * Daemon command line: --only / --except start subsets; an unknown server name fails fast, naming it.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import {
  canConnect,
  cleanup,
  RawClient,
  readPids,
  resultText,
  runCli,
  startDaemon,
  tempDir,
  writeConfig,
} from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

function threeServers() {
  const dir = tempDir();
  const pidfiles = { a: path.join(dir, "a.pids"), b: path.join(dir, "b.pids"), c: path.join(dir, "c.pids") };
  const cfg = writeConfig(dir, {
    a: { env: { FIXTURE_PIDFILE: pidfiles.a } },
    b: { env: { FIXTURE_PIDFILE: pidfiles.b } },
    c: { env: { FIXTURE_PIDFILE: pidfiles.c } },
  });
  return { cfg, pidfiles };
}

async function roundTrip(sock: string): Promise<void> {
  const c = await RawClient.connect(sock);
  await c.initialize();
  expect(resultText(await c.callTool("echo", { text: "up" }))).toBe("up");
  await c.close();
}

describe("cli subsets", () => {
  test("--only a starts only a", async () => {
    const { cfg, pidfiles } = threeServers();
    const d = await startDaemon(cfg.configPath, ["--only", "a"], { waitSockets: [cfg.sockets.a!] });
    await roundTrip(cfg.sockets.a!);
    expect(await canConnect(cfg.sockets.b!)).toBe(false);
    expect(await canConnect(cfg.sockets.c!)).toBe(false);
    expect(existsSync(cfg.sockets.b!)).toBe(false);
    expect(readPids(pidfiles.a)).toHaveLength(1);
    expect(readPids(pidfiles.b)).toEqual([]);
    expect(readPids(pidfiles.c)).toEqual([]);
    expect(await d.stop()).toBe(0);
  });

  test("--except b starts every server but b", async () => {
    const { cfg, pidfiles } = threeServers();
    const d = await startDaemon(cfg.configPath, ["--except", "b"], { waitSockets: [cfg.sockets.a!, cfg.sockets.c!] });
    await roundTrip(cfg.sockets.a!);
    await roundTrip(cfg.sockets.c!);
    expect(await canConnect(cfg.sockets.b!)).toBe(false);
    expect(readPids(pidfiles.b)).toEqual([]);
    expect(await d.stop()).toBe(0);
  });

  for (const flag of ["--only", "--except"]) {
    test(`${flag} with an unknown name exits non-zero with a message naming it`, async () => {
      const { cfg, pidfiles } = threeServers();
      const r = await runCli(["--config", cfg.configPath, flag, "no-such-server"], 10_000);
      expect(r.timedOut).toBe(false);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull();
      expect(r.stderr + r.stdout).toContain("no-such-server");
      for (const s of Object.values(cfg.sockets)) expect(existsSync(s)).toBe(false);
      expect(readPids(pidfiles.a)).toEqual([]);
    });
  }
});
