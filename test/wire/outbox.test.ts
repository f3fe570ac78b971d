import { describe, expect, test } from "bun:test";
import { Outbox, type Writable } from "../../src/wire/outbox.ts";

/** A sink that takes at most `budget` bytes until refilled, like a kernel buffer. */
class TightSink implements Writable {
  got: Buffer[] = [];
  constructor(public budget: number) {}
  write(data: string | Uint8Array): number {
    const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
    const n = Math.min(this.budget, bytes.length);
    this.got.push(bytes.subarray(0, n));
    this.budget -= n;
    return n;
  }
  text(): string {
    return Buffer.concat(this.got).toString();
  }
}

const tick = () => new Promise<void>((r) => queueMicrotask(r));

describe("Outbox", () => {
  test("lines pushed in one tick go out in one write", async () => {
    const sink = new TightSink(1e9);
    const o = new Outbox(sink, 1e6, () => {});
    o.push("a");
    o.push("b");
    o.push("c");
    await tick();
    expect(sink.got.map(String)).toEqual(["a\nb\nc\n"]);
  });

  test("what the sink does not take is kept and written on drain, in order", async () => {
    const sink = new TightSink(5);
    const o = new Outbox(sink, 1e6, () => {});
    o.push("hello world");
    await tick();
    o.push("second ż");
    await tick();
    expect(o.queued).toBeGreaterThan(0);
    sink.budget = 4;
    o.drain();
    sink.budget = 1e9;
    o.drain();
    expect(sink.text()).toBe("hello world\nsecond ż\n");
    expect(o.idle).toBe(true);
  });

  test("a reader that never drains is cut off at the cap instead of growing without bound", async () => {
    const sink = new TightSink(0);
    let overflow = 0;
    const o = new Outbox(sink, 1000, (n) => (overflow = n));
    for (let i = 0; i < 50; i++) {
      o.push("x".repeat(100));
      await tick();
    }
    expect(overflow).toBeGreaterThan(1000);
    expect(o.queued).toBe(0);
  });
});
