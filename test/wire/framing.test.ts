import { describe, expect, test } from "bun:test";
import { LineDecoder } from "../../src/wire/framing.ts";

function decoder(max = 1024) {
  const lines: string[] = [];
  const oversize: number[] = [];
  const d = new LineDecoder(max, { onLine: (l) => lines.push(l), onOversize: (n) => oversize.push(n) });
  return { d, lines, oversize };
}
const b = (s: string) => Buffer.from(s);

describe("LineDecoder", () => {
  test("splits on newlines across arbitrary chunk boundaries and strips \\r", () => {
    const { d, lines } = decoder();
    d.push(b('{"a":1}\n{"b"'));
    d.push(b(":2}\r\n\n  \n{"));
    d.push(b('"c":3}\n'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  test("a multi-byte character split between chunks is decoded whole", () => {
    const { d, lines } = decoder();
    const bytes = b('{"t":"żółw 🐢"}\n');
    for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1));
    expect(lines).toEqual(['{"t":"żółw 🐢"}']);
  });

  test("a line over the cap is reported once, not buffered, and the next line still arrives", () => {
    const { d, lines, oversize } = decoder(100);
    d.push(b("x".repeat(60)));
    d.push(b("x".repeat(60)));
    expect(d.buffered).toBe(0);
    d.push(b("x".repeat(5000)));
    d.push(b('xx\n{"ok":1}\n'));
    expect(oversize).toHaveLength(1);
    expect(lines).toEqual(['{"ok":1}']);
  });

  test("an oversize line inside a single chunk is reported and skipped", () => {
    const { d, lines, oversize } = decoder(10);
    d.push(b(`${"y".repeat(50)}\n{"a":1}\n`));
    expect(oversize).toEqual([50]);
    expect(lines).toEqual(['{"a":1}']);
  });

  test("the cap counts bytes, not characters", () => {
    const { d, lines, oversize } = decoder(10);
    d.push(b(`${"ż".repeat(6)}\n`)); // 6 characters, 12 bytes
    expect(lines).toEqual([]);
    expect(oversize).toEqual([12]);
  });
});
