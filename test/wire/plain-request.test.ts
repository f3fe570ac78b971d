import { describe, expect, test } from "bun:test";
import { emptyRequestSpans, scanPlainRequest } from "../../src/wire/plain-request.ts";

const spans = emptyRequestSpans();
const scan = (s: string) => scanPlainRequest(s, spans);
const text = (s: string, a: number, b: number) => (a < 0 ? undefined : s.slice(a, b));

describe("scanPlainRequest", () => {
  test("finds the top-level id, method and jsonrpc of a request, wherever they stand", () => {
    const a = '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":{"id":"x","method":1}}}';
    expect(scan(a)).toBe(true);
    expect([text(a, spans.idStart, spans.idEnd), text(a, spans.methodStart, spans.methodEnd), text(a, spans.jsonrpcStart, spans.jsonrpcEnd)]).toEqual(["12", '"tools/call"', '"2.0"']);
    const b = ' { "method" : "a/b" , "params" : [ 1 , -2.5e+3 , true , false , null , [ ] , { } ] , "id" : "q" , "jsonrpc" : "2.0" } ';
    expect(scan(b)).toBe(true);
    expect([text(b, spans.idStart, spans.idEnd), text(b, spans.methodStart, spans.methodEnd)]).toEqual(['"q"', '"a/b"']);
  });

  test("the last of duplicate keys wins, as in JSON.parse", () => {
    const s = '{"jsonrpc":"2.0","id":1,"method":"a","id":2,"method":"initialize"}';
    expect(scan(s)).toBe(true);
    expect(text(s, spans.idStart, spans.idEnd)).toBe("2");
    expect(text(s, spans.methodStart, spans.methodEnd)).toBe('"initialize"');
  });

  test("declines what it does not check: escapes, control characters, deep nesting", () => {
    expect(scan('{"id":1,"method":"a\\u0062"}')).toBe(false);
    expect(scan('{"id":1,"method":"a","params":{"t":"x\ty"}}')).toBe(false);
    expect(scan(`{"id":1,"params":${"[".repeat(70)}${"]".repeat(70)}}`)).toBe(false);
    expect(scan(`{"id":1,"params":${"[".repeat(60)}${"]".repeat(60)}}`)).toBe(true);
  });

  test("refuses malformed JSON", () => {
    for (const bad of [
      "",
      "[]",
      '"x"',
      "{",
      "{}}",
      "{} x",
      '{"id":1,}',
      '{"id":01}',
      '{"id":1.}',
      '{"id":.5}',
      '{"id":+1}',
      '{"id":-}',
      '{"id":1e}',
      '{"id":1e+}',
      '{"id":tru}',
      '{"id":nul}',
      '{"id":truex}',
      '{"id":[1,]}',
      '{"id":[,1]}',
      '{"id":{"a"}}',
      '{"id":{"a":1,}}',
      '{"id":{a:1}}',
      '{"id" 1}',
      '{"id":1 "method":"a"}',
      '{id:1}',
      '{"id":"unterminated}',
      "{'id':1}",
      "\uFEFF{}",
    ]) {
      expect([bad, scan(bad)]).toEqual([bad, false]);
    }
  });

  test("agrees with JSON.parse on 200,000 mutated lines: whatever it accepts parses, with the same top level", () => {
    // A seeded generator: the same lines on every run.
    let seed = 0x2545f491;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const bases = [
      '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","n":[1,2.5,-3e2,true,false,null]}}}',
      '{"method":"resources/read","params":{"uri":"file:///a b"},"jsonrpc":"2.0","id":"r-1"}',
      '{ "jsonrpc" : "2.0" , "id" : 0 , "method" : "prompts/get" , "params" : { } }',
    ];
    const alphabet = '{}[]:,"0123456789-+.eEtrufalsn \t\\x';
    let accepted = 0;
    for (let k = 0; k < 200_000; k++) {
      const chars = [...(bases[rnd(bases.length)] as string)];
      for (let m = 1 + rnd(3); m > 0; m--) {
        const at = rnd(chars.length + 1);
        const op = rnd(3);
        const ch = alphabet[rnd(alphabet.length)] as string;
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      const line = chars.join("");
      if (!scan(line)) continue;
      accepted++;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`accepted, but JSON.parse refuses: ${line}`);
      }
      expect(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)).toBe(true);
      const top = (a: number, b: number) => (a < 0 ? undefined : JSON.parse(line.slice(a, b)));
      expect([line, top(spans.idStart, spans.idEnd)]).toEqual([line, parsed.id]);
      expect([line, top(spans.methodStart, spans.methodEnd)]).toEqual([line, parsed.method]);
      expect([line, top(spans.jsonrpcStart, spans.jsonrpcEnd)]).toEqual([line, parsed.jsonrpc]);
    }
    // the mutations must leave enough valid lines for the comparison to mean something
    expect(accepted).toBeGreaterThan(10_000);
  });
});

describe("what the router must read", () => {
  test("a nested key task or progressToken declines the line; the same words as values do not", () => {
    expect(scan('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"task":{"ttl":1}}}')).toBe(false);
    expect(scan('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":1}}}')).toBe(false);
    expect(scan('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"task","arguments":{"text":"progressToken"}}}')).toBe(true);
  });
});
