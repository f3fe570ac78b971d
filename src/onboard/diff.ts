/**
 * Unified line diffs for `rewire --dry-run`. Myers' O(ND) shortest edit script: host files (~/.claude.json) can be
 * thousands of lines while a rewire changes a few, so the cost follows the size of the change, not of the file. Pure.
 */

type Op = { t: " " | "-" | "+"; line: string };

/** Past this many differences the exact script is not worth the memory: report the middle as replaced. */
const MAX_EDITS = 4000;

function editScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) x++, y++;
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d, off);
    }
  }
  return [...a.map((line) => ({ t: "-" as const, line })), ...b.map((line) => ({ t: "+" as const, line }))];
}

function backtrack(a: string[], b: string[], trace: Int32Array[], dEnd: number, off: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d--) {
    const v = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? k + 1 : k - 1;
    const prevX = v[off + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ t: " ", line: a[--x]! }), y--;
    if (x === prevX) ops.push({ t: "+", line: b[--y]! });
    else ops.push({ t: "-", line: a[--x]! });
  }
  while (x > 0) ops.push({ t: " ", line: a[--x]! }), y--;
  return ops.reverse();
}

const lines = (s: string) => (s === "" ? [] : (s.endsWith("\n") ? s.slice(0, -1) : s).split("\n"));

/** `--- a` / `+++ b` and `@@` hunks with `context` lines around each change; "" when the texts are equal. */
export function unifiedDiff(before: string, after: string, aName: string, bName: string, context = 3): string {
  if (before === after) return "";
  const ops = editScript(lines(before), lines(after));
  const out = [`--- ${aName}`, `+++ ${bName}`];
  const changed = ops.map((o, i) => (o.t === " " ? -1 : i)).filter((i) => i >= 0);
  let i = 0;
  while (i < changed.length) {
    // A hunk runs from the first change to the last one that is within 2*context unchanged lines of the previous.
    let j = i;
    while (j + 1 < changed.length && changed[j + 1]! - changed[j]! <= 2 * context + 1) j++;
    const from = Math.max(0, changed[i]! - context);
    const to = Math.min(ops.length, changed[j]! + context + 1);
    let aStart = 1;
    let bStart = 1;
    for (const o of ops.slice(0, from)) {
      if (o.t !== "+") aStart++;
      if (o.t !== "-") bStart++;
    }
    const hunk = ops.slice(from, to);
    const aLen = hunk.filter((o) => o.t !== "+").length;
    const bLen = hunk.filter((o) => o.t !== "-").length;
    out.push(`@@ -${aLen ? aStart : aStart - 1},${aLen} +${bLen ? bStart : bStart - 1},${bLen} @@`);
    for (const o of hunk) out.push(`${o.t}${o.line}`);
    i = j + 1;
  }
  return `${out.join("\n")}\n`;
}
