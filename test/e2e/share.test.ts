/**
 * Sharing with real processes: server-filesystem confined per root set (one process per workspace, counted),
 * the fixture's instances running in their proxy's folder, a stateful browser-like fixture per client with
 * nothing left after its clients leave, and the max_instances refusal answered at once. Then `share = "auto"`:
 * the router's hints (a stateful tool name, an x-mux declaration) decide where later clients go, `share =
 * "shared"` overrides the name rule, and a session-aware server gets each client's session and workspace in `_meta`.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerStatus } from "../../src/control/protocol.ts";
import { BUN, childrenOf, cleanup, type Daemon, daemonStatus, pidAlive, RawClient, REPO, startDaemon, tempDir, writeConfig } from "./harness.ts";
import { allText, closeSdkClients, connectSdkClient, type SdkClient, takeWireViolations } from "./wire.ts";

const FILESYSTEM = path.join(REPO, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
const BROWSER = path.join(REPO, "test/fixtures/browser-fixture.ts");
const T = { timeout: 15_000 };

afterEach(async () => {
  const v = takeWireViolations();
  await closeSdkClients();
  expect(v).toEqual([]);
});
afterAll(cleanup);

async function started(servers: Parameters<typeof writeConfig>[1]) {
  const cfg = writeConfig(undefined, servers);
  const daemon = await startDaemon(cfg.configPath);
  return { cfg, daemon, ctl: path.join(cfg.dir, "daemon.sock") };
}

async function sharing(ctl: string, name: string): Promise<NonNullable<ServerStatus["sharing"]>> {
  const s = (await daemonStatus(ctl)).servers.find((x) => x.name === name);
  if (s?.sharing === undefined) throw new Error(`no sharing status for ${name}`);
  return s.sharing;
}

const snap = async (c: SdkClient) => JSON.parse(allText(await c.client.callTool({ name: "browser_snapshot", arguments: {} }, undefined, T)));
const go = (c: SdkClient, url: string) => c.client.callTool({ name: "browser_navigate", arguments: { url } }, undefined, T);

/** Two clients of the browser fixture each open a page: each must see its own, from its own process. */
async function separatePages(one: SdkClient, two: SdkClient) {
  await go(one, "https://one.example/");
  await go(two, "https://two.example/");
  const [a, b] = [await snap(one), await snap(two)];
  expect([a.url, b.url]).toEqual(["https://one.example/", "https://two.example/"]);
  expect(a.pid).not.toBe(b.pid);
  return [a.pid as number, b.pid as number].sort((x, y) => x - y);
}

/** The per-client processes have ended once their clients left: the daemon says so and /proc agrees. */
async function noneLeft(daemon: Daemon, pids: number[]) {
  await closeSdkClients();
  await daemon.waitForStderrCount(/\[web\] instance client:\d+ stopped: its last client left/, 2, 10_000);
  expect(pids.filter(pidAlive)).toEqual([]);
  expect(childrenOf(daemon.proc.pid)).toEqual([]);
}

describe("share: real servers", () => {
  test("server-filesystem per workspace: each client confined to its roots; 3 + 2 clients on two root sets = 2 processes", async () => {
    const base = realpathSync(tempDir());
    const dirA = path.join(base, "ws-a");
    const dirB = path.join(base, "ws-b");
    mkdirSync(dirA);
    mkdirSync(dirB);
    writeFileSync(path.join(dirA, "a.txt"), "secret of A");
    writeFileSync(path.join(dirB, "b.txt"), "secret of B");
    const { cfg, daemon, ctl } = await started({ fs: { cmd: BUN, args: [FILESYSTEM], share: "per-workspace", request_timeout_ms: 15_000 } });
    const socket = cfg.sockets.fs!;
    const rootsA = () => [{ uri: pathToFileURL(dirA).href, name: "A" }];
    const rootsB = () => [{ uri: pathToFileURL(dirB).href, name: "B" }];
    const updated = /\[fs\] stderr: Updated allowed directories from MCP roots/;

    const a1 = await connectSdkClient(socket, "a1", { roots: rootsA });
    await daemon.waitForStderrCount(updated, 1, 15_000); // the first process knows A
    const b1 = await connectSdkClient(socket, "b1", { roots: rootsB });
    await daemon.waitForStderrCount(updated, 2, 15_000); // its own process, told B
    const rest = await Promise.all([
      connectSdkClient(socket, "a2", { roots: rootsA }),
      connectSdkClient(socket, "a3", { roots: rootsA }),
      connectSdkClient(socket, "b2", { roots: rootsB }),
    ]);
    const [a2, a3, b2] = rest as [typeof a1, typeof a1, typeof a1];

    const read = (c: typeof a1, file: string) => c.client.callTool({ name: "read_text_file", arguments: { path: file } }, undefined, T);
    for (const c of [a1, a2, a3]) {
      expect(allText(await read(c, path.join(dirA, "a.txt")))).toBe("secret of A");
      const other = await read(c, path.join(dirB, "b.txt"));
      expect(other.isError).toBe(true);
      expect(allText(other)).toContain("Access denied");
    }
    for (const c of [b1, b2]) {
      expect(allText(await read(c, path.join(dirB, "b.txt")))).toBe("secret of B");
      const other = await read(c, path.join(dirA, "a.txt"));
      expect(other.isError).toBe(true);
      expect(allText(other)).toContain("Access denied");
    }

    const s = await sharing(ctl, "fs");
    expect(s.policy).toBe("per-workspace");
    expect(s.instances.map((i) => [i.key, i.clients, i.cwd]).sort()).toEqual([
      [pathToFileURL(dirA).href, 3, dirA],
      [pathToFileURL(dirB).href, 2, dirB],
    ]);
    const pids = s.instances.map((i) => i.pid as number).sort((x, y) => x - y);
    expect(pids.every(pidAlive)).toBe(true);
    expect(childrenOf(daemon.proc.pid)).toEqual(pids); // exactly two processes, and they are these
  }, 60_000);

  test("per-workspace by the proxy's folder: each instance runs in its folder", async () => {
    const base = realpathSync(tempDir());
    const dirs = ["one", "two"].map((n) => path.join(base, n));
    for (const d of dirs) mkdirSync(d);
    const { cfg, daemon, ctl } = await started({ fx: { share: "per-workspace" } });
    const socket = cfg.sockets.fx!;
    const clients = [];
    for (const d of [dirs[0]!, dirs[1]!, dirs[0]!]) clients.push(await connectSdkClient(socket, `in-${path.basename(d)}`, { cwd: d }));
    const stats = await Promise.all(clients.map(async (c) => JSON.parse(allText(await c.client.callTool({ name: "stats", arguments: {} }, undefined, T)))));
    expect(stats.map((s) => s.cwd)).toEqual([dirs[0]!, dirs[1]!, dirs[0]!]);
    expect(stats[0].pid).toBe(stats[2].pid);
    expect(stats[0].pid).not.toBe(stats[1].pid);
    const s = await sharing(ctl, "fx");
    expect(s.instances.map((i) => [i.key, i.cwd, i.clients])).toEqual([
      [pathToFileURL(dirs[0]!).href, dirs[0]!, 2],
      [pathToFileURL(dirs[1]!).href, dirs[1]!, 1],
    ]);
    expect(childrenOf(daemon.proc.pid)).toEqual([stats[0].pid, stats[1].pid].sort((x, y) => x - y));
  }, 60_000);

  test("a stateful browser-like server per client: each keeps its page; no process is left once the clients leave", async () => {
    // Under share = "auto" the router's hint (browser_* tool names) gives the same placement; here it is set.
    const { cfg, daemon, ctl } = await started({ web: { cmd: BUN, args: [BROWSER], share: "per-client" } });
    const socket = cfg.sockets.web!;
    const one = await connectSdkClient(socket, "one");
    const two = await connectSdkClient(socket, "two");
    const pids = await separatePages(one, two);
    expect(childrenOf(daemon.proc.pid)).toEqual(pids);
    await noneLeft(daemon, pids);
    expect((await sharing(ctl, "web")).instances).toEqual([]);
  }, 60_000);

  test("idle_timeout_ms: a per-workspace process ends once idle; a shared one with the key set ends and comes back", async () => {
    const base = realpathSync(tempDir());
    const { cfg, daemon, ctl } = await started({
      ws: { share: "per-workspace", idle_timeout_ms: 300 },
      one: { share: "shared", idle_timeout_ms: 300 },
    });
    const w = await connectSdkClient(cfg.sockets.ws!, "ws-client", { cwd: base });
    const o = await connectSdkClient(cfg.sockets.one!, "one-client");
    const stats = async (c: typeof w) => JSON.parse(allText(await c.client.callTool({ name: "stats", arguments: {} }, undefined, T)));
    const [wPid, oPid] = [(await stats(w)).pid, (await stats(o)).pid];
    await closeSdkClients();
    await daemon.waitForStderrCount(/\[ws\] instance file:\/\/\S+ stopped: no client for 300 ms \(idle_timeout_ms\)/, 1, 10_000);
    await daemon.waitForStderrCount(/\[one\] instance global stopped: no client for 300 ms \(idle_timeout_ms\)/, 1, 10_000);
    expect([wPid, oPid].filter(pidAlive)).toEqual([]);
    expect(childrenOf(daemon.proc.pid)).toEqual([]);
    const again = await connectSdkClient(cfg.sockets.one!, "one-again");
    const back = await stats(again);
    expect(back.pid).not.toBe(oPid);
    expect((await sharing(ctl, "one")).instances.map((i) => [i.key, i.pid])).toEqual([["global", back.pid]]);
  }, 60_000);

  test("past max_instances a new client is answered at once with an error naming max_instances", async () => {
    const { cfg } = await started({ web: { cmd: BUN, args: [BROWSER], share: "per-client", max_instances: 1 } });
    const first = await connectSdkClient(cfg.sockets.web!, "first");
    expect(first.client.getServerVersion()?.name).toBe("browser-fixture");
    const raw = await RawClient.connect(cfg.sockets.web!);
    raw.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    const answer = await raw.next((r) => (r.msg as any)?.id === 1, 2_000, "the refusal");
    expect((answer.msg as any).error.data.reason).toBe("max_instances");
    expect((answer.msg as any).error.message).toContain("max_instances (1)");
  }, 30_000);
});

/** The browser fixture under one `share` value (with `env` for its x-mux declaration). */
async function browser(share: string, env: Record<string, string> = {}) {
  const { cfg, daemon, ctl } = await started({ web: { cmd: BUN, args: [BROWSER], share, env } });
  return { socket: cfg.sockets.web!, daemon, sharing: () => sharing(ctl, "web") };
}

describe("share = auto: the server's signs decide", () => {
  test("browser_* tool names: per client from the second client on; each keeps its page; nothing left after", async () => {
    const { socket, daemon, sharing } = await browser("auto");
    const one = await connectSdkClient(socket, "one");
    expect((await sharing()).decided).toBe(false);
    await one.client.listTools(undefined, T); // the first instance shows its tools: the decision
    const s = await sharing();
    expect([s.policy, s.decided, s.reason]).toEqual(["per-client", true, expect.stringContaining("browser_navigate")]);
    const two = await connectSdkClient(socket, "two");
    const pids = await separatePages(one, two);
    expect(childrenOf(daemon.proc.pid)).toEqual(pids);
    await noneLeft(daemon, pids);
  }, 60_000);

  test("x-mux sharing = isolated in the initialize result: per client without a tools/list", async () => {
    const { socket, daemon, sharing } = await browser("auto", { FIXTURE_XMUX: "isolated" });
    const one = await connectSdkClient(socket, "one");
    expect((await sharing()).reason).toContain("isolated");
    const two = await connectSdkClient(socket, "two");
    await noneLeft(daemon, await separatePages(one, two));
  }, 60_000);

  test("share = shared overrides the name rule: one process, one page for everyone", async () => {
    const { socket, daemon, sharing } = await browser("shared");
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
    const { socket, daemon, sharing } = await browser("auto", { FIXTURE_XMUX: "session-aware" });
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
