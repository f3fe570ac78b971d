/**
 * Client slots belong to busy clients, and connections have a limit of their own:
 *  - 8 idle SDK 1.x sessions plus a 9th with the default limits (max_active_clients 5): the 9th is answered at once;
 *  - past max_connections a connection is refused at once with a JSON-RPC error naming the key, and closed;
 *  - the proxy says so in one line, does not retry, and answers the host's initialize with that error.
 */
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { BUN, daemonStatus, isResponseTo, PROXY, RawClient, REPO, resultText, startDaemon, trackPid, writeConfig } from "./harness.ts";
import { connectSdkClient, useSdkSuite } from "./wire.ts";

useSdkSuite();

describe("busy-client slots with real clients", () => {
  test(
    "8 idle SDK sessions plus a 9th, default limits: the 9th's tools/list is answered at once, all 8 still connected",
    async () => {
      // the fixture server with no limit keys: max_active_clients and max_connections are the defaults
      const cfg = writeConfig(undefined, { s: {} });
      expect(cfg.servers.s).not.toHaveProperty("max_active_clients");
      await startDaemon(cfg.configPath);
      const ctl = path.join(cfg.dir, "daemon.sock");
      const idle = await Promise.all(Array.from({ length: 8 }, (_, i) => connectSdkClient(cfg.sockets.s!, `idle-${i}`)));
      const before = (await daemonStatus(ctl)).servers[0]!;
      expect(before.clients).toEqual({ connected: 8, active: 0, waiting: 0, max: 5, versions: { [LATEST_PROTOCOL_VERSION]: 8 } });

      const ninth = await connectSdkClient(cfg.sockets.s!, "ninth");
      const t0 = performance.now();
      // with connection-bound slots this waited for request_timeout_ms (10 s here) and then failed
      const tools = await ninth.client.listTools(undefined, { timeout: 5000 });
      const ms = performance.now() - t0;
      expect(tools.tools.map((t) => t.name)).toContain("echo");
      expect(ms).toBeLessThan(5000);
      // nothing freed a slot meanwhile: all 8 idle sessions are still connected, and nothing waited
      expect(idle.every((c) => !c.tap.closed)).toBe(true);
      const after = (await daemonStatus(ctl)).servers[0]!;
      expect(after.clients).toMatchObject({ connected: 9, waiting: 0 });
      // and every idle session is still served too
      const r = await idle[0]!.client.callTool({ name: "echo", arguments: { text: "still here" } }, undefined, { timeout: 5000 });
      expect((r.content as any)[0].text).toBe("still here");
    },
    60_000,
  );
});

describe("max_connections", () => {
  test(
    "past max_connections a connection gets an error naming the key at once and is closed; a freed place is taken again",
    async () => {
      const cfg = writeConfig(undefined, { s: { max_connections: 2 } });
      await startDaemon(cfg.configPath);
      const a = await RawClient.connect(cfg.sockets.s!);
      const b = await RawClient.connect(cfg.sockets.s!);
      await a.initialize();
      await b.initialize();
      const c = await RawClient.connect(cfg.sockets.s!);
      const refusal = await c.next(isResponseTo(null), 3000, "the refusal");
      expect(refusal.msg.error?.code).toBe(-32603);
      expect(refusal.msg.error?.message).toContain("max_connections");
      expect(refusal.msg.error?.data).toMatchObject({ reason: "connection_limit", maxConnections: 2 });
      await c.closed; // closed by the daemon, not by us
      // the two connected clients are unaffected
      expect(resultText(await a.callTool("echo", { text: "a" }))).toBe("a");
      await b.close();
      const d = await RawClient.connect(cfg.sockets.s!);
      await d.initialize();
      expect(resultText(await d.callTool("echo", { text: "d" }))).toBe("d");
    },
    30_000,
  );

  test(
    "a refused proxy prints one line naming the limit, does not retry, and answers the host's initialize with the error",
    async () => {
      const cfg = writeConfig(undefined, { s: { max_connections: 1 } });
      const daemon = await startDaemon(cfg.configPath);
      const holder = await RawClient.connect(cfg.sockets.s!);
      await holder.initialize();
      // the SDK host sees its initialize fail with the reason
      const err = await connectSdkClient(cfg.sockets.s!, "refused").then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err).toContain("max_connections");
      expect(err).toContain("rmcp-mux-proxy: the daemon refused this session, not retrying");
      expect(err).not.toContain("reconnected");
      // a bare proxy: one stderr line, the initialize answered with the error, and it exits (so it cannot loop)
      const proxy = Bun.spawn([BUN, PROXY, "--socket", cfg.sockets.s!], { cwd: REPO, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
      trackPid(proxy.pid);
      proxy.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "h", version: "1" } } })}\n`);
      proxy.stdin.flush();
      expect(await proxy.exited).toBe(1);
      const out = (await new Response(proxy.stdout).text()).trim().split("\n");
      const errLines = (await new Response(proxy.stderr).text()).trim().split("\n");
      expect(out).toHaveLength(1);
      const answer = JSON.parse(out[0]!);
      expect(answer.id).toBe(1);
      expect(answer.error.message).toContain("max_connections");
      expect(answer.error.data.reason).toBe("connection_limit");
      expect(errLines).toHaveLength(1);
      expect(errLines[0]).toMatch(/^rmcp-mux-proxy: the daemon refused this session, not retrying: .*max_connections/);
      expect(daemon.countStderr(/refused a connection/)).toBeGreaterThanOrEqual(1);
      expect(holder.isClosed).toBe(false);
    },
    30_000,
  );
});
