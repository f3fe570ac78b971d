// The dashboard in every release binary: `bun build.ts --all` (which installs the other platforms' @opentui/core
// native packages when missing) puts each target's own native library into its rmcp-mux binary, and no other.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] as const;
const out = mkdtempSync(join(tmpdir(), "mux-dash-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const libOf = (platform: string): Buffer => {
  const dir = join(ROOT, "node_modules", "@opentui", `core-${platform}`);
  return readFileSync(join(dir, readdirSync(dir).find((n) => /^libopentui\.(so|dylib)$/.test(n))!));
};

/** 4 KiB of a platform's native library that no other platform's library contains (shared data tables excluded). */
function fingerprints(): Record<string, Buffer> {
  const libs = Object.fromEntries(TARGETS.map((t) => [t, libOf(t)]));
  return Object.fromEntries(
    TARGETS.map((t) => {
      const lib = libs[t]!;
      for (let f = 0.05; f < 1; f += 0.05) {
        const at = Math.floor(lib.length * f);
        const slice = lib.subarray(at, at + 4096);
        if (TARGETS.every((o) => o === t || !libs[o]!.includes(slice))) return [t, slice];
      }
      throw new Error(`no part of ${t}'s library is unique to it`);
    }),
  );
}

// Four cross builds of two binaries each: about 30 s on an idle machine, minutes on a busy one.
test("each target's rmcp-mux embeds its own platform's dashboard library, and the NOTES say so", async () => {
  const proc = Bun.spawn([process.execPath, join(ROOT, "build.ts"), "--all", `--outdir=${out}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [log, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(code, `${log}\n${err}`).toBe(0);
  expect(err).not.toContain("dashboard is unavailable");
  const prints = fingerprints();
  const core = JSON.parse(readFileSync(join(ROOT, "node_modules/@opentui/core/package.json"), "utf8")).version;
  for (const t of TARGETS) {
    const binary = readFileSync(join(out, t, "rmcp-mux"));
    for (const other of TARGETS) expect([t, other, binary.includes(prints[other]!)]).toEqual([t, other, other === t]);
    // The proxy is the same executable under another name (that it never loads the dashboard is tested where
    // a proxy runs: test/packaging/install.test.ts).
    expect(readlinkSync(join(out, t, "rmcp-mux-proxy"))).toBe("rmcp-mux");
    expect(readFileSync(join(out, t, "NOTES"), "utf8")).toContain(`dashboard: included (@opentui/core ${core}, @opentui/core-${t} ${core}).`);
  }
}, 600_000);
