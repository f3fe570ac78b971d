/**
 * Framing fuzz: random chunk boundaries (inside multi-byte characters, inside "\r\n", one byte at a time, huge
 * chunks), compared with a reference model — first on the pure LineDecoder (src/wire/framing.ts), then through a
 * real daemon socket, where every request must come back exactly once with its text intact.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { LineDecoder } from "../../src/wire/framing.ts";
import { cleanupAll, RawClient, reasonOf, rng, startDaemon, writeConfig, type Rng } from "./helpers.ts";

afterAll(cleanupAll);

type Event = { line: string } | { oversize: true };

const PIECES = ["a", "z", " ", "{", "}", '"', "\\", "é", "ß", "€", "中", "😀", "🏳️‍🌈", "\t", "\r", "\u0000", "\u2028"];

function randomLine(r: Rng, cap: number): string {
  const x = r.next();
  let len: number;
  if (x < 0.05) len = 0;
  else if (x < 0.1) len = cap + r.int(40) - 20; // around the cap
  else if (x < 0.13) len = cap * (2 + r.int(5)); // well over it
  else len = r.int(Math.min(cap, 200));
  let s = "";
  while (Buffer.byteLength(s) < len) s += r.pick(PIECES);
  if (x >= 0.05 && x < 0.08) s = " \t ".repeat(1 + r.int(3)); // whitespace only
  return s;
}

/** What a correct decoder emits for these bytes: complete lines only, "\r" stripped, blank lines skipped. */
function reference(all: Buffer, cap: number): Event[] {
  const out: Event[] = [];
  let start = 0;
  for (;;) {
    const nl = all.indexOf(10, start);
    if (nl < 0) break;
    const seg = all.subarray(start, nl);
    if (seg.length > cap) out.push({ oversize: true });
    else {
      const end = seg.length > 0 && seg[seg.length - 1] === 13 ? seg.length - 1 : seg.length;
      const text = seg.toString("utf8", 0, end);
      if (text.trim().length > 0) out.push({ line: text });
    }
    start = nl + 1;
  }
  // an unfinished line is reported as soon as it crosses the cap (not buffered until its newline)
  if (all.length - start > cap) out.push({ oversize: true });
  return out;
}

function chunkUp(r: Rng, all: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let off = 0;
  while (off < all.length) {
    const mode = r.next();
    const n = mode < 0.3 ? 1 : mode < 0.6 ? 1 + r.int(8) : mode < 0.9 ? 1 + r.int(300) : 1 + r.int(20_000);
    chunks.push(all.subarray(off, off + n));
    off += n;
  }
  return chunks;
}

describe("framing fuzz", () => {
  test("LineDecoder under random chunking matches the reference model (400 seeded cases)", () => {
    let cases = 0;
    let lines = 0;
    let oversize = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(0xf4a11 + seed);
      const cap = r.pick([16, 64, 1000, 4096]);
      const parts: string[] = [];
      for (let i = 1 + r.int(40); i > 0; i--) parts.push(randomLine(r, cap) + r.pick(["\n", "\n", "\r\n", "\n\n", "\r\n\r\n"]));
      const tail = r.chance(0.3) ? randomLine(r, cap) : ""; // an unfinished last line stays buffered
      const all = Buffer.from(parts.join("") + tail);
      const got: Event[] = [];
      const d = new LineDecoder(cap, { onLine: (l) => got.push({ line: l }), onOversize: () => got.push({ oversize: true }) });
      for (const c of chunkUp(r, all)) {
        // the caller may reuse a chunk's memory after push(): hand the decoder a copy, then scribble on it
        const copy = Buffer.from(c);
        d.push(copy);
        copy.fill(0x41);
      }
      const want = reference(all, cap);
      // what is still buffered is exactly the unfinished tail (or nothing, if it is over the cap)
      const tailBytes = all.length - (all.lastIndexOf(10) + 1);
      const same = JSON.stringify(got) === JSON.stringify(want) && d.buffered === (tailBytes > cap ? 0 : tailBytes);
      if (!same) {
        // only build the (large) diff when something is wrong
        expect({ seed, cap, events: got, buffered: d.buffered }).toEqual({ seed, cap, events: want, buffered: tailBytes > cap ? 0 : tailBytes });
      }
      cases++;
      lines += want.filter((e) => "line" in e).length;
      oversize += want.filter((e) => "oversize" in e).length;
    }
    expect(cases).toBe(400);
    expect(lines).toBeGreaterThan(3000);
    expect(oversize).toBeGreaterThan(100);
  }, 120_000);

  test("through a daemon socket: 600 requests written in random pieces all come back once, text intact", async () => {
    const cfg = writeConfig(undefined, { f: { max_request_bytes: 8192 } });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.f!);
    await c.initialize({ timeoutMs: 20_000 });
    const r = rng(0xbeef);
    const texts: string[] = [];
    const wire: string[] = [];
    let oversizeSent = 0;
    for (let i = 0; i < 600; i++) {
      let text = `${i}:`;
      for (let k = r.int(60); k > 0; k--) text += r.pick(PIECES.filter((p) => p !== "\r"));
      texts.push(text);
      const line = JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "echo", arguments: { text } } });
      wire.push(line + r.pick(["\n", "\r\n", "\n\n", "\n \n"]));
      if (r.chance(0.02)) {
        wire.push(`${"x".repeat(9000)}\n`); // over max_request_bytes: one error, the stream goes on
        oversizeSent++;
      }
    }
    const all = Buffer.from(wire.join(""));
    for (const piece of chunkUp(r, all)) {
      c.sendRaw(piece);
      await c.flushed();
      await new Promise((resolve) => setImmediate(resolve)); // let the daemon read this piece on its own
    }
    for (let i = 0; i < 600; i++) await c.response(i, 20_000);
    await c.request("ping", undefined, "end", 20_000);
    const answers = c.history.filter((h) => typeof h.msg.id === "number" && h.msg.id < 600);
    expect(answers).toHaveLength(600);
    for (const h of answers) expect(h.msg.result?.content?.[0]?.text).toBe(texts[h.msg.id as number]!);
    expect(c.history.filter((h) => h.msg.id === null && reasonOf(h.msg) === "too_large")).toHaveLength(oversizeSent);
    expect(c.history.filter((h) => h.parseError)).toEqual([]);
  }, 120_000);
});
