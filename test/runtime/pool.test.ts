/** The instance pool's rules (placement by key, the max_instances cap, idle stops) on a hand-moved clock. */
import { describe, expect, test } from "bun:test";
import { InstanceCapError, Pool, PoolClosedError, type Pooled } from "../../src/runtime/pool.ts";
import { ManualClock } from "../router/harness.ts";

class FakeInstance implements Pooled {
  readonly clients = new Set<number>();
  stopped: string | null = null;
  stopping: Promise<void> = Promise.resolve();
  constructor(
    public key: string,
    readonly cwd: string | undefined,
  ) {}
  stop(why: string): Promise<void> {
    this.stopped = why;
    this.stopping = Promise.resolve();
    return this.stopping;
  }
}

function pool(max: number, idleMs: (i: FakeInstance) => number | null) {
  const clock = new ManualClock();
  const made: FakeInstance[] = [];
  const retired: string[] = [];
  const p = new Pool<FakeInstance>(
    {
      max,
      create: (key, cwd) => {
        const i = new FakeInstance(key, cwd);
        made.push(i);
        return i;
      },
      idleMs,
      retired: (i, why) => retired.push(`${i.key}: ${why}`),
    },
    clock,
  );
  return { p, clock, made, retired };
}

describe("Pool", () => {
  test("one instance per key: a second client with the same key joins it, another key gets its own", () => {
    const { p, made } = pool(8, () => null);
    const a = p.obtain("file:///ws/a", "/ws/a");
    p.join(a, 1);
    const again = p.obtain("file:///ws/a", "/elsewhere");
    p.join(again, 2);
    const b = p.obtain("file:///ws/b", "/ws/b");
    expect(again).toBe(a);
    expect(b).not.toBe(a);
    expect(made.map((i) => [i.key, i.cwd])).toEqual([
      ["file:///ws/a", "/ws/a"],
      ["file:///ws/b", "/ws/b"],
    ]);
    expect([...a.clients]).toEqual([1, 2]);
  });

  test("past max_instances a new key is refused with an error naming the limit; an existing key still joins", () => {
    const { p, made } = pool(2, () => null);
    p.obtain("k1", undefined);
    p.obtain("k2", undefined);
    let err: unknown;
    try {
      p.obtain("k3", undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InstanceCapError);
    expect((err as Error).message).toContain("max_instances (2)");
    expect((err as Error).message).toContain("k3");
    expect(p.obtain("k1", undefined)).toBe(made[0]!);
    expect(made).toHaveLength(2);
  });

  test("idle 0: the instance stops when its last client leaves, not before, and frees its place under the cap", async () => {
    const { p, made, retired } = pool(1, () => 0);
    const i = p.obtain("client:1", undefined);
    p.join(i, 1);
    p.join(i, 2);
    p.leave(i, 1);
    expect(i.stopped).toBeNull();
    p.leave(i, 2);
    expect(i.stopped).toBe("its last client left");
    expect(retired).toEqual([]); // reported once its stop has completed
    await i.stopping;
    expect(retired).toEqual(["client:1: its last client left"]);
    expect(p.size).toBe(0);
    expect(p.obtain("client:3", undefined)).toBe(made[1]!);
  });

  test("idle timeout: stops after the time with no client; a client joining in between keeps it", () => {
    const { p, clock } = pool(8, () => 1000);
    const i = p.obtain("w", undefined);
    p.join(i, 1);
    p.leave(i, 1);
    clock.advance(999);
    expect(i.stopped).toBeNull();
    p.join(p.obtain("w", undefined), 2); // came back in time: the same instance, the timer cancelled
    clock.advance(5000);
    expect(i.stopped).toBeNull();
    p.leave(i, 2);
    clock.advance(1000);
    expect(i.stopped).toBe("no client for 1000 ms (idle_timeout_ms)");
    expect(p.get("w")).toBeUndefined();
  });

  test("idle null: an instance with no client lives on", () => {
    const { p, clock } = pool(8, () => null);
    const i = p.obtain("global", undefined);
    p.join(i, 1);
    p.leave(i, 1);
    clock.advance(10_000_000);
    expect(i.stopped).toBeNull();
    expect(p.get("global")).toBe(i);
  });

  test("rekey: found under its new key only; stopAll stops every instance and cancels idle timers", async () => {
    const { p, clock } = pool(8, () => 500);
    const i = p.obtain("first:1", undefined);
    p.rekey(i, "file:///ws/a");
    expect(p.get("first:1")).toBeUndefined();
    expect(p.get("file:///ws/a")).toBe(i);
    const j = p.obtain("other", undefined);
    p.join(j, 9);
    p.leave(j, 9); // idle timer armed
    await p.stopAll("the daemon is shutting down");
    expect([i.stopped, j.stopped]).toEqual(["the daemon is shutting down", "the daemon is shutting down"]);
    clock.advance(1000);
    expect(j.stopped).toBe("the daemon is shutting down"); // the idle timer did not fire afterwards
    expect(p.size).toBe(0);
  });

  test("once stopAll has begun, no instance starts: a client placed during the stop cannot leave a process behind", async () => {
    const { p, made } = pool(8, () => null);
    p.obtain("a", undefined);
    const stopping = p.stopAll("the daemon is shutting down");
    expect(() => p.obtain("b", undefined)).toThrow(PoolClosedError);
    expect(() => p.obtain("a", undefined)).toThrow(PoolClosedError);
    await stopping;
    expect(made.map((i) => [i.key, i.stopped])).toEqual([["a", "the daemon is shutting down"]]);
  });
});
