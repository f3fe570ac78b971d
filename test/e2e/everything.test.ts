/**
 * Issue 3's proof, part 1: @modelcontextprotocol/server-everything behind the REAL daemon, used by official SDK
 * Clients through our proxy (`bun src/proxy/main.ts --socket PATH`). Every message the clients receive goes
 * through the wire checker (wire.ts).
 *
 * One daemon (one server-everything process) for the whole file; each test connects fresh clients, closed after it.
 * Parts 2–4: everything-state.test.ts (subscriptions, logging, tasks), everything-roots.test.ts,
 * everything-cancel.test.ts (cancellation, against our fixture server).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Progress } from "@modelcontextprotocol/sdk/types.js";
import { cleanup, type Daemon, startDaemon, writeConfig } from "./harness.ts";
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
let daemon: Daemon;

beforeAll(async () => {
  const cfg = writeConfig(undefined, { everything: EVERYTHING_SERVER });
  daemon = await startDaemon(cfg.configPath);
  socket = cfg.sockets.everything!;
});
useSdkSuite();

const T = { timeout: 15_000 };

/** A client that declares sampling and elicitation; it answers with its own name in the text. */
function capable(name: string, extra: SdkClientOptions = {}): Promise<SdkClient> {
  return connectSdkClient(socket, name, {
    sampling: `sampled by ${name}`,
    elicitation: () => ({ action: "accept", content: { name: `user of ${name}`, check: true, integer: 7 } }),
    ...extra,
  });
}

describe("server-everything through the daemon, SDK clients", () => {
  test("trigger-long-running-operation on two clients at once: each sees only its own progress, in order, before its result", async () => {
    const [a, b] = await Promise.all([capable("prog-A"), capable("prog-B")]);
    const seenA: Progress[] = [];
    const seenB: Progress[] = [];
    const [ra, rb] = await Promise.all([
      a.client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.8, steps: 4 } },
        undefined,
        { ...T, onprogress: (p) => void seenA.push(p) },
      ),
      b.client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
        undefined,
        { ...T, onprogress: (p) => void seenB.push(p) },
      ),
    ]);
    expect(allText(ra)).toBe("Long running operation completed. Duration: 0.8 seconds, Steps: 4.");
    expect(allText(rb)).toBe("Long running operation completed. Duration: 0.6 seconds, Steps: 3.");
    // What each client received, on the wire: exactly its own notifications, in order.
    const progressOf = (c: SdkClient) => c.tap.withMethod("notifications/progress").map((m) => m.params);
    expect(progressOf(a).map((p) => [p.progress, p.total])).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    expect(progressOf(b).map((p) => [p.progress, p.total])).toEqual([[1, 3], [2, 3], [3, 3]]);
    // The callbacks: the SDK runs notification handlers in a microtask but response handlers at once, so when the
    // last progress line and the response arrive in one read it drops that last one ("unknown token"): the
    // callbacks see an in-order, non-empty prefix of the wire list, never anything else.
    const asPairs = (ps: Progress[]) => ps.map((p) => [p.progress, p.total]);
    expect(seenA.length).toBeGreaterThan(0);
    expect(seenB.length).toBeGreaterThan(0);
    expect(asPairs(seenA)).toEqual(progressOf(a).slice(0, seenA.length).map((p) => [p.progress, p.total]));
    expect(asPairs(seenB)).toEqual(progressOf(b).slice(0, seenB.length).map((p) => [p.progress, p.total]));

    // on the wire: the SDK uses its request id as progress token, and both fresh clients used the same id, so the
    // tokens collide at the backend unless the mux rewrites them
    const tokA = progressOf(a).map((p) => p.progressToken);
    const tokB = progressOf(b).map((p) => p.progressToken);
    expect(new Set(tokA).size).toBe(1);
    expect(new Set(tokB).size).toBe(1);
    expect(tokA[0]).toBe(tokB[0]);
    for (const c of [a, b]) {
      const lastProgress = c.tap.received.findLastIndex((m) => m.method === "notifications/progress");
      const response = c.tap.received.findIndex((m) => m.method === undefined && allText(m.result).startsWith("Long running"));
      expect(lastProgress).toBeGreaterThanOrEqual(0);
      expect(response).toBeGreaterThan(lastProgress);
    }
    expectWireClean();
  }, 20_000);

  test("trigger-sampling-request is answered by the client that called it; the other capable client is never asked", async () => {
    const [a, b] = await Promise.all([capable("samp-A"), capable("samp-B")]);
    const ra = await a.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "prompt of A", maxTokens: 11 } }, undefined, T);
    expect(ra.isError ?? false).toBe(false);
    expect(allText(ra)).toContain("sampled by samp-A");
    expect(allText(ra)).toContain("model-of-samp-A");
    expect(a.calls.sampling).toHaveLength(1);
    expect(a.calls.sampling[0]!.params.maxTokens).toBe(11);
    expect(JSON.stringify(a.calls.sampling[0]!.params.messages)).toContain("prompt of A");
    expect(b.calls.sampling).toHaveLength(0);
    expect(b.tap.withMethod("sampling/createMessage")).toHaveLength(0);

    // and the other way round: it is not "always the first client"
    const rb = await b.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "prompt of B" } }, undefined, T);
    expect(allText(rb)).toContain("sampled by samp-B");
    expect(b.calls.sampling).toHaveLength(1);
    expect(JSON.stringify(b.calls.sampling[0]!.params.messages)).toContain("prompt of B");
    expect(a.calls.sampling).toHaveLength(1);
    expect(a.tap.withMethod("sampling/createMessage")).toHaveLength(1);
    expectWireClean();
  }, 20_000);

  test("trigger-elicitation-request is shown to the calling client only, and its answer reaches the tool", async () => {
    const [a, b] = await Promise.all([capable("elic-A"), capable("elic-B")]);
    const ra = await a.client.callTool({ name: "trigger-elicitation-request", arguments: {} }, undefined, T);
    expect(allText(ra)).toContain("User provided the requested information");
    expect(allText(ra)).toContain("- Name: user of elic-A");
    expect(allText(ra)).toContain("- Favorite Integer: 7");
    expect(a.calls.elicitation).toHaveLength(1);
    expect(a.calls.elicitation[0]!.params.message).toContain("Please provide inputs");
    expect(b.calls.elicitation).toHaveLength(0);
    expect(b.tap.withMethod("elicitation/create")).toHaveLength(0);

    const rb = await b.client.callTool({ name: "trigger-elicitation-request", arguments: {} }, undefined, T);
    expect(allText(rb)).toContain("- Name: user of elic-B");
    expect(b.calls.elicitation).toHaveLength(1);
    expect(a.calls.elicitation).toHaveLength(1);
    expectWireClean();
  }, 20_000);

  test("sampling while two capable clients have calls in flight: an error naming the ambiguity, nobody is asked", async () => {
    const [a, b] = await Promise.all([capable("amb-A"), capable("amb-B")]);
    // B is busy with a long call; its first progress notification proves the call is in flight at the mux
    let firstProgress!: () => void;
    const bInFlight = new Promise<void>((r) => (firstProgress = r));
    const rb = b.client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 1.2, steps: 6 } },
      undefined,
      { ...T, onprogress: () => firstProgress() },
    );
    await bInFlight;
    const ra = await a.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "whose?" } }, undefined, T);
    expect(ra.isError).toBe(true);
    expect(allText(ra)).toContain("Cannot route sampling/createMessage");
    expect(allText(ra)).toContain("will not guess");
    expect(a.calls.sampling).toHaveLength(0);
    expect(b.calls.sampling).toHaveLength(0);
    expect(allText(await rb)).toContain("Steps: 6.");
    expectWireClean();
  }, 20_000);

  // A server request goes only to "the single capable client with requests in flight" (server-requests.ts): an idle capable client
  // must never be shown a prompt that another client's call caused.
  test("an elicitation caused by a client without the capability is not shown to an idle capable client", async () => {
    const a = await capable("idle-A");
    const c = await connectSdkClient(socket, "no-caps-C");
    const r = await c.client.callTool({ name: "trigger-elicitation-request", arguments: {} }, undefined, T);
    expect(a.calls.elicitation).toHaveLength(0);
    expect(r.isError).toBe(true);
    expect(allText(r)).toContain("Cannot route elicitation/create");
    expectWireClean();
  }, 20_000);

  test("one child for all of these clients", async () => {
    const c = await capable("count");
    const r = await c.client.callTool({ name: "echo", arguments: { message: "still the same child" } }, undefined, T);
    expect(allText(r)).toBe("Echo: still the same child");
    expect(daemon.countStderr(/Starting default \(STDIO\) server/)).toBe(1);
    expect(daemon.countStderr(/backend initialized/)).toBe(1);
    expectWireClean();
  }, 20_000);
});
