import { describe, expect, test } from "bun:test";
import { emptySpans, methodOf, scanTopLevel, splice } from "../../src/router/scan.ts";

const s = emptySpans();
const idOf = (text: string) => (scanTopLevel(text, s) ? text.slice(s.idStart, s.idEnd) : undefined);

describe("scanTopLevel", () => {
  test("finds the top-level id wherever it stands", () => {
    expect(idOf('{"jsonrpc":"2.0","id":7,"method":"x"}')).toBe("7");
    expect(idOf('{"method":"x","params":{"id":"inner"},"id":"outer"}')).toBe('"outer"');
    expect(idOf('{ "result" : { "a" : [1, {"id": 3}] } , "id" : -12.5e3 }')).toBe("-12.5e3");
  });

  test("ignores look-alikes inside strings and nested values", () => {
    const text = '{"params":{"text":"\\"id\\":99 } { ]"},"note":"\\\\","id":"a\\"b"}';
    expect(idOf(text)).toBe('"a\\"b"');
  });

  test("reports method, result and error spans", () => {
    const text = '{"jsonrpc":"2.0","method":"tools/call","params":{}}';
    expect(scanTopLevel(text, s)).toBe(true);
    expect(methodOf(text, s)).toBe("tools/call");
    expect(s.idStart).toBe(-1);
    expect(s.hasParams).toBe(true);
    const r = '{"id":1,"result":{"x":[1,2]}}';
    scanTopLevel(r, s);
    expect(r.slice(s.resultStart, s.resultEnd)).toBe('{"x":[1,2]}');
    const e = '{"id":1,"error":{"code":-1,"message":"m"}}';
    scanTopLevel(e, s);
    expect(e.slice(s.errorStart, s.errorEnd)).toBe('{"code":-1,"message":"m"}');
  });

  test("decodes an escaped method name", () => {
    const text = '{"method":"tools\\/list","id":1}';
    scanTopLevel(text, s);
    expect(methodOf(text, s)).toBe("tools/list");
  });

  test("rejects what is not an object", () => {
    for (const bad of ["", "Server started", "[1,2]", '"str"', "{", '{"a"', '{"a":', '{"a":1', '{"a" 1}']) {
      expect(scanTopLevel(bad, s)).toBe(false);
    }
  });

  test("splice swaps exactly the given range", () => {
    const text = '{"id":123,"result":{}}';
    scanTopLevel(text, s);
    expect(splice(text, s.idStart, s.idEnd, '"x"')).toBe('{"id":"x","result":{}}');
  });

  test("agrees with JSON.parse on the id of generated messages", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const value = (d: number): unknown => {
      const k = Math.floor(rnd() * 6);
      if (d > 3 || k === 0) return Math.floor(rnd() * 1e6);
      if (k === 1) return `s"\\{[${rnd()}`;
      if (k === 2) return [value(d + 1), value(d + 1)];
      if (k === 3) return { id: value(d + 1), "x\"y": value(d + 1) };
      return k === 4 ? null : true;
    };
    for (let i = 0; i < 2000; i++) {
      const id = rnd() < 0.5 ? Math.floor(rnd() * 1e9) : `id-${i}"\\`;
      const msg = rnd() < 0.5 ? { jsonrpc: "2.0", params: value(0), id, method: "m" } : { result: value(0), jsonrpc: "2.0", id };
      const text = JSON.stringify(msg, null, rnd() < 0.3 ? 1 : undefined);
      expect(JSON.parse(idOf(text) as string)).toEqual(id);
    }
  });
});
