/**
 * Out of file descriptors: under `prlimit --nofile=128:128`, 300 connection attempts must not make the daemon spin
 * (Bun's accept loop retries EMFILE without end), an existing client keeps being answered, and once connections
 * close the daemon accepts again. The same for the HTTP front's TCP port.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cleanup, RawClient, type RpcMessage, resultText, startDaemon, tempDir, waitFor, writeConfig } from "./harness.ts";

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
async function flood(to: string | { port: number }, n: number): Promise<{ open: Array<{ end(): void }>; failed: number }> {
  const open: Array<{ end(): void }> = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      try {
        const socket = { data() {}, error() {} };
        open.push(await (typeof to === "string" ? Bun.connect({ unix: to, socket }) : Bun.connect({ hostname: "127.0.0.1", port: to.port, socket })));
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

  test(
    "the HTTP front too: under prlimit --nofile=128:128, 300 TCP connections: low CPU, a session answered, serving again after they close",
    async () => {
      const dir = tempDir();
      const cfg = writeConfig(dir, { s: {} }, { http: { listen: "127.0.0.1:0", token_file: `${dir}/http-token` } });
      const d = await startDaemon(cfg.configPath, [], { wrap: [PRLIMIT!, "--nofile=128:128"] });
      const pid = d.proc.pid;
      const base = /http: listening on (\S+)\/mcp/.exec(await d.waitForStderr(/http: listening on (\S+)\/mcp/))![1]!;
      const port = Number(new URL(base).port);
      const token = readFileSync(`${dir}/http-token`, "utf8").trim();
      const post = (body: string, sid?: string) =>
        fetch(`${base}/mcp/s`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${token}`,
            "Content-Type": "application/json",
            Accept: "application/json, text/event-stream",
            ...(sid ? { "Mcp-Session-Id": sid } : {}),
          },
          body,
        });
      const init = await post('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}');
      expect(init.status).toBe(200);
      const sid = init.headers.get("mcp-session-id") as string;
      await init.text();

      const { open, failed } = await flood({ port }, 300);
      await d.waitForStderr(/file descriptors open \(RLIMIT_NOFILE\): not accepting connections/, 10_000);
      expect(open.length + failed).toBe(300);

      const t0 = cpuTicks(pid);
      const w0 = performance.now();
      const more = flood({ port }, 50);
      await Bun.sleep(2000); // the measurement window itself, not synchronisation
      const ticks = cpuTicks(pid) - t0;
      const seconds = (performance.now() - w0) / 1000;
      expect(ticks).toBeLessThan(0.25 * HZ * seconds);
      const extra = await more;

      for (const s of [...open, ...extra.open]) s.end();
      await d.waitForStderr(/accepting connections again/, 10_000);
      const call = await waitFor(
        async () => post('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"after"}}}', sid).catch(() => undefined),
        10_000,
        "the front serving again",
      );
      expect(resultText((await call.json()) as RpcMessage)).toBe("after");
    },
    60_000,
  );
});
