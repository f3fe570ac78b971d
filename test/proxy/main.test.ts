import { expect, test } from "bun:test";
import { join } from "node:path";

const PROXY = join(import.meta.dir, "../../src/proxy/main.ts");
const run = (...args: string[]) => Bun.spawnSync([process.execPath, PROXY, ...args], { stdout: "pipe", stderr: "pipe" });

test("--version prints the version and commit; --help the usage", () => {
  const v = run("--version");
  expect(v.exitCode).toBe(0);
  expect(v.stdout.toString()).toMatch(/^rmcp-mux-proxy \d+\.\d+\.\d+ \(\S+\)\n$/);
  const h = run("--help");
  expect(h.exitCode).toBe(0);
  expect(h.stdout.toString()).toContain("--socket PATH");
});

test("a missing --socket or an unknown option is refused with the usage on stderr", () => {
  const none = run();
  expect(none.exitCode).toBe(2);
  expect(none.stderr.toString()).toContain("--socket PATH is required");
  const bad = run("--sockett", "/x");
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toContain("unknown or incomplete option --sockett");
});

test("no daemon on the socket: one clear line on stderr and a non-zero exit after the retry window", () => {
  const r = run("--socket", "/tmp/mx-no-such-dir/nothing.sock", "--retry-ms", "100");
  expect(r.exitCode).toBe(1);
  expect(r.stderr.toString()).toContain("cannot connect to /tmp/mx-no-such-dir/nothing.sock");
  expect(r.stderr.toString()).toContain("is the rmcp-mux daemon running?");
});
