import { describe, expect, test } from "bun:test";
import { unifiedDiff } from "../../src/onboard/diff.ts";

/** Apply a unified diff to `before` (checking every context and removed line): proves the hunks are exact. */
function applyDiff(before: string, diff: string): string {
  const src = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let at = 0;
  const lines = diff.replace(/\n$/, "").split("\n").slice(2);
  for (const l of lines) {
    const h = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(l);
    if (h) {
      const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
      while (at < start) out.push(src[at++]!);
    } else if (l[0] === " " || l[0] === "-") {
      expect(src[at]).toBe(l.slice(1));
      at++;
      if (l[0] === " ") out.push(l.slice(1));
    } else if (l[0] === "+") out.push(l.slice(1));
  }
  while (at < src.length) out.push(src[at++]!);
  return out.length ? `${out.join("\n")}\n` : "";
}

describe("unifiedDiff", () => {
  test("equal texts give no diff", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", "x", "y")).toBe("");
  });

  test("a one-line change with three lines of context", () => {
    const a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    const b = "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n";
    expect(unifiedDiff(a, b, "a/f", "b/f")).toBe("--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n");
  });

  test("far-apart changes make separate hunks; near ones merge", () => {
    const a = Array.from({ length: 30 }, (_, i) => `l${i}`).join("\n") + "\n";
    const far = a.replace("l2\n", "X\n").replace("l25\n", "Y\n");
    expect(unifiedDiff(a, far, "a", "b").match(/^@@/gm)).toHaveLength(2);
    const near = a.replace("l2\n", "X\n").replace("l8\n", "Y\n");
    expect(unifiedDiff(a, near, "a", "b").match(/^@@/gm)).toHaveLength(1);
  });

  test("insertions at the start and deletions at the end have correct headers", () => {
    expect(unifiedDiff("a\n", "new\na\n", "a", "b")).toBe("--- a\n+++ b\n@@ -1,1 +1,2 @@\n+new\n a\n");
    expect(unifiedDiff("a\nb\n", "a\n", "a", "b")).toBe("--- a\n+++ b\n@@ -1,2 +1,1 @@\n a\n-b\n");
    expect(unifiedDiff("", "x\n", "a", "b")).toBe("--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
  });

  test("applying the diff to the old text gives the new text (many generated edits)", () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: rand(40) }, () => `v${rand(6)}`);
      const b = [...a];
      for (let k = rand(8); k > 0; k--) {
        const op = rand(3);
        const i = rand(b.length + 1);
        if (op === 0) b.splice(i, 0, `n${rand(6)}`);
        else if (op === 1 && b.length) b.splice(i % b.length, 1);
        else if (b.length) b[i % b.length] = `c${rand(6)}`;
      }
      const at = a.length ? `${a.join("\n")}\n` : "";
      const bt = b.length ? `${b.join("\n")}\n` : "";
      expect(applyDiff(at, unifiedDiff(at, bt, "a", "b"))).toBe(bt);
    }
  });

  test("large files with a small change stay fast", () => {
    const a = Array.from({ length: 50_000 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const b = a.replace("line 100\n", "changed\n").replace("line 40000\n", "changed too\n");
    const t = performance.now();
    const d = unifiedDiff(a, b, "a", "b");
    expect(performance.now() - t).toBeLessThan(2000);
    expect(applyDiff(a, d)).toBe(b);
  });
});
