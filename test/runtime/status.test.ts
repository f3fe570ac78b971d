/** stateOf (the operator's view of the router's backend state) and Tail (the ring of recent stderr lines). */
import { describe, expect, test } from "bun:test";
import type { BackendState } from "../../src/router/types.ts";
import { stateOf, Tail } from "../../src/runtime/status.ts";

const BACKEND_STATES: BackendState[] = ["idle", "starting", "handshaking", "ready", "down", "failed", "stopped"];

describe("stateOf", () => {
  test.each([
    ["idle", true, false, "lazy"],
    ["idle", false, false, "starting"],
    ["handshaking", false, false, "starting"],
    // a process up and waiting for its first client's handshake is running
    ["starting", false, false, "running"],
    ["ready", false, false, "running"],
    ["down", false, true, "backoff"],
    ["down", false, false, "starting"],
    ["failed", false, false, "failed"],
    ["stopped", false, false, "stopped"],
  ] as const)("%s (lazy=%p, restart scheduled=%p) -> %s", (backend, lazy, scheduled, want) => {
    expect(stateOf(backend, lazy, scheduled)).toBe(want);
  });

  test("lazy only matters while idle, a scheduled restart only while down", () => {
    for (const b of BACKEND_STATES) {
      const all = [false, true].flatMap((lazy) => [false, true].map((sched) => stateOf(b, lazy, sched)));
      const distinct = new Set(all);
      if (b === "idle") {
        expect(stateOf(b, true, true)).toBe("lazy");
        expect(stateOf(b, false, true)).toBe("starting");
      } else if (b === "down") {
        expect(stateOf(b, true, true)).toBe("backoff");
        expect(stateOf(b, true, false)).toBe("starting");
      } else {
        expect(distinct.size).toBe(1);
      }
    }
  });
});

describe("Tail", () => {
  test("keeps the last max lines, oldest first", () => {
    const t = new Tail(3);
    expect(t.toArray()).toEqual([]);
    t.push("a");
    t.push("b");
    expect(t.toArray()).toEqual(["a", "b"]);
    t.push("c");
    t.push("d");
    t.push("e");
    expect(t.toArray()).toEqual(["c", "d", "e"]);
  });

  test("a line over 500 characters is cut to 500 plus an ellipsis; 500 is kept whole", () => {
    const t = new Tail(5);
    const exact = "x".repeat(500);
    t.push(exact);
    t.push(`${"y".repeat(500)}TAIL`);
    const [a, b] = t.toArray();
    expect(a).toBe(exact);
    expect(b).toBe(`${"y".repeat(500)}…`);
    expect(b!.includes("TAIL")).toBe(false);
  });

  test("toArray returns a copy", () => {
    const t = new Tail(2);
    t.push("one");
    const copy = t.toArray();
    copy.push("mutated");
    copy[0] = "changed";
    expect(t.toArray()).toEqual(["one"]);
  });

  test("max 1 keeps only the newest line", () => {
    const t = new Tail(1);
    for (const l of ["a", "b", "c"]) t.push(l);
    expect(t.toArray()).toEqual(["c"]);
  });
});
