import { describe, expect, test } from "bun:test";
import { emptySpans, methodOf, plainIntegerAt, quickRequestId, quickRequestSpan, quickResponseId, scanTopLevel, splice } from "../../src/wire/scan.ts";

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

describe("fast id paths", () => {
  const full = emptySpans();
  const quick = emptySpans();

  test("find the id last (TypeScript SDK) and second (Python SDK, hand-written)", () => {
    const sdk = '{"method":"tools/call","params":{"name":"echo"},"jsonrpc":"2.0","id":7}';
    expect(quickRequestId(sdk, quick, 7)).toBe(true);
    expect(sdk.slice(quick.idStart, quick.idEnd)).toBe("7");
    const py = '{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{}}';
    expect(quickRequestId(py, quick, "a-1")).toBe(true);
    expect(py.slice(quick.idStart, quick.idEnd)).toBe('"a-1"');
    expect(quickResponseId('{"result":{"x":1},"jsonrpc":"2.0","id":12}', quick)).toBe(true);
    expect(quickResponseId('{"jsonrpc":"2.0","id":12,"result":{}}', quick)).toBe(true);
  });

  test("decline what they cannot be sure of", () => {
    // another "id" after the prefix one (could be a duplicate key, which JSON.parse resolves to the last)
    expect(quickRequestId('{"jsonrpc":"2.0","id":1,"method":"m","params":{"id":2}}', quick, 1)).toBe(false);
    // an escaped string id, a value that is not the parsed id, requests and errors on the response path
    expect(quickRequestId('{"method":"m","jsonrpc":"2.0","id":"a\\"b"}', quick, 'a"b')).toBe(false);
    expect(quickRequestId('{"method":"m","params":{"k":",\\"id\\":5}"},"id":6}', quick, 6)).toBe(true);
    expect(quickRequestId('{"method":"m","params":{"id":5}}', quick, undefined)).toBe(false);
    expect(quickResponseId('{"method":"x","jsonrpc":"2.0","id":1}', quick)).toBe(false);
    expect(quickResponseId('{"jsonrpc":"2.0","id":1,"error":{}}', quick)).toBe(false);
    expect(quickResponseId('{"result":{"a":{"id":5}}}', quick)).toBe(false);
    expect(quickRequestSpan('{"method":"notifications/x","params":{"id":5}}', quick)).toBe(false);
    expect(quickRequestSpan('{"jsonrpc":"2.0","id":3,"result":{}}', quick)).toBe(false);
  });

  test("whenever they answer, they agree with the full scan (generated messages, hostile strings)", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const nasty = [',"id":5}', '"id":', '\\"', '\\\\', "}", '{"jsonrpc":"2.0","id":9,'];
    const str = () => nasty[Math.floor(rnd() * nasty.length)]! + String(Math.floor(rnd() * 100));
    let answered = 0;
    for (let i = 0; i < 3000; i++) {
      const id = rnd() < 0.5 ? Math.floor(rnd() * 1e6) : `r${i}`;
      const body = { name: str(), arguments: rnd() < 0.5 ? { id: rnd() < 0.3 ? str() : 5, text: str() } : { text: str() } };
      const shapes = [
        { method: "tools/call", params: body, jsonrpc: "2.0", id },
        { jsonrpc: "2.0", id, method: "tools/call", params: body },
        { result: body, jsonrpc: "2.0", id },
        { jsonrpc: "2.0", id, result: body },
      ];
      for (const m of shapes) {
        const text = JSON.stringify(m);
        scanTopLevel(text, full);
        const isResponse = "result" in m;
        if (!isResponse && quickRequestSpan(text, quick)) {
          expect([quick.idStart, quick.idEnd]).toEqual([full.idStart, full.idEnd]);
        }
        const ok = isResponse ? quickResponseId(text, quick) : quickRequestId(text, quick, id);
        if (!ok) continue;
        answered++;
        expect([quick.idStart, quick.idEnd]).toEqual([full.idStart, full.idEnd]);
      }
    }
    expect(answered).toBeGreaterThan(8000); // both paths exercised: suffix shapes always, prefix ones about half
  });
});

describe("plainIntegerAt", () => {
  test("reads plain digits in place and refuses every other spelling", () => {
    const at = (t: string) => plainIntegerAt(`x${t}y`, 1, t.length + 1);
    expect([at("0"), at("7"), at("123456789012345")]).toEqual([0, 7, 123456789012345]);
    for (const t of ["", "01", "-1", "1.0", "1e3", "+1", "1234567890123456", "a", '"1"']) expect([t, at(t)]).toEqual([t, -1]);
  });
});
