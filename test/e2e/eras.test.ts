/**
 * Both protocol eras through one daemon: the SDK 2.x client (pinned to 2026-07-28, and `auto`) and the SDK 1.x
 * client, against a dual-era SDK 2.x server, a modern-only one, server-everything and a strict legacy server.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import path from "node:path";
import { LATEST_PROTOCOL_VERSION as LEGACY_LATEST } from "@modelcontextprotocol/sdk/types.js";
import { streamLines } from "../../src/runtime/text-lines.ts";
import { BUN, cleanup, PROXY, serverStatus, startDaemon, trackPid, waitFor, writeConfig } from "./harness.ts";
import { closeEraClients, connectLegacy, connectModern, ERA_SERVER, STRICT_LEGACY, text } from "./era-clients.ts";
import { EVERYTHING_SERVER } from "./wire.ts";

setDefaultTimeout(60_000);
afterEach(closeEraClients);
afterAll(async () => {
  await closeEraClients();
  await cleanup();
});

const SERVERS = {
  dual: { cmd: BUN, args: [ERA_SERVER], max_active_clients: 20 },
  modern: { cmd: BUN, args: [ERA_SERVER, "--modern"], max_active_clients: 20 },
};

async function daemonWith(servers: Record<string, Record<string, unknown>>) {
  const cfg = writeConfig(undefined, servers);
  const daemon = await startDaemon(cfg.configPath);
  return { cfg, daemon };
}

describe("a modern client connects", () => {
  for (const server of ["dual", "modern"] as const) {
    test(`pinned to 2026-07-28, to the ${server} fixture, and its _meta reaches the server untouched`, async () => {
      const { cfg } = await daemonWith({ [server]: SERVERS[server] });
      const a = await connectModern(cfg.sockets[server]!, "pinned-A", "pin");
      const r = await a.client.callTool({ name: "echo", arguments: { message: "hi" } });
      expect(text(r)).toBe("echo: hi");
      const who = await a.client.callTool({ name: "whoami", arguments: {} });
      // the request's envelope reaches the server untouched: the dual one (greeted in the 2025 era, bridged)
      // reads it as well
      expect(text(who)).toBe("pinned-A");
      const tools = await a.client.listTools();
      expect(tools.tools.map((t: any) => t.name)).toContain("ask");
    });
  }

  test("in auto mode against a cold lazy server, in under 2 s", async () => {
    const { cfg } = await daemonWith({ modern: { ...SERVERS.modern, lazy_start: true }, warm: SERVERS.modern });
    // the test process's own first connect loads and compiles the SDK's schemas: done once, on another server
    await connectModern(cfg.sockets.warm!, "warm-up", "pin");
    const t0 = performance.now();
    const a = await connectModern(cfg.sockets.modern!, "auto-A", "auto");
    const ms = performance.now() - t0;
    expect(text(await a.client.callTool({ name: "echo", arguments: { message: "auto" } }))).toBe("echo: auto");
    expect(ms).toBeLessThan(2000);
  });

  test("in auto mode, to server-everything (a 2025 server): the mux's discover makes it modern, bridged", async () => {
    const { cfg } = await daemonWith({ everything: EVERYTHING_SERVER });
    const a = await connectModern(cfg.sockets.everything!, "auto-E", "auto");
    expect(text(await a.client.callTool({ name: "echo", arguments: { message: "auto" } }))).toBe("Echo: auto");
    // the session speaks 2026-07-28: its requests carried the envelope (results came back shaped for it)
    const sent = a.received.find((m) => m.result?.content !== undefined);
    expect(sent.result.resultType).toBe("complete");
  });

  test("pinned, to server-everything (a 2025 server) through the bridge", async () => {
    const { cfg } = await daemonWith({ everything: EVERYTHING_SERVER });
    const a = await connectModern(cfg.sockets.everything!, "pinned-E", "pin");
    const r = await a.client.callTool({ name: "echo", arguments: { message: "bridged" } });
    expect(text(r)).toBe("Echo: bridged");
  });

  test("pinned, to a strict legacy server that exits unless initialize comes first: it never exits", async () => {
    const { cfg, daemon } = await daemonWith({ strict: { cmd: BUN, args: [STRICT_LEGACY] } });
    const a = await connectModern(cfg.sockets.strict!, "pinned-S", "pin");
    expect(text(await a.client.callTool({ name: "echo", arguments: { message: "s" } }))).toBe("echo: s");
    const b = await connectLegacy(cfg.sockets.strict!, "legacy-S");
    expect(text(await b.client.callTool({ name: "echo", arguments: { message: "t" } }))).toBe("echo: t");
    expect(daemon.countStderr(/first message was/)).toBe(0);
    expect(daemon.countStderr(/strict-legacy started/)).toBe(1);
  });
});

describe("a 2025 client and a modern client on one modern-only server", () => {
  test("the 2025 client is answered initialize from server/discover and served with its envelope", async () => {
    const { cfg } = await daemonWith({ modern: SERVERS.modern });
    const a = await connectModern(cfg.sockets.modern!, "modern-A", "pin");
    const b = await connectLegacy(cfg.sockets.modern!, "legacy-B");
    expect(b.client.getServerVersion()?.name).toBe("era-modern");
    expect(text(await b.client.callTool({ name: "whoami", arguments: {} }))).toBe("legacy-B");
    expect(text(await a.client.callTool({ name: "whoami", arguments: {} }))).toBe("modern-A");
    // daemon-status shows each client's version (the modern client's session is the one that sent requests;
    // its connect-time discover ran on a sibling process that has left)
    const want = JSON.stringify([[LEGACY_LATEST, 1], ["2026-07-28", 1]].sort());
    const seen = async () =>
      JSON.stringify(Object.entries((await serverStatus(path.join(cfg.dir, "daemon.sock"), "modern")).clients.versions ?? {}).sort());
    await waitFor(async () => (await seen()) === want || null, 5000, "versions in the status");
    expect(await seen()).toBe(want);
  });
});

/** A tools/call through either SDK (the 1.x one takes a result schema second). */
function call(c: { client: any }, name: string, args: Record<string, unknown>, opts: Record<string, unknown> = {}, meta?: Record<string, unknown>) {
  const params = meta === undefined ? { name, arguments: args } : { name, arguments: args, _meta: meta };
  return c.client.getServerVersion !== undefined && c.client.listen === undefined
    ? c.client.callTool(params, undefined, opts)
    : c.client.callTool(params, opts);
}

/** The progress values a client received on the wire, in order. */
const progressOnWire = (c: { received: any[] }) => c.received.filter((m) => m.method === "notifications/progress").map((m) => m.params.progress);

type Pairing = { label: string; server: "dual" | "modern"; a: "modern" | "legacy"; b: "modern" | "legacy" };
const PAIRINGS: Pairing[] = [
  { label: "modern clients, modern-only backend", server: "modern", a: "modern", b: "modern" },
  { label: "modern clients, dual backend (greeted 2025: the bridge)", server: "dual", a: "modern", b: "modern" },
  { label: "2025 clients, modern-only backend (the reverse bridge)", server: "modern", a: "legacy", b: "legacy" },
  { label: "a modern and a 2025 client, modern-only backend", server: "modern", a: "modern", b: "legacy" },
  { label: "a modern and a 2025 client, dual backend", server: "dual", a: "modern", b: "legacy" },
];

const connect = (era: "modern" | "legacy", socket: string, name: string, answer?: string) =>
  era === "modern" ? connectModern(socket, name, "pin", answer) : connectLegacy(socket, name, answer);

for (const p of PAIRINGS) {
  describe(`pairing: ${p.label}`, () => {
    test("tools, and progress only to the caller", async () => {
      const { cfg } = await daemonWith({ s: SERVERS[p.server] });
      const [a, b] = await Promise.all([connect(p.a, cfg.sockets.s!, "A"), connect(p.b, cfg.sockets.s!, "B")]);
      const progA: number[] = [];
      const progB: number[] = [];
      const [ra, rb] = await Promise.all([
        call(a, "slow", { steps: 3 }, { onprogress: (x: any) => progA.push(x.progress) }),
        call(b, "slow", { steps: 5 }, { onprogress: (x: any) => progB.push(x.progress) }),
      ]);
      expect(text(ra)).toBe("done 3");
      expect(text(rb)).toBe("done 5");
      expect(progressOnWire(a)).toEqual([1, 2, 3]);
      expect(progressOnWire(b)).toEqual([1, 2, 3, 4, 5]);
      expect(progA.length + progB.length).toBeGreaterThan(0);
    });

    test("input rounds, two clients at once, each gets its own answer", async () => {
      const { cfg } = await daemonWith({ s: SERVERS[p.server] });
      const a = await connect(p.a, cfg.sockets.s!, "A", "answer-of-A");
      const b = await connect(p.b, cfg.sockets.s!, "B", "answer-of-B");
      if (p.server === "dual") {
        // A 2025 backend's elicitation names no call: with two capable clients busy the mux will not guess,
        // so the rounds run one at a time here (rule book, server-requests).
        expect(text(await call(a, "ask", { question: "A?" }))).toBe("answer: answer-of-A");
        expect(text(await call(b, "ask", { question: "B?" }))).toBe("answer: answer-of-B");
      } else {
        const [ra, rb] = await Promise.all([call(a, "ask", { question: "A?" }), call(b, "ask", { question: "B?" })]);
        expect(text(ra)).toBe("answer: answer-of-A");
        expect(text(rb)).toBe("answer: answer-of-B");
      }
      expect(a.asked).toEqual(["A?"]);
      expect(b.asked).toEqual(["B?"]);
    });

    test("subscriptions: each listener gets only its own", async () => {
      const { cfg } = await daemonWith({ s: SERVERS[p.server] });
      const a = await connect(p.a, cfg.sockets.s!, "A");
      const b = await connect(p.b, cfg.sockets.s!, "B");
      const sub = async (c: typeof a, era: string, uri: string) =>
        era === "modern" ? c.client.listen({ resourceSubscriptions: [uri] }) : c.client.subscribeResource({ uri });
      await sub(a, p.a, "fixture://counter");
      await sub(b, p.b, "fixture://public");
      expect(text(await call(b, "bump", {}))).toBe("counter 1");
      await waitFor(() => a.updated.length >= 1 || null, 5000, "A's update");
      expect(a.updated).toEqual(["fixture://counter"]);
      // B's answer came after the notification was routed: had it been sent to B, B would hold it by now
      expect(b.updated).toEqual([]);
    });

    test("per-request logs go only to the client that asked", async () => {
      const { cfg } = await daemonWith({ s: SERVERS[p.server] });
      const a = await connect(p.a, cfg.sockets.s!, "A");
      const b = await connect(p.b, cfg.sockets.s!, "B");
      const LEVEL = "io.modelcontextprotocol/logLevel";
      if (p.a === "legacy") await a.client.setLoggingLevel("debug");
      // B asks for errors only (2025: its session level; modern: nothing asked)
      if (p.b === "legacy") await b.client.setLoggingLevel("error");
      const ra = await call(a, "log", { level: "warning", text: "from A" }, {}, p.a === "modern" ? { [LEVEL]: "debug" } : undefined);
      expect(text(ra)).toBe("logged");
      expect(text(await call(b, "log", { level: "warning", text: "from B" }))).toBe("logged");
      await waitFor(() => a.logs.length >= 1 || null, 5000, "A's log");
      expect(a.logs.map((l) => l.data)).toEqual(["from A"]);
      expect(b.logs).toEqual([]);
    });
  });
}

describe("server-everything (a 2025 server) with a modern and a 2025 client", () => {
  test("progress only to the caller, and an elicitation as an input round for the modern client", async () => {
    const { cfg } = await daemonWith({ everything: EVERYTHING_SERVER });
    const a = await connectModern(cfg.sockets.everything!, "modern-E", "pin", "Ada");
    const b = await connectLegacy(cfg.sockets.everything!, "legacy-E");
    const progA: number[] = [];
    const progB: number[] = [];
    const args = { duration: 0.3, steps: 3 };
    const [ra, rb] = await Promise.all([
      call(a, "trigger-long-running-operation", args, { onprogress: (x: any) => progA.push(x.progress) }),
      call(b, "trigger-long-running-operation", args, { onprogress: (x: any) => progB.push(x.progress) }),
    ]);
    expect(text(ra)).toContain("Long running operation completed");
    expect(text(rb)).toContain("Long running operation completed");
    // on the wire (the SDK 2.x client may run its callback for the last one after the call resolved)
    expect(progressOnWire(a)).toEqual([1, 2, 3]);
    expect(progressOnWire(b)).toEqual([1, 2, 3]);
    expect(progB).toEqual([1, 2, 3]);
    expect(progA.length).toBeGreaterThan(0);
    const r = await call(a, "trigger-elicitation-request", {});
    expect(text(r)).toContain("Ada");
    expect(a.asked.length).toBe(1);
    expect(b.asked).toEqual([]);
  });
});

describe("the proxy with a modern client", () => {
  test("an open subscriptions/listen does not hold the proxy when the host closes stdin", async () => {
    const { cfg } = await daemonWith({ modern: SERVERS.modern });
    const proc = Bun.spawn([BUN, PROXY, "--socket", cfg.sockets.modern!], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    trackPid(proc.pid);
    const lines: any[] = [];
    let wake = () => {};
    void streamLines(proc.stdout, (l) => {
      lines.push(JSON.parse(l));
      wake();
    });
    const next = (pred: (m: any) => boolean) =>
      new Promise<any>((resolve) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit !== undefined) resolve(hit);
        };
        wake = check;
        check();
      });
    const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };
    proc.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "subscriptions/listen", params: { _meta: meta, notifications: { toolsListChanged: true } } })}\n`);
    const ack = await next((m) => m.method === "notifications/subscriptions/acknowledged");
    expect(ack.params._meta["io.modelcontextprotocol/subscriptionId"]).toBe(1);
    const t0 = performance.now();
    proc.stdin.end();
    expect(await proc.exited).toBe(0);
    // the proxy's --drain-ms is 30 s: a listen counted as an owed answer would hold it that long
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
