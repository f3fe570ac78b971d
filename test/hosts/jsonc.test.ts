import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { JsoncError, memberEntry, memberOf, parseJsonc, toValue } from "../../src/hosts/jsonc.ts";
import { FIXTURE_HOME, HOST_FILES } from "../onboard/fixture-home.ts";

describe("parseJsonc", () => {
  test("reads comments and trailing commas as VS Code writes them", () => {
    const text = `// top\n{\n  /* block */ "a": [1, 2,], // tail\n  "b": {"c": "x\\"y",},\n}\n`;
    expect(toValue(parseJsonc(text))).toEqual({ a: [1, 2], b: { c: 'x"y' } });
  });

  test("every value knows its exact text span", () => {
    const text = `{ "servers": { "m": {"command": "npx", "args": ["-y"]} }, "n": -1.5e3 }`;
    const root = parseJsonc(text);
    const m = memberEntry(memberOf(root, "servers"), "m")!;
    expect(text.slice(m.keyStart, m.keyStart + 3)).toBe('"m"');
    expect(text.slice(m.value.start, m.value.end)).toBe('{"command": "npx", "args": ["-y"]}');
    const cmd = memberOf(m.value, "command")!;
    expect(text.slice(cmd.start, cmd.end)).toBe('"npx"');
    expect(toValue(memberOf(root, "n")!)).toBe(-1500);
  });

  test("the last of duplicate keys wins, as in JSON.parse", () => {
    expect(toValue(memberOf(parseJsonc(`{"a": 1, "a": 2}`), "a")!)).toBe(2);
  });

  test.each([
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, 'expected "," or "}"'],
    ['{\n  "a": "open\n}', 2, 13, "line break inside a string"],
    ["{ /* never closed", 1, 3, "unterminated comment"],
    ['{"a": 1} x', 1, 10, "unexpected text after the document"],
    ['{"a": tru}', 1, 7, "unexpected character"],
  ])("syntax errors name line and column: %j", (text, line, column, reason) => {
    let err: unknown;
    try {
      parseJsonc(text as string);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsoncError);
    expect((err as JsoncError).line).toBe(line as number);
    expect((err as JsoncError).column).toBe(column as number);
    expect((err as Error).message).toContain(reason as string);
  });

  test("agrees with JSON.parse on every strict-JSON fixture file", () => {
    for (const [host, rel] of Object.entries(HOST_FILES)) {
      if (host === "codex" || host === "vscode") continue;
      const text = readFileSync(path.join(FIXTURE_HOME, rel), "utf8");
      expect(toValue(parseJsonc(text))).toEqual(JSON.parse(text));
    }
  });
});
