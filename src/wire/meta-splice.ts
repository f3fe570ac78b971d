/**
 * Adding members to a request's `params._meta` by splicing text, not by re-serialising the message: a
 * request may carry a large argument that there is no reason to re-encode. The members go last in `_meta`,
 * so a reader that keeps the last of duplicate keys (JSON.parse, Python's json, Go's encoding/json) sees
 * the ones added here.
 */
import { stringEnd, valueEnd } from "./scan.ts";

function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

/** A backslash in [from, to) (for a key: it looks at the key only, never past it). */
function hasEscape(s: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (s.charCodeAt(k) === 92) return true;
  return false;
}

/**
 * The [start, end) span of the value of the last member named `key` of the object that starts at `at`
 * (its `{`), or null when the object has no such member or could not be walked.
 */
export function memberSpan(s: string, at: number, key: string): [number, number] | null {
  if (s.charCodeAt(at) !== 123) return null;
  let found: [number, number] | null = null;
  let i = skipWs(s, at + 1);
  if (s.charCodeAt(i) === 125) return null;
  for (;;) {
    if (s.charCodeAt(i) !== 34) return null;
    const keyEnd = stringEnd(s, i);
    if (keyEnd === -1) return null;
    // Compared in place (no slice) unless the key is spelled with escapes.
    const match = hasEscape(s, i + 1, keyEnd - 1)
      ? JSON.parse(s.slice(i, keyEnd)) === key
      : keyEnd - i - 2 === key.length && s.startsWith(key, i + 1);
    i = skipWs(s, keyEnd);
    if (s.charCodeAt(i) !== 58) return null;
    i = skipWs(s, i + 1);
    const vEnd = valueEnd(s, i);
    if (vEnd === -1) return null;
    if (match) found = [i, vEnd];
    i = skipWs(s, vEnd);
    const sep = s.charCodeAt(i);
    if (sep === 125) return found;
    if (sep !== 44) return null;
    i = skipWs(s, i + 1);
  }
}

/** `members` (`"k":v,"k2":v2`) added last inside the object whose closing `}` is at `close`. */
function appendMembers(s: string, open: number, close: number, members: string): string {
  const empty = skipWs(s, open + 1) === close;
  return s.slice(0, close) + (empty ? "" : ",") + members + s.slice(close);
}

/**
 * The request `line` (a JSON object) with `members` added to `params._meta`, creating `params` and
 * `_meta` as needed; null when `params` or `_meta` is there but not an object (then the caller decides).
 */
export function spliceMeta(line: string, members: string): string | null {
  const start = skipWs(line, 0);
  const top = line.lastIndexOf("}");
  if (line.charCodeAt(start) !== 123 || top < start) return null;
  const params = memberSpan(line, start, "params");
  if (params === null) return appendMembers(line, start, top, `"params":{"_meta":{${members}}}`);
  if (line.charCodeAt(params[0]) !== 123) return null;
  // No "_meta" text and no escape inside params (the common case): it has no _meta member, no need to walk it.
  const plain = line.lastIndexOf('"_meta"', params[1]) < params[0] && !hasEscape(line, params[0], params[1]);
  const meta = plain ? null : memberSpan(line, params[0], "_meta");
  if (meta === null) return appendMembers(line, params[0], params[1] - 1, `"_meta":{${members}}`);
  if (line.charCodeAt(meta[0]) !== 123) return null;
  return appendMembers(line, meta[0], meta[1] - 1, members);
}
