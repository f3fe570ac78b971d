/** The open-files limit as the daemon reads and raises it (through bun:ffi against the C library). */
import { describe, expect, test } from "bun:test";
import { countOpenFds, raiseFdLimit, softLimitFromProc } from "../../src/runtime/fd-limit.ts";

describe.skipIf(process.platform !== "linux" && process.platform !== "darwin")("RLIMIT_NOFILE", () => {
  test("the soft limit after raising is the hard one (capped on macOS) and matches what the kernel reports", async () => {
    const r = await raiseFdLimit();
    if ("error" in r) throw new Error(r.error);
    expect(r.limit.soft).toBeGreaterThan(0);
    expect(r.limit.soft).toBeLessThanOrEqual(r.limit.hard);
    if (process.platform === "linux") {
      expect(r.limit.soft).toBe(r.limit.hard);
      expect(softLimitFromProc()).toBe(r.limit.soft);
    }
  });

  test("open descriptors are counted, and a new one shows", async () => {
    const before = countOpenFds();
    expect(before).not.toBeNull();
    const { openSync, closeSync } = await import("node:fs");
    const fd = openSync("/dev/null", "r");
    try {
      expect(countOpenFds()).toBe((before as number) + 1);
    } finally {
      closeSync(fd);
    }
  });
});
