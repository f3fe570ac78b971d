/**
 * `share = "auto"` through a real daemon: the router's hints (a stateful tool name in tools/list, an x-mux
 * declaration in the initialize result) decide where later clients go, `share = "shared"` overrides the name
 * rule, and a `session-aware` server gets one process with each client's session id and workspace in `_meta`.
 * Processes are counted in /proc, not taken from the daemon's word.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BUN, childrenOf, cleanup, daemonStatus, pidAlive, REPO, startDaemon, tempDir, writeConfig } from "./harness.ts";
import { allText, closeSdkClients, connectSdkClient, takeWireViolations, type SdkClient } from "./wire.ts";

const BROWSER = path.join(REPO, "test/fixtures/browser-fixture.ts");
const T = { timeout: 15_000 };

afterEach(async () => {
  const v = takeWireViolations();
  await closeSdkClients();
  expect(v).toEqual([]);
});
afterAll(cleanup);

async function started(share: string, env: Record<string, string> = {}) {
  const cfg = writeConfig(undefined, { web: { cmd: BUN, args: [BROWSER], share, env } });
  const daemon = await startDaemon(cfg.configPath);
  const ctl = path.join(cfg.dir, "daemon.sock");
  const sharing = async () => (await daemonStatus(ctl)).servers.find((x) => x.name === "web")!.sharing!;
  return { socket: cfg.sockets.web!, daemon, sharing };
}

const snap = async (c: SdkClient) => JSON.parse(allText(await c.client.callTool({ name: "browser_snapshot", arguments: {} }, undefined, T)));
const go = (c: SdkClient, url: string) => c.client.callTool({ name: "browser_navigate", arguments: { url } }, undefined, T);

describe("share = auto: the server's signs decide", () => {
  test("browser_* tool names: per client from the second client on; each keeps its page; nothing left after", async () => {
    const { socket, daemon, sharing } = await started("auto");
    const one = await connectSdkClient(socket, "one");
    expect((await sharing()).decided).toBe(false);
    await one.client.listTools(undefined, T); // the first instance shows its tools: the decision
    const s = await sharing();
    expect([s.policy, s.decided, s.reason]).toEqual(["per-client", true, expect.stringContaining("browser_navigate")]);
    const two = await connectSdkClient(socket, "two");
    await go(one, "https://one.example/");
    await go(two, "https://two.example/");
    const [a, b] = [await snap(one), await snap(two)];
    expect([a.url, b.url]).toEqual(["https://one.example/", "https://two.example/"]);
    expect(a.pid).not.toBe(b.pid);
    expect(childrenOf(daemon.proc.pid)).toEqual([a.pid, b.pid].sort((x, y) => x - y));
    await closeSdkClients();
    await daemon.waitForStderrCount(/\[web\] instance client:\d+ stopped: its last client left/, 2, 10_000);
    expect([a.pid, b.pid].filter(pidAlive)).toEqual([]);
    expect(childrenOf(daemon.proc.pid)).toEqual([]);
  }, 60_000);

  test("x-mux sharing = isolated in the initialize result: per client without a tools/list", async () => {
    const { socket, daemon, sharing } = await started("auto", { FIXTURE_XMUX: "isolated" });
    const one = await connectSdkClient(socket, "one");
    expect((await sharing()).reason).toContain("isolated");
    const two = await connectSdkClient(socket, "two");
    await go(one, "https://one.example/");
    await go(two, "https://two.example/");
    const [a, b] = [await snap(one), await snap(two)];
    expect([a.url, b.url]).toEqual(["https://one.example/", "https://two.example/"]);
    expect(a.pid).not.toBe(b.pid);
    await closeSdkClients();
    await daemon.waitForStderrCount(/\[web\] instance client:\d+ stopped: its last client left/, 2, 10_000);
    expect(childrenOf(daemon.proc.pid)).toEqual([]);
  }, 60_000);

  test("share = shared overrides the name rule: one process, one page for everyone", async () => {
    const { socket, daemon, sharing } = await started("shared");
    const one = await connectSdkClient(socket, "one");
    await one.client.listTools(undefined, T);
    const two = await connectSdkClient(socket, "two");
    await two.client.listTools(undefined, T);
    await go(one, "https://one.example/");
    const [a, b] = [await snap(one), await snap(two)];
    expect(b.url).toBe("https://one.example/"); // shared state, as configured
    expect(a.pid).toBe(b.pid);
    expect(childrenOf(daemon.proc.pid)).toEqual([a.pid]);
    expect(await sharing()).toMatchObject({ share: "shared", policy: "shared", decided: true });
  }, 60_000);

  test("x-mux sharing = session-aware: one process; each request names its client's session and workspace in _meta", async () => {
    const base = realpathSync(tempDir());
    const [dirA, dirB] = [path.join(base, "a"), path.join(base, "b")];
    mkdirSync(dirA);
    mkdirSync(dirB);
    const { socket, daemon, sharing } = await started("auto", { FIXTURE_XMUX: "session-aware" });
    const one = await connectSdkClient(socket, "one", { cwd: dirA });
    const two = await connectSdkClient(socket, "two", { cwd: dirB });
    expect((await sharing()).policy).toBe("session-aware");
    const [a, b] = [await snap(one), await snap(two)];
    expect(a.pid).toBe(b.pid);
    expect(childrenOf(daemon.proc.pid)).toEqual([a.pid]);
    expect(a.meta["io.rmcp-mux/workspace"]).toBe(pathToFileURL(dirA).href);
    expect(b.meta["io.rmcp-mux/workspace"]).toBe(pathToFileURL(dirB).href);
    expect(typeof a.meta["io.rmcp-mux/sessionId"]).toBe("string");
    expect(a.meta["io.rmcp-mux/sessionId"]).not.toBe(b.meta["io.rmcp-mux/sessionId"]);
    // The same client keeps its session id from one request to the next.
    expect((await snap(one)).meta["io.rmcp-mux/sessionId"]).toBe(a.meta["io.rmcp-mux/sessionId"]);
  }, 60_000);
});
