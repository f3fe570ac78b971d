/** The `max_instances` refusal, as a refused client reads it: ids as it spelled them, batches, bad lines. */
import { describe, expect, test } from "bun:test";
import { refusalOf } from "../../src/runtime/lobby-lines.ts";

const MESSAGE = "too many instances of s (max_instances = 2)";
const parsed = (line: string | null) => JSON.parse(line as string);

describe("refusalOf", () => {
  test("a request gets the error under its id exactly as it was written", () => {
    const line = refusalOf('{"jsonrpc":"2.0","id":1.0,"method":"tools/list"}', MESSAGE, 2);
    expect(line).toContain('"id":1.0,');
    expect(parsed(line).error).toMatchObject({ code: -32603, message: MESSAGE, data: { reason: "max_instances", limit: 2 } });
    const escaped = refusalOf('{"jsonrpc":"2.0","method":"ping","id":"a\\u00e9\\"b"}', MESSAGE, 2);
    expect(escaped).toContain('"id":"a\\u00e9\\"b",');
    expect(parsed(escaped).id).toBe('aé"b');
  });

  test("a batch gets an array with one error per request, none for its notifications", () => {
    const line = refusalOf(
      '[{"jsonrpc":"2.0","id":7,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"x","method":"ping"}]',
      MESSAGE,
      2,
    );
    const answers = parsed(line) as Array<{ id: unknown; error: { data: { reason: string } } }>;
    expect(answers.map((a) => a.id)).toEqual([7, "x"]);
    expect(answers.every((a) => a.error.data.reason === "max_instances")).toBe(true);
    expect(refusalOf('[{"jsonrpc":"2.0","method":"notifications/initialized"}]', MESSAGE, 2)).toBeNull();
  });

  test("notifications and answers get nothing; a line that is not JSON gets a parse error with id null", () => {
    expect(refusalOf('{"jsonrpc":"2.0","method":"notifications/initialized"}', MESSAGE, 2)).toBeNull();
    expect(refusalOf('{"jsonrpc":"2.0","id":3,"result":{}}', MESSAGE, 2)).toBeNull();
    expect(refusalOf('{"jsonrpc":"2.0","id":3,"method":5}', MESSAGE, 2)).toBeNull(); // not a request: its method is no string
    const bad = parsed(refusalOf('{"jsonrpc":"2.0","id":4,"method":', MESSAGE, 2));
    expect(bad).toMatchObject({ id: null, error: { code: -32700, data: { reason: "parse_error" } } });
  });
});
