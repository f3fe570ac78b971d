/**
 * A top-level scanner for one JSON-RPC message.
 *
 * The router rewrites ids by splicing text, not by `JSON.stringify` of the whole message:
 * a `tools/call` result can carry megabytes of base64 that we have no reason to re-encode.
 * This finds where the top-level `id`, `method`, `result` and `error` values sit, skipping
 * nested values by jumping from one structural character to the next. It does not validate
 * the JSON (the client side is validated by `JSON.parse`; the backend is trusted to write
 * JSON and anything that does not even look like an object is rejected here).
 */
export interface Spans {
  idStart: number;
  idEnd: number;
  methodStart: number;
  methodEnd: number;
  resultStart: number;
  resultEnd: number;
  errorStart: number;
  errorEnd: number;
  hasParams: boolean;
}

export function emptySpans(): Spans {
  return {
    idStart: -1,
    idEnd: -1,
    methodStart: -1,
    methodEnd: -1,
    resultStart: -1,
    resultEnd: -1,
    errorStart: -1,
    errorEnd: -1,
    hasParams: false,
  };
}

const STRUCTURAL = /["{}[\]]/g;

function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

/** `i` at an opening quote; returns the index just past the closing quote, or -1. */
export function stringEnd(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = s.indexOf('"', j);
    if (q === -1) return -1;
    let bs = 0;
    for (let k = q - 1; s.charCodeAt(k) === 92; k--) bs++;
    if ((bs & 1) === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the value starting at `i`, or -1 when the text ends first. */
export function valueEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 34) return stringEnd(s, i);
  if (c === 123 || c === 91) {
    let depth = 0;
    let j = i;
    for (;;) {
      STRUCTURAL.lastIndex = j;
      const m = STRUCTURAL.exec(s);
      if (m === null) return -1;
      const k = m.index;
      const ch = s.charCodeAt(k);
      if (ch === 34) {
        j = stringEnd(s, k);
        if (j === -1) return -1;
        continue;
      }
      if (ch === 123 || ch === 91) depth++;
      else if (--depth === 0) return k + 1;
      j = k + 1;
    }
  }
  // number, true, false, null
  let j = i;
  for (;;) {
    const d = s.charCodeAt(j);
    if (d !== d /* NaN: end */ || d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9) {
      return j > i ? j : -1;
    }
    j++;
  }
}

/** Fills `out` and returns true when `s` is a JSON object whose top-level keys could be walked. */
export function scanTopLevel(s: string, out: Spans): boolean {
  out.idStart = out.idEnd = out.methodStart = out.methodEnd = -1;
  out.resultStart = out.resultEnd = out.errorStart = out.errorEnd = -1;
  out.hasParams = false;
  let i = skipWs(s, 0);
  if (s.charCodeAt(i) !== 123) return false;
  i = skipWs(s, i + 1);
  if (s.charCodeAt(i) === 125) return true;
  for (;;) {
    if (s.charCodeAt(i) !== 34) return false;
    const keyEnd = stringEnd(s, i);
    if (keyEnd === -1) return false;
    let keyLen = keyEnd - i - 2;
    let k1 = s.charCodeAt(i + 1);
    let keyAt = keyEnd;
    let keyText = s;
    const bs = s.indexOf("\\", i + 1);
    if (bs !== -1 && bs < keyEnd) {
      // A key spelled with escapes ("i\u0064" is "id" to JSON.parse): compare its decoded form.
      keyText = JSON.stringify(JSON.parse(s.slice(i, keyEnd)) as string);
      keyLen = keyText.length - 2;
      k1 = keyText.charCodeAt(1);
      keyAt = keyText.length;
    }
    i = skipWs(s, keyEnd);
    if (s.charCodeAt(i) !== 58) return false;
    i = skipWs(s, i + 1);
    const vEnd = valueEnd(s, i);
    if (vEnd === -1) return false;
    // Compare keys by length and first letter before slicing: the common case allocates nothing.
    if (keyLen === 2 && k1 === 105 && keyText.startsWith('"id"', keyAt - 4)) {
      out.idStart = i;
      out.idEnd = vEnd;
    } else if (keyLen === 6 && k1 === 109 && keyText.startsWith('"method"', keyAt - 8)) {
      out.methodStart = i;
      out.methodEnd = vEnd;
    } else if (keyLen === 6 && k1 === 114 && keyText.startsWith('"result"', keyAt - 8)) {
      out.resultStart = i;
      out.resultEnd = vEnd;
    } else if (keyLen === 5 && k1 === 101 && keyText.startsWith('"error"', keyAt - 7)) {
      out.errorStart = i;
      out.errorEnd = vEnd;
    } else if (keyLen === 6 && k1 === 112 && keyText.startsWith('"params"', keyAt - 8)) {
      out.hasParams = true;
    }
    i = skipWs(s, vEnd);
    const sep = s.charCodeAt(i);
    if (sep === 125) return true;
    if (sep !== 44) return false;
    i = skipWs(s, i + 1);
  }
}

// ── Fast paths ──────────────────────────────────────────────────────────────────────────────────────
// Nearly every implementation writes the id in one of two places: last ({"result":…,"jsonrpc":"2.0","id":7},
// the TypeScript SDK) or right after "jsonrpc" ({"jsonrpc":"2.0","id":7,…}, the Python SDK and hand-written
// clients). Finding it there skips walking past params or a large result. Both patterns can only be structural:
// inside a JSON string every quote is escaped, so `,"id":` with bare quotes is never string content, and a
// final `}` closes the top-level object. Anything else falls back to scanTopLevel.

const PREFIX = '{"jsonrpc":"2.0","id":';

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
}

/** The id as the last member: `…,"id":<number or escape-free string>}`. */
function suffixId(s: string, out: Spans): boolean {
  const end = s.length - 1;
  if (s.charCodeAt(end) !== 125) return false;
  let start: number;
  if (s.charCodeAt(end - 1) === 34) {
    start = s.lastIndexOf('"', end - 2);
    if (start < 0) return false;
    const bs = s.indexOf("\\", start);
    if (bs !== -1 && bs < end) return false;
  } else {
    start = end;
    while (start > 0 && isNumberChar(s.charCodeAt(start - 1))) start--;
    if (start === end) return false;
  }
  if (!s.startsWith(',"id":', start - 6)) return false;
  out.idStart = start;
  out.idEnd = end;
  return true;
}

/** The id right after "jsonrpc", with no other "id" text after it (which could be a duplicate key). */
function prefixId(s: string, out: Spans): boolean {
  if (!s.startsWith(PREFIX)) return false;
  const start = PREFIX.length;
  let end: number;
  if (s.charCodeAt(start) === 34) {
    end = s.indexOf('"', start + 1);
    if (end < 0) return false;
    const bs = s.indexOf("\\", start);
    if (bs !== -1 && bs < end) return false;
    end++;
  } else {
    end = start;
    while (isNumberChar(s.charCodeAt(end))) end++;
    if (end === start) return false;
  }
  if (s.charCodeAt(end) !== 44 || s.indexOf('"id"', end) !== -1) return false;
  out.idStart = start;
  out.idEnd = end;
  return true;
}

/**
 * Locates the id of a request the client sent, whose parsed id is `id`: true (with idStart/idEnd set)
 * only when the text found there is that id.
 */
export function quickRequestId(s: string, out: Spans, id: unknown): boolean {
  if (!suffixId(s, out) && !prefixId(s, out)) return false;
  const text = s.slice(out.idStart, out.idEnd);
  return typeof id === "string" ? text === `"${id}"` : Number(text) === id;
}

/** Locates the id of a line that is plainly a request (method first, or right after the id); false means "use scanTopLevel". */
export function quickRequestSpan(s: string, out: Spans): boolean {
  if (s.startsWith('{"method":')) return suffixId(s, out);
  return prefixId(s, out) && s.startsWith(',"method":', out.idEnd);
}

/** Locates the id of a backend line that is plainly a success response; false means "use scanTopLevel". */
export function quickResponseId(s: string, out: Spans): boolean {
  if (s.startsWith('{"result":')) return suffixId(s, out);
  return prefixId(s, out) && s.startsWith(',"result":', out.idEnd);
}

/** The [start, end) text span of each item of a JSON array (a batch), or null when `s` is no array. */
export function scanArray(s: string): Array<[number, number]> | null {
  let i = skipWs(s, 0);
  if (s.charCodeAt(i) !== 91) return null;
  const items: Array<[number, number]> = [];
  i = skipWs(s, i + 1);
  if (s.charCodeAt(i) === 93) return items;
  for (;;) {
    const end = valueEnd(s, i);
    if (end === -1) return null;
    items.push([i, end]);
    i = skipWs(s, end);
    const sep = s.charCodeAt(i);
    if (sep === 93) return items;
    if (sep !== 44) return null;
    i = skipWs(s, i + 1);
  }
}

/** The method name from its span, decoding escapes only when there are any. */
export function methodOf(s: string, spans: Spans): string | undefined {
  if (spans.methodStart < 0 || s.charCodeAt(spans.methodStart) !== 34) return undefined;
  const raw = s.slice(spans.methodStart + 1, spans.methodEnd - 1);
  return raw.includes("\\") ? (JSON.parse(s.slice(spans.methodStart, spans.methodEnd)) as string) : raw;
}

/**
 * The value of an integer written as plain digits in [start, end) (no sign, exponent or leading zero, at most
 * 15 digits, so the text is exactly what `String` gives back), read in place; -1 for any other text.
 */
export function plainIntegerAt(s: string, start: number, end: number): number {
  if (end - start < 1 || end - start > 15 || (s.charCodeAt(start) === 48 && end - start > 1)) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** Replace the text in [start, end) — how ids are rewritten without re-serialising. */
export function splice(s: string, start: number, end: number, text: string): string {
  return s.slice(0, start) + text + s.slice(end);
}
