import { describe, expect, test } from "bun:test";
import { streamLines, TextLines } from "../../src/runtime/text-lines.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("TextLines", () => {
  test("splits across chunk boundaries, mid-character included, strips \\r, keeps empty lines", () => {
    const got: string[] = [];
    const t = new TextLines((l) => got.push(l));
    const all = bytes("a\r\n\nhé");
    // "é" is two bytes: cut between them
    t.push(all.subarray(0, 5));
    t.push(all.subarray(5));
    t.push(bytes("llo\nlast"));
    expect(got).toEqual(["a", "", "héllo"]);
    t.end();
    expect(got).toEqual(["a", "", "héllo", "last"]);
  });

  test("a line without a newline is passed on once it is longer than maxLine", () => {
    const got: string[] = [];
    const t = new TextLines((l) => got.push(l), 8);
    t.push(bytes("0123456789abc"));
    t.push(bytes("de\n"));
    expect(got).toEqual(["0123456789abc", "de"]);
  });
});

describe("streamLines", () => {
  test("reads a stream to its end, the unterminated last line included", async () => {
    const got: string[] = [];
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes("one\ntw"));
        c.enqueue(bytes("o\nthree"));
        c.close();
      },
    });
    await streamLines(stream, (l) => got.push(l));
    expect(got).toEqual(["one", "two", "three"]);
  });

  test("a stream that breaks keeps what came and resolves", async () => {
    const got: string[] = [];
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        // the first read gets data, the second finds the writer gone
        if (pulls++ === 0) c.enqueue(bytes("kept\npartial"));
        else c.error(new Error("writer gone"));
      },
    });
    await streamLines(stream, (l) => got.push(l));
    expect(got).toEqual(["kept", "partial"]);
  });
});
