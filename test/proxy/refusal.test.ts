/** Which daemon line is a refusal of the connection (and so must not be taken for a lost connection). */
import { describe, expect, test } from "bun:test";
import { refusalOf } from "../../src/proxy/proxy.ts";
import { connectionLimitLine } from "../../src/runtime/links/refuse.ts";
import { errorLine, INTERNAL_ERROR } from "../../src/wire/jsonrpc.ts";

describe("refusalOf", () => {
  test("the daemon's max_connections refusal is one, with its message", () => {
    expect(refusalOf(connectionLimitLine(3))).toMatch(/at most 3 \(max_connections\)/);
  });

  test("anything else is not: an answer with an id, another reason, a result, garbage", () => {
    expect(refusalOf(errorLine("1", INTERNAL_ERROR, "x", "connection_limit"))).toBeNull();
    expect(refusalOf(errorLine("null", INTERNAL_ERROR, "x", "client_limit"))).toBeNull();
    expect(refusalOf('{"jsonrpc":"2.0","id":null,"result":{"note":"connection_limit"}}')).toBeNull();
    expect(refusalOf('not json "connection_limit"')).toBeNull();
  });
});
