/**
 * The router's fast path, its test: a request line with no escapes, `"jsonrpc":"2.0"`, an id that is a plain
 * integer or string, and a method with no rule of its own (one of `ownRules`, the dispatch table's request
 * methods, would need its family) is forwarded without `JSON.parse`.
 */
import type { JsonId } from "../wire/jsonrpc.ts";
import { scanPlainRequest, type RequestSpans } from "../wire/plain-request.ts";
import { plainIntegerAt } from "../wire/scan.ts";

/** The client's id of such a line (its span is then in `s`), or null: parse the line as usual. */
export function plainKey(line: string, s: RequestSpans, ownRules: readonly string[]): JsonId | null {
  if (!scanPlainRequest(line, s) || s.idStart < 0 || s.methodStart < 0) return null;
  if (s.jsonrpcEnd - s.jsonrpcStart !== 5 || !line.startsWith('"2.0"', s.jsonrpcStart)) return null;
  if (line.charCodeAt(s.methodStart) !== 34 || hasOwnRule(line, s.methodStart + 1, s.methodEnd - 1, ownRules)) return null;
  if (line.charCodeAt(s.idStart) === 34) return line.slice(s.idStart + 1, s.idEnd - 1);
  const key = plainIntegerAt(line, s.idStart, s.idEnd);
  return key < 0 ? null : key;
}

function hasOwnRule(line: string, start: number, end: number, ownRules: readonly string[]): boolean {
  const len = end - start;
  for (const m of ownRules) if (m.length === len && line.startsWith(m, start)) return true;
  return false;
}
