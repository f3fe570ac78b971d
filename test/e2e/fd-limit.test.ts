/**
 * Out of file descriptors: under `prlimit --nofile=128:128`, 300 connection attempts must not make the daemon spin
 * (Bun's accept loop retries EMFILE without end), an existing client keeps being answered, and once connections
 * close the daemon accepts again.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cleanup, RawClient, resultText, startDaemon, waitFor, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

const PRLIMIT = Bun.which("prlimit");
const HZ = 100; // USER_HZ on Linux

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after the command name (which may contain spaces) start at ")"
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** Opens up to `n` connections as fast as they are taken; failures (refused, reset) are counted, not thrown. */
async function flood(path: string, n: number): Promise<{ open: Array<{ end(): void }>; failed: number }> {
  const open: Array<{ end(): void }> = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      try {
        open.push(await Bun.connect({ unix: path, socket: { data() {}, error() {} } }));
      } catch {
        failed++;
      }
    }),
  );
  return { open, failed };
}

describe.skipIf(PRLIMIT === null || process.platform !== "linux")("file descriptor limit (needs prlimit from util-linux, Linux /proc)", () => {
  test(
    "under prlimit --nofile=128:128, 300 connections: low CPU, an existing client answered, accepting again after they close",
    async () => {
      const cfg = writeConfig(undefined, { s: {} });
      const d = await startDaemon(cfg.configPath, [], { wrap: [PRLIMIT!, "--nofile=128:128"] });
      const pid = d.proc.pid;
      expect(readFileSync(`/proc/${pid}/limits`, "utf8")).toMatch(/Max open files\s+128\s+128/);
      const a = await RawClient.connect(cfg.sockets.s!);
      await a.initialize();
      expect(resultText(await a.callTool("echo", { text: "before" }))).toBe("before");

      const { open, failed } = await flood(cfg.sockets.s!, 300);
      await d.waitForStderr(/file descriptors open \(RLIMIT_NOFILE\): not accepting connections/, 10_000);
      // what the daemon did not accept was refused or reset, never left hanging on an accept loop
      expect(open.length + failed).toBe(300);

      // CPU over 2 s of the daemon sitting at its limit with connections still arriving
      const t0 = cpuTicks(pid);
      const w0 = performance.now();
      const more = flood(cfg.sockets.s!, 50);
      // the existing client is answered meanwhile
      expect(resultText(await a.callTool("echo", { text: "during" }, "during", 5000))).toBe("during");
      await Bun.sleep(2000); // the measurement window itself, not synchronisation
      const ticks = cpuTicks(pid) - t0;
      const seconds = (performance.now() - w0) / 1000;

      // spinning on EMFILE burns ~100 ticks a second; an idle daemon a handful
      expect(ticks).toBeLessThan(0.25 * HZ * seconds);
      const extra = await more;
      expect(d.countStderr(/not accepting connections/)).toBe(1); // logged once per episode

      for (const s of [...open, ...extra.open]) s.end();
      await d.waitForStderr(/accepting connections again/, 10_000);
      const b = await waitFor(
        async () => RawClient.connect(cfg.sockets.s!).catch(() => undefined),
        10_000,
        "a new connection accepted",
      );
      await b.initialize();
      expect(resultText(await b.callTool("echo", { text: "after" }))).toBe("after");
      expect(resultText(await a.callTool("echo", { text: "a still" }))).toBe("a still");
    },
    60_000,
  );
});
