/** Adding `_meta` members by splicing: the result parses to the message with the members set, and the rest of the text is untouched. */
import { describe, expect, test } from "bun:test";
import { memberSpan, spliceMeta } from "../../src/wire/meta-splice.ts";

const M = '"io.rmcp-mux/sessionId":"s-1","io.rmcp-mux/workspace":"file:///a"';
const want = { "io.rmcp-mux/sessionId": "s-1", "io.rmcp-mux/workspace": "file:///a" };

describe("spliceMeta", () => {
  test("creates params, or _meta, or adds to an existing _meta, keeping everything else", () => {
    const cases: Array<[string, unknown]> = [
      ['{"jsonrpc":"2.0","id":1,"method":"tools/list"}', { _meta: want }],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}', { _meta: want }],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"_meta":{"no":1}}}}', { name: "x", arguments: { _meta: { no: 1 } }, _meta: want }],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{},"name":"x"}}', { _meta: want, name: "x" }],
      ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":5},"name":"x"}}', { _meta: { progressToken: 5, ...want }, name: "x" }],
      [' { "params" : { "_meta" : { "a" : "}" } } , "jsonrpc":"2.0","id":1,"method":"m" } ', { _meta: { a: "}", ...want } }],
      ['{"jsonrpc":"2.0","id":1,"method":"m","params":{"t":"\\"_meta\\":{}","_meta":{"b":[1,{"c":"]"}]}}}', { t: '"_meta":{}', _meta: { b: [1, { c: "]" }], ...want } }],
      // _meta spelled with an escape is still the _meta member
      ['{"jsonrpc":"2.0","id":1,"method":"m","params":{"\\u005fmeta":{"keep":true}}}', { _meta: { keep: true, ...want } }],
    ];
    for (const [line, params] of cases) {
      const out = spliceMeta(line, M);
      expect({ line, params: JSON.parse(out as string).params }).toEqual({ line, params });
      expect(JSON.parse(out as string).id).toBe(1);
    }
  });

  test("a large argument is carried over as the same text", () => {
    const big = "x".repeat(100_000);
    const line = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"data":"${big}"}}}`;
    const out = spliceMeta(line, M) as string;
    expect(out.startsWith(line.slice(0, line.length - 2))).toBe(true);
    expect(out.endsWith("}}")).toBe(true);
    expect(out.length).toBe(line.length + `,"_meta":{${M}}`.length);
  });

  test("params or _meta that is not an object is left to the caller", () => {
    expect(spliceMeta('{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}', M)).toBeNull();
    expect(spliceMeta('{"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":null}}', M)).toBeNull();
  });

  test("memberSpan finds the last of duplicate keys, and keys written with escapes", () => {
    const s = '{"a":1,"a":{"x":2},"\\u0062":"b"}';
    const a = memberSpan(s, 0, "a")!;
    expect(s.slice(a[0], a[1])).toBe('{"x":2}');
    const b = memberSpan(s, 0, "b")!;
    expect(s.slice(b[0], b[1])).toBe('"b"');
    expect(memberSpan(s, 0, "c")).toBeNull();
    expect(memberSpan("{}", 0, "a")).toBeNull();
  });
});
