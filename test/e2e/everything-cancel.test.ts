/**
 * Issue 3's proof, part 4: cancellation, proven at the backend with OUR fixture server (its `stats` tool lists
 * the `requestId` of every `notifications/cancelled` it received, and how many requests it got).
 *
 * Expected backend ids: the mux numbers backend requests from one counter (1 = its initialize) and writes them in
 * that order, and with heartbeats off nothing else is sent, so the n-th request the fixture receives has backend
 * id n. A client that calls `stats` right after sending `hang` on the same connection therefore learns the hang's
 * backend id: `stats.requests - 1` (the mux keeps one connection's requests in order).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, type FixtureStats, RawClient, resultText, startDaemon, trackPid, waitFor, writeConfig } from "./harness.ts";
import { allText, closeSdkClients, connectSdkClient, expectWireClean, type SdkClient, takeWireViolations, wireCheckRaw, useSdkSuite } from "./wire.ts";

let socket = "";

beforeAll(async () => {
  const cfg = writeConfig(undefined, { fixture: { max_active_clients: 20 } });
  await startDaemon(cfg.configPath);
  socket = cfg.sockets.fixture!;
});
useSdkSuite();

const T = { timeout: 10_000 };

async function stats(c: SdkClient): Promise<FixtureStats> {
  const r = await c.client.callTool({ name: "stats", arguments: {} }, undefined, T);
  const st = JSON.parse(allText(r)) as FixtureStats;
  trackPid(st.pid);
  return st;
}

describe("cancellation reaches the backend with the backend's id", () => {
  test("notifications/cancelled from an SDK client, and a client that vanishes with a call in flight", async () => {
    const [a, b] = await Promise.all([connectSdkClient(socket, "cancel-A"), connectSdkClient(socket, "cancel-B")]);
    const before = await stats(a);
    const known = before.cancelled.length;

    // A: hang, then abort it (the SDK sends notifications/cancelled with its own request id)
    const ac = new AbortController();
    const hang = a.client.callTool({ name: "hang", arguments: {} }, undefined, { ...T, signal: ac.signal });
    const hangOutcome = hang.then(
      () => "answered",
      () => "rejected",
    );
    const afterHang = await stats(a);
    expect(afterHang.requests).toBe(before.requests + 2);
    expect(afterHang.pending).toBe(1);
    const hangBid = afterHang.requests - 1;
    ac.abort("stop it");
    expect(await hangOutcome).toBe("rejected");
    const sent = a.tap.state.cancelled; // what A cancelled, by A's own id
    expect(sent.size).toBe(1);
    const clientId = JSON.parse([...sent.keys()][0]!);
    expect(clientId).not.toBe(hangBid); // so the check below tells the two apart

    const s1 = await waitFor(async () => {
      const s = await stats(a);
      return s.cancelled.length > known ? s : null;
    }, 5000, "the fixture to record A's cancellation");
    expect(s1.cancelled.slice(known)).toEqual([hangBid]);
    expect(s1.pending).toBe(0);

    // B: hang, then the host process dies (SIGKILL of its proxy): the mux cancels B's call at the backend
    const bHang = b.client.callTool({ name: "hang", arguments: {} }, undefined, T).then(
      () => "answered",
      () => "rejected",
    );
    const bStats = await stats(b);
    expect(bStats.pending).toBe(1);
    const bHangBid = bStats.requests - 1;
    await b.kill();
    expect(await bHang).toBe("rejected");
    const s2 = await waitFor(async () => {
      const s = await stats(a);
      return s.cancelled.length > known + 1 ? s : null;
    }, 5000, "the fixture to record B's disconnect");
    expect(s2.cancelled.slice(known)).toEqual([hangBid, bHangBid]);
    expect(s2.pending).toBe(0);
    // A never got an answer for the cancelled call (the wire checker would list it as a late response)
    expect(a.tap.state.lateResponses).toEqual([]);
    expectWireClean();
  }, 20_000);

  test("raw client: string and number ids that collide are cancelled separately, each by its backend id", async () => {
    const raw = await RawClient.connect(socket);
    const other = await RawClient.connect(socket);
    const rawWire = wireCheckRaw("raw", raw);
    wireCheckRaw("other", other);
    await raw.initialize({ id: "init" });
    await other.initialize({ id: "init" });
    const s0 = await raw.stats();
    const known = s0.cancelled.length;
    // the same id token "1" / 1 in flight on two connections, and a string id with quotes and a backslash
    const weird = 'h"1\\';
    raw.send({ jsonrpc: "2.0", id: weird, method: "tools/call", params: { name: "hang", arguments: {} } });
    raw.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "hang", arguments: {} } });
    const s1 = await raw.stats();
    other.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "hang", arguments: {} } });
    const s2 = await other.stats();
    expect(s1.requests).toBe(s0.requests + 3);
    expect(s2.pending).toBe(3);
    const [bidWeird, bidOne, bidOther] = [s0.requests + 1, s0.requests + 2, s2.requests - 1];

    raw.notify("notifications/cancelled", { requestId: 1, reason: "number one" });
    raw.notify("notifications/cancelled", { requestId: weird });
    // a cancellation for an id this connection never sent is dropped, not passed on
    raw.notify("notifications/cancelled", { requestId: "never-sent" });
    const s3 = await waitFor(async () => {
      const s = await raw.stats();
      return s.cancelled.length >= known + 2 ? s : null;
    }, 5000, "two cancellations at the fixture");
    expect(s3.cancelled.slice(known)).toEqual([bidOne, bidWeird]);
    expect(s3.pending).toBe(1); // `other`'s id 1 is still running
    expect(s3.cancelled.every((x) => typeof x === "number")).toBe(true);

    other.destroy();
    const s4 = await waitFor(async () => {
      const s = await raw.stats();
      return s.cancelled.length >= known + 3 ? s : null;
    }, 5000, "the disconnect's cancellation");
    expect(s4.cancelled.slice(known)).toEqual([bidOne, bidWeird, bidOther]);
    expect(s4.pending).toBe(0);

    // the cancelled calls were never answered, not even late (the wire checker would flag any answer to them)
    const last = await raw.callTool("echo", { text: "done" });
    expect(resultText(last)).toBe("done");
    expect(rawWire.lateResponses).toEqual([]);
    expect([...rawWire.open.keys()]).toEqual([]);
    expectWireClean();
  }, 20_000);
});
