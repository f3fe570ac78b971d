/** The open-files limit as the daemon reads and raises it (through bun:ffi against the C library). */
import { describe, expect, test } from "bun:test";
import { countOpenFds, raiseFdLimit, readFdLimit } from "../../src/runtime/fd-limit.ts";

describe.skipIf(process.platform !== "linux" && process.platform !== "darwin")("RLIMIT_NOFILE", () => {
  test("the soft limit after raising is the hard one (capped on macOS) and matches what the kernel reports", async () => {
    const r = await raiseFdLimit();
    if ("error" in r) throw new Error(r.error);
    expect(r.limit.soft).toBeGreaterThan(0);
    expect(r.limit.soft).toBeLessThanOrEqual(r.limit.hard);
    if (process.platform === "linux") {
      expect(r.limit.soft).toBe(r.limit.hard);
      expect(readFdLimit()?.soft).toBe(r.limit.soft);
    }
  });

  test("a soft limit below the hard one is raised to it through the C library (setrlimit via bun:ffi)", () => {
    if (process.platform !== "linux") return; // the check reads /proc
    // Bun raises the soft limit at its own start, so the child lowers it first, through the same FFI path
    const mod = JSON.stringify(`${import.meta.dir}/../../src/runtime/fd-limit.ts`);
    const script = `import { raiseFdLimit, readFdLimit, setSoftFdLimit } from ${mod};
      const lowered = await setSoftFdLimit(100);
      const before = readFdLimit();
      const raised = await raiseFdLimit();
      console.log(JSON.stringify({ lowered, before, raised, after: readFdLimit() }));`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const out = JSON.parse(r.stdout.toString());
    const hard = out.before.hard;
    expect(out.lowered).toEqual({ limit: { soft: 100, hard } });
    expect(out.before.soft).toBe(100);
    expect(out.raised).toEqual({ limit: { soft: hard, hard }, raisedFrom: 100 });
    expect(out.after).toEqual({ soft: hard, hard });
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
