import { expect, test } from "bun:test";
import { Backoff } from "../../src/runtime/backoff.ts";

const opts = { restart_backoff_ms: 100, restart_backoff_max_ms: 500, max_restarts: 4, stable_run_ms: 10_000 };

test("delays double up to the maximum, then restarts stop after max_restarts failed runs", () => {
  const b = new Backoff(opts);
  expect([1, 2, 3, 4].map(() => b.runEnded(5))).toEqual([100, 200, 400, 500]);
  expect(b.runEnded(5)).toBeUndefined();
});

test("a run that lasted resets the count", () => {
  const b = new Backoff(opts);
  b.runEnded(5);
  b.runEnded(5);
  expect(b.runEnded(20_000)).toBe(100);
  expect(b.consecutiveFailures).toBe(1);
});

test("max_restarts = 0 means unlimited", () => {
  const b = new Backoff({ ...opts, max_restarts: 0 });
  for (let i = 0; i < 100; i++) expect(b.runEnded(0)).toBe(i < 3 ? 100 * 2 ** i : 500);
});

// The README's wording: max_restarts restarts after failed runs in a row, so N + 1 runs, and the log's
// "gave up after N + 1 failed runs (max_restarts=N)" (consecutiveFailures) says the same.
test.each([1, 2, 4])("max_restarts = %d: exactly that many restarts, given up on failed run max_restarts + 1", (n) => {
  const b = new Backoff({ ...opts, max_restarts: n });
  const delays: (number | undefined)[] = [];
  for (let run = 1; run <= n + 1; run++) delays.push(b.runEnded(5));
  expect(delays.slice(0, n).every((d) => typeof d === "number")).toBe(true);
  expect(delays[n]).toBeUndefined();
  expect(b.consecutiveFailures).toBe(n + 1);
});
