/**
 * Issue 3's proof, part 2: per-client state the mux keeps in front of ONE server-everything session —
 * resource subscriptions, logging levels, task ownership — with official SDK Clients through our proxy.
 * Every message the clients receive goes through the wire checker (wire.ts).
 *
 * Synchronisation: no sleeps. A "barrier" is a tools/call `echo` through the backend: the mux delivers each
 * client's messages in backend order through one queue, so once the echo's answer arrived, everything the backend
 * wrote before that answer (and that the mux routed to this client) has arrived too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { CallToolResultSchema, CreateTaskResultSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { cleanup, startDaemon, writeConfig } from "./harness.ts";
import {
  allText,
  closeSdkClients,
  connectSdkClient,
  EVERYTHING_SERVER,
  expectWireClean,
  type SdkClient,
  type SdkClientOptions,
  takeWireViolations,
  useSdkSuite,
} from "./wire.ts";

let socket = "";

beforeAll(async () => {
  const cfg = writeConfig(undefined, { everything: EVERYTHING_SERVER });
  await startDaemon(cfg.configPath);
  socket = cfg.sockets.everything!;
});
useSdkSuite();

const T = { timeout: 15_000 };

function connect(name: string, opts: SdkClientOptions = {}): Promise<SdkClient> {
  return connectSdkClient(socket, name, opts);
}

/** A round trip through the backend (see the file comment). */
async function barrier(c: SdkClient): Promise<void> {
  const r = await c.client.callTool({ name: "echo", arguments: { message: `barrier ${c.name}` } }, undefined, T);
  expect(allText(r)).toBe(`Echo: barrier ${c.name}`);
}

/** Call a toggle tool until its answer starts with `want` ("Started" / "Stopped"); returns how many calls it took. */
async function toggleTo(c: SdkClient, tool: string, want: "Started" | "Stopped"): Promise<number> {
  for (let i = 1; i <= 2; i++) {
    const r = await c.client.callTool({ name: tool, arguments: {} }, undefined, T);
    if (allText(r).startsWith(want)) return i;
  }
  throw new Error(`${tool} never answered "${want}"`);
}

const updatedUris = (c: SdkClient, from = 0): string[] =>
  c.tap.received.slice(from).filter((m) => m.method === "notifications/resources/updated").map((m) => m.params.uri);

describe("subscriptions (toggle-subscriber-updates)", () => {
  const URI_A = "demo://resource/static/document/features.md";
  const URI_B = "demo://resource/static/document/instructions.md";

  test("notifications/resources/updated reaches the URI's subscribers only; shared URIs are reference-counted", async () => {
    const [a, b, c] = await Promise.all([connect("sub-A"), connect("sub-B"), connect("sub-C")]);
    expect(await a.client.subscribeResource({ uri: URI_A }, T)).toEqual({});
    expect(await b.client.subscribeResource({ uri: URI_B }, T)).toEqual({});

    // on: the server sends one update per subscribed URI at once (then every 5 s)
    await toggleTo(a, "toggle-subscriber-updates", "Started");
    await a.tap.waitFor((m) => m.method === "notifications/resources/updated" && m.params.uri === URI_A, 5000, "A's update");
    await b.tap.waitFor((m) => m.method === "notifications/resources/updated" && m.params.uri === URI_B, 5000, "B's update");
    await Promise.all([barrier(a), barrier(b), barrier(c)]);
    expect(new Set(updatedUris(a))).toEqual(new Set([URI_A]));
    expect(new Set(updatedUris(b))).toEqual(new Set([URI_B]));
    expect(updatedUris(c)).toEqual([]);

    // C subscribes to A's URI as well: answered by the mux, and now both get it
    expect(await c.client.subscribeResource({ uri: URI_A }, T)).toEqual({});
    await toggleTo(a, "toggle-subscriber-updates", "Stopped");
    const markA = a.tap.received.length;
    const markB = b.tap.received.length;
    await toggleTo(a, "toggle-subscriber-updates", "Started");
    await a.tap.waitFor((m) => m.method === "notifications/resources/updated" && a.tap.received.indexOf(m) >= markA, 5000, "A's 2nd update");
    await c.tap.waitFor((m) => m.method === "notifications/resources/updated" && m.params.uri === URI_A, 5000, "C's update");
    await b.tap.waitFor((m) => m.method === "notifications/resources/updated" && b.tap.received.indexOf(m) >= markB, 5000, "B's 2nd update");
    await Promise.all([barrier(a), barrier(b), barrier(c)]);
    expect(new Set(updatedUris(c))).toEqual(new Set([URI_A]));
    expect(new Set(updatedUris(b))).toEqual(new Set([URI_B]));

    // A unsubscribes: the URI stays subscribed at the backend for C, and A gets nothing more for it
    expect(await a.client.unsubscribeResource({ uri: URI_A }, T)).toEqual({});
    const afterUnsub = a.tap.received.length;
    const markC = c.tap.received.length;
    await toggleTo(a, "toggle-subscriber-updates", "Stopped");
    await toggleTo(a, "toggle-subscriber-updates", "Started");
    await c.tap.waitFor((m) => m.method === "notifications/resources/updated" && c.tap.received.indexOf(m) >= markC, 5000, "C's update after A left");
    await Promise.all([barrier(a), barrier(c)]);
    expect(updatedUris(a, afterUnsub)).toEqual([]);

    // leave the shared backend quiet
    await toggleTo(a, "toggle-subscriber-updates", "Stopped");
    await c.client.unsubscribeResource({ uri: URI_A }, T);
    await b.client.unsubscribeResource({ uri: URI_B }, T);
    expectWireClean();
  }, 20_000);
});

describe("logging levels (toggle-simulated-logging)", () => {
  const RANK = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
  const rank = (m: any) => RANK.indexOf(m.params.level);
  const logs = (c: SdkClient) => c.tap.withMethod("notifications/message");
  const SIMULATED = /-level message|level-message/;

  test('a client at "error" never gets debug/info messages; a client at "debug" does', async () => {
    const [d, e] = await Promise.all([connect("log-debug"), connect("log-error")]);
    await e.client.setLoggingLevel("error", T);
    await d.client.setLoggingLevel("debug", T);
    // What the backend logged before both levels were set (its "Roots updated" info, say) reached each client
    // under no level at all: count only what comes after a barrier through the backend on each.
    await barrier(e);
    await barrier(d);
    const eFrom = logs(e).length;
    const dFrom = logs(d).length;
    const logsOf = (c: SdkClient, from: number) => logs(c).slice(from);

    // Each "Started" sends one message of a random level at once (then one every 5 s): toggle until the debug
    // client has seen a debug or info message and the error client has seen something (bounded; P(fail) ~ 1e-12).
    const dSawLow = () => logsOf(d, dFrom).some((m) => rank(m) <= 1 && SIMULATED.test(String(m.params.data)));
    const eSawAny = () => logsOf(e, eFrom).some((m) => SIMULATED.test(String(m.params.data)));
    let toggles = 0;
    while (!(dSawLow() && eSawAny()) && toggles < 200) {
      await d.client.callTool({ name: "toggle-simulated-logging", arguments: {} }, undefined, T);
      toggles++;
    }
    await toggleTo(d, "toggle-simulated-logging", "Stopped");
    await barrier(e);
    await barrier(d);

    expect(dSawLow()).toBe(true);
    expect(eSawAny()).toBe(true);
    expect(logsOf(e, eFrom).filter((m) => rank(m) < 4)).toEqual([]);
    // the error client got exactly the debug client's messages at error and above, in the same order
    expect(logsOf(e, eFrom)).toEqual(logsOf(d, dFrom).filter((m) => rank(m) >= 4));
    expectWireClean();
  }, 20_000);
});

describe("tasks (simulate-research-query)", () => {
  test("a task belongs to the client that created it; its input_required elicitation goes to that client", async () => {
    const elicit = (who: string): SdkClientOptions["elicitation"] => () => ({
      action: "accept",
      content: { interpretation: who === "task-A" ? "programming" : "snake" },
    });
    const [a, b] = await Promise.all([
      connect("task-A", { elicitation: elicit("task-A"), sampling: "a" }),
      connect("task-B", { elicitation: elicit("task-B"), sampling: "b" }),
    ]);
    const created = await a.client.request(
      { method: "tools/call", params: { name: "simulate-research-query", arguments: { topic: "python", ambiguous: true } } },
      CreateTaskResultSchema,
      { ...T, task: { ttl: 60_000 } },
    );
    const taskId = created.task.taskId;
    expect(taskId).toBeString();
    expect(["working", "input_required"]).toContain(created.task.status);

    // another client: the task does not exist for it
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
        return "no error";
      } catch (err) {
        return err instanceof McpError ? err.code : String(err);
      }
    };
    expect(await code(b.client.experimental.tasks.getTask(taskId, T))).toBe(-32602);
    expect(await code(b.client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, T))).toBe(-32602);
    expect(await code(b.client.experimental.tasks.cancelTask(taskId, T))).toBe(-32602);
    expect((await b.client.experimental.tasks.listTasks(undefined, T)).tasks.map((t) => t.taskId)).not.toContain(taskId);
    // its owner sees it
    expect((await a.client.experimental.tasks.getTask(taskId, T)).taskId).toBe(taskId);
    expect((await a.client.experimental.tasks.listTasks(undefined, T)).tasks.map((t) => t.taskId)).toContain(taskId);

    // B is busy too (both could take an elicitation), so only the related-task rule can pick A
    let bStarted!: () => void;
    const bInFlight = new Promise<void>((r) => (bStarted = r));
    const bCall = b.client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 4, steps: 8 } },
      undefined,
      { ...T, onprogress: () => bStarted() },
    );
    await bInFlight;
    const result = await a.client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, T);
    expect(allText(result)).toContain("# Research Report: python (programming)");
    expect(a.calls.elicitation).toHaveLength(1);
    expect(a.calls.elicitation[0]!.params._meta?.["io.modelcontextprotocol/related-task"]).toEqual({ taskId });
    expect(b.calls.elicitation).toHaveLength(0);
    expect(b.tap.withMethod("elicitation/create")).toHaveLength(0);
    expect(allText(await bCall)).toContain("Steps: 8.");
    expectWireClean();
  }, 20_000);
});
