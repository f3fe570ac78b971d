/**
 * The common client message recognised without `JSON.parse`: a request whose text has no escapes and no
 * control characters. Most `tools/call`, `resources/read` or `prompts/get` lines are such requests, and the
 * router needs only their id and method to forward them. Building the parsed object for each was ~13% of the
 * daemon's CPU under pipelined load (measured by skipping it); this walk checks the same grammar without
 * allocating anything.
 *
 * The check is strict: every value of the line is validated as RFC 8259 JSON, nested ones included, so a
 * line accepted here is one `JSON.parse` accepts, with the same top-level id, method and jsonrpc (the last
 * of duplicate keys wins, as in `JSON.parse`). Whatever it is not sure of (a backslash anywhere, a control
 * character, nesting deeper than 64, trailing text) returns false, and the caller parses the line the usual
 * way, which also produces the right error for a malformed line. So does a nested key `task` or
 * `progressToken`: the router reads those from the parsed message.
 */
export interface RequestSpans {
  idStart: number;
  idEnd: number;
  methodStart: number;
  methodEnd: number;
  jsonrpcStart: number;
  jsonrpcEnd: number;
}

export function emptyRequestSpans(): RequestSpans {
  return { idStart: -1, idEnd: -1, methodStart: -1, methodEnd: -1, jsonrpcStart: -1, jsonrpcEnd: -1 };
}

const CONTROL = /[\u0000-\u001f]/;
const MAX_DEPTH = 64;

// Bounds are checked before charCodeAt: reading past the end returns NaN, but through a slow path that made
// this loop take 40% of the walk when it ran once per line.
function ws(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
  return n;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** End of the number at `i` (-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?), or -1. */
function numberEnd(s: string, i: number): number {
  if (s.charCodeAt(i) === 45) i++;
  let c = s.charCodeAt(i);
  if (c === 48) i++;
  else if (c >= 49 && c <= 57) {
    do i++;
    while (isDigit(s.charCodeAt(i)));
  } else return -1;
  if (s.charCodeAt(i) === 46) {
    i++;
    if (!isDigit(s.charCodeAt(i))) return -1;
    do i++;
    while (isDigit(s.charCodeAt(i)));
  }
  c = s.charCodeAt(i);
  if (c === 101 || c === 69) {
    i++;
    c = s.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    if (!isDigit(s.charCodeAt(i))) return -1;
    do i++;
    while (isDigit(s.charCodeAt(i)));
  }
  return i;
}

/**
 * `params.task`, `_meta.progressToken`, a per-request log level and a retry's `inputResponses` change how a
 * request is routed: such a line must be parsed.
 */
function routerReads(s: string, k: number, end: number): boolean {
  const len = end - k;
  return (
    (len === 4 && s.startsWith("task", k)) ||
    (len === 13 && s.startsWith("progressToken", k)) ||
    (len === 14 && s.startsWith("inputResponses", k)) ||
    (len === 32 && s.startsWith("io.modelcontextprotocol/logLevel", k))
  );
}

/** End of the value at `i`, or -1. Strings have no escapes here (the caller refused any backslash). */
function valueEnd(s: string, i: number, depth: number): number {
  const c = s.charCodeAt(i);
  if (c === 34) {
    const q = s.indexOf('"', i + 1);
    return q === -1 ? -1 : q + 1;
  }
  if (c === 123 || c === 91) {
    if (depth >= MAX_DEPTH) return -1;
    const close = c === 123 ? 125 : 93;
    i = ws(s, i + 1);
    if (s.charCodeAt(i) === close) return i + 1;
    for (;;) {
      if (c === 123) {
        if (s.charCodeAt(i) !== 34) return -1;
        const k = i + 1;
        i = s.indexOf('"', k);
        if (i === -1) return -1;
        if (routerReads(s, k, i)) return -1;
        i = ws(s, i + 1);
        if (s.charCodeAt(i) !== 58) return -1;
        i = ws(s, i + 1);
      }
      i = valueEnd(s, i, depth + 1);
      if (i === -1) return -1;
      i = ws(s, i);
      const d = s.charCodeAt(i);
      if (d === close) return i + 1;
      if (d !== 44) return -1;
      i = ws(s, i + 1);
    }
  }
  if (c === 116) return s.startsWith("true", i) ? i + 4 : -1;
  if (c === 102) return s.startsWith("false", i) ? i + 5 : -1;
  if (c === 110) return s.startsWith("null", i) ? i + 4 : -1;
  return numberEnd(s, i);
}

/**
 * True when `s` is, for certain, a JSON object (validated in full) with no escapes or control characters;
 * `out` then holds the spans of its top-level `id`, `method` and `jsonrpc` values (-1 when absent).
 */
export function scanPlainRequest(s: string, out: RequestSpans): boolean {
  if (s.indexOf("\\") !== -1 || CONTROL.test(s)) return false;
  out.idStart = out.idEnd = out.methodStart = out.methodEnd = out.jsonrpcStart = out.jsonrpcEnd = -1;
  let i = ws(s, 0);
  if (s.charCodeAt(i) !== 123) return false;
  i = ws(s, i + 1);
  if (s.charCodeAt(i) !== 125) {
    for (;;) {
      if (s.charCodeAt(i) !== 34) return false;
      const keyStart = i + 1;
      const keyEnd = s.indexOf('"', keyStart);
      if (keyEnd === -1) return false;
      i = ws(s, keyEnd + 1);
      if (s.charCodeAt(i) !== 58) return false;
      i = ws(s, i + 1);
      const v = i;
      i = valueEnd(s, i, 1);
      if (i === -1) return false;
      const len = keyEnd - keyStart;
      const k = s.charCodeAt(keyStart);
      if (len === 2 && k === 105 && s.charCodeAt(keyStart + 1) === 100) {
        out.idStart = v;
        out.idEnd = i;
      } else if (len === 6 && k === 109 && s.startsWith("method", keyStart)) {
        out.methodStart = v;
        out.methodEnd = i;
      } else if (len === 7 && k === 106 && s.startsWith("jsonrpc", keyStart)) {
        out.jsonrpcStart = v;
        out.jsonrpcEnd = i;
      }
      i = ws(s, i);
      const d = s.charCodeAt(i);
      if (d === 125) break;
      if (d !== 44) return false;
      i = ws(s, i + 1);
    }
  }
  // Nothing may follow the object but whitespace.
  return ws(s, i + 1) === s.length;
}
