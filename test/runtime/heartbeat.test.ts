/**
 * Heartbeat on fake timers (performance.now is faked too, so latencies are exact): pace, timeouts, the failure
 * count, slow-but-answered pings, late and duplicate answers, reset and stop.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from "bun:test";
import { Heartbeat, type HeartbeatOptions } from "../../src/runtime/heartbeat.ts";

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const advance = (ms: number) => jest.advanceTimersByTime(ms);
/** Advance to absolute times, counted from the call to clock(). */
function clock(): (t: number) => void {
  let now = 0;
  return (t) => {
    advance(t - now);
    now = t;
  };
}

function rig(o: Partial<HeartbeatOptions> = {}) {
  const opts: HeartbeatOptions = { intervalMs: 100, timeoutMs: 50, maxFailures: 3, ...o };
  const r = {
    /** `done` of every ping sent, in order */
    pings: [] as Array<(ok: boolean) => void>,
    /** probe calls, including those refused because no backend was there */
    attempts: 0,
    backend: true,
    dead: [] as string[],
    results: 0,
    hb: null as unknown as Heartbeat,
  };
  r.hb = new Heartbeat(
    opts,
    (done) => {
      r.attempts++;
      if (!r.backend) return false;
      r.pings.push(done);
      return true;
    },
    (why) => r.dead.push(why),
    () => r.results++,
  );
  return r;
}

describe("Heartbeat", () => {
  test("one ping per interval, starting one interval after start()", () => {
    const r = rig();
    advance(500);
    expect(r.attempts).toBe(0); // not started
    r.hb.start();
    r.hb.start(); // idempotent: does not double the pace
    advance(99);
    expect(r.pings).toHaveLength(0);
    advance(1);
    expect(r.pings).toHaveLength(1);
    r.pings[0]!(true);
    advance(100);
    expect(r.pings).toHaveLength(2);
  });

  test("an answer is a success: latency measured, failures 0, onResult called", () => {
    const r = rig();
    r.hb.start();
    expect(r.hb.latencyMs).toBeNull();
    advance(100);
    advance(30);
    r.pings[0]!(true);
    expect(r.hb.latencyMs).toBe(30);
    expect(r.hb.failures).toBe(0);
    expect(r.results).toBe(1);
    expect(r.dead).toEqual([]);
  });

  test("a slow answer inside the timeout is a success, and no second ping is sent while one is in flight", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 500, maxFailures: 1 });
    r.hb.start();
    advance(100);
    expect(r.pings).toHaveLength(1);
    advance(450); // four more intervals pass with the ping still out
    expect(r.pings).toHaveLength(1);
    r.pings[0]!(true);
    expect(r.hb.latencyMs).toBe(450);
    expect(r.hb.failures).toBe(0);
    expect(r.dead).toEqual([]);
    advance(100);
    expect(r.pings).toHaveLength(2);
  });

  test("silence: maxFailures timeouts in a row call onDead once, with the reason; the count starts over", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 50, maxFailures: 3 });
    r.hb.start();
    const to = clock();
    // pings at t=100, 200, 300; each times out 50 ms later
    to(150);
    expect(r.hb.failures).toBe(1);
    to(250);
    expect(r.hb.failures).toBe(2);
    to(349);
    expect(r.dead).toEqual([]);
    to(350);
    expect(r.dead).toEqual(["heartbeat: 3 pings in a row got no answer within 50 ms"]);
    expect(r.hb.failures).toBe(0);
    expect(r.results).toBe(3);
    expect(r.pings).toHaveLength(3);
    to(450); // the next silent ping is failure 1 of a new count
    expect(r.hb.failures).toBe(1);
    expect(r.dead).toHaveLength(1);
  });

  test("maxFailures 1: the first timeout is fatal", () => {
    const r = rig({ maxFailures: 1, timeoutMs: 20 });
    r.hb.start();
    advance(120);
    expect(r.dead).toEqual(["heartbeat: 1 ping in a row got no answer within 20 ms"]);
  });

  test("an answer between failures resets the count", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 50, maxFailures: 3 });
    r.hb.start();
    const to = clock();
    to(250); // pings at 100 and 200 timed out
    expect(r.hb.failures).toBe(2);
    to(310); // ping at 300 answered
    r.pings[2]!(true);
    expect(r.hb.failures).toBe(0);
    to(550); // pings at 400 and 500 timed out: two, not four
    expect(r.hb.failures).toBe(2);
    expect(r.dead).toEqual([]);
  });

  test("an error answer is a failure at once, without waiting for the timeout", () => {
    const r = rig({ timeoutMs: 1000 });
    r.hb.start();
    advance(100);
    r.pings[0]!(false);
    expect(r.hb.failures).toBe(1);
    expect(r.results).toBe(1);
    expect(r.hb.latencyMs).toBeNull();
  });

  test("an answer after the timeout, or a second answer, changes nothing", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 50 });
    r.hb.start();
    const to = clock();
    to(150); // ping 0 (t=100) timed out
    expect(r.hb.failures).toBe(1);
    r.pings[0]!(true); // too late
    expect(r.hb.failures).toBe(1);
    expect(r.hb.latencyMs).toBeNull();
    expect(r.results).toBe(1);
    to(200); // ping 1
    expect(r.pings).toHaveLength(2);
    to(210);
    r.pings[1]!(true);
    r.pings[1]!(false); // a duplicate settles nothing
    expect(r.hb.failures).toBe(0);
    expect(r.hb.latencyMs).toBe(10);
    expect(r.results).toBe(2);
  });

  test("no backend to ping (probe returns false) is not a failure; pinging resumes when it is back", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 50, maxFailures: 1 });
    r.backend = false;
    r.hb.start();
    advance(1000);
    expect(r.attempts).toBe(10);
    expect(r.pings).toHaveLength(0);
    expect(r.hb.failures).toBe(0);
    expect(r.dead).toEqual([]);
    expect(r.results).toBe(0);
    r.backend = true;
    advance(100);
    expect(r.pings).toHaveLength(1);
  });

  test("reset(): failures and latency cleared; the answer and the timeout of an earlier ping are ignored", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 80, maxFailures: 3 });
    r.hb.start();
    advance(100);
    advance(10);
    r.pings[0]!(true);
    expect(r.hb.latencyMs).toBe(10);
    advance(90); // t=200: ping 1
    advance(80); // timed out
    expect(r.hb.failures).toBe(1);
    advance(20); // t=300: ping 2, in flight
    expect(r.pings).toHaveLength(3);
    r.hb.reset();
    expect(r.hb.failures).toBe(0);
    expect(r.hb.latencyMs).toBeNull();
    r.pings[2]!(true); // belongs to the previous process
    expect(r.hb.latencyMs).toBeNull();
    advance(80); // its timeout passes too
    expect(r.hb.failures).toBe(0);
    expect(r.dead).toEqual([]);
    advance(20); // t=400: a new ping goes out at once (reset freed the slot)
    expect(r.pings).toHaveLength(4);
  });

  test("reset() gives a new child a full interval before its first ping", () => {
    const r = rig({ intervalMs: 100 });
    const at = clock();
    r.hb.start();
    at(190); // one ping at 100; the next is due at 200
    expect(r.pings).toHaveLength(1);
    r.pings[0]?.(true);
    r.hb.reset(); // a new child starts at 190
    at(250);
    expect(r.pings).toHaveLength(1); // not at 200: the new child has had only 10 ms
    at(290);
    expect(r.pings).toHaveLength(2);
    r.hb.stop();
  });

  test("stop(): no more pings, and a pending timeout does not count; start() resumes", () => {
    const r = rig({ intervalMs: 100, timeoutMs: 50, maxFailures: 1 });
    r.hb.start();
    advance(100);
    expect(r.pings).toHaveLength(1);
    r.hb.stop();
    advance(1000);
    expect(r.pings).toHaveLength(1);
    expect(r.dead).toEqual([]);
    r.hb.start();
    advance(100);
    expect(r.pings).toHaveLength(2);
  });
});
