/**
 * A small JSON-with-comments parser that remembers where every value sits in the text. Host files are edited by
 * swapping the text span of one entry, never by re-serialising the document, so comments (VS Code mcp.json is JSONC),
 * key order and indentation elsewhere survive byte for byte. Accepts `//` and `/* *\/` comments and trailing commas.
 */

export type JNode =
  | { kind: "object"; start: number; end: number; members: JMember[] }
  | { kind: "array"; start: number; end: number; items: JNode[] }
  | { kind: "scalar"; start: number; end: number; value: string | number | boolean | null };

export interface JMember {
  key: string;
  keyStart: number;
  value: JNode;
}

export class JsoncError extends Error {
  override readonly name = "JsoncError";
  constructor(
    readonly line: number,
    readonly column: number,
    reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
  }
}

export function parseJsonc(text: string): JNode {
  let i = 0;
  const fail = (reason: string): never => {
    const before = text.slice(0, i).split("\n");
    // A truncated file (an editor or a host crashed mid-save) is the common case: say so first.
    const why = i >= text.length ? `unexpected end of file, ${reason}` : reason;
    throw new JsoncError(before.length, (before.at(-1)?.length ?? 0) + 1, why);
  };
  const skip = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith("//", i)) {
        const nl = text.indexOf("\n", i);
        i = nl < 0 ? text.length : nl + 1;
      } else if (text.startsWith("/*", i)) {
        const close = text.indexOf("*/", i + 2);
        if (close < 0) fail("unterminated comment");
        i = close + 2;
      } else return;
    }
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\n") fail("line break inside a string");
      i += text[i] === "\\" ? 2 : 1;
    }
    if (i >= text.length) fail("unterminated string");
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      i = start;
      return fail("invalid escape in string");
    }
  };
  const value = (): JNode => {
    skip();
    const start = i;
    const c = text[i];
    if (c === "{") {
      i++;
      const members: JMember[] = [];
      for (;;) {
        skip();
        if (text[i] === "}") break;
        if (text[i] !== '"') fail(members.length ? 'expected "," or "}"' : 'expected a "key" or "}"');
        const keyStart = i;
        const key = str();
        skip();
        if (text[i] !== ":") fail('expected ":" after a key');
        i++;
        members.push({ key, keyStart, value: value() });
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail('expected "," or "}"');
      }
      i++;
      return { kind: "object", start, end: i, members };
    }
    if (c === "[") {
      i++;
      const items: JNode[] = [];
      for (;;) {
        skip();
        if (text[i] === "]") break;
        items.push(value());
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== "]") fail('expected "," or "]"');
      }
      i++;
      return { kind: "array", start, end: i, items };
    }
    if (c === '"') {
      const v = str();
      return { kind: "scalar", start, end: i, value: v };
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) return fail(i >= text.length ? "expected a value" : `unexpected character ${JSON.stringify(c)}`);
    i += m[0].length;
    return { kind: "scalar", start, end: i, value: JSON.parse(m[0]) as string | number | boolean | null };
  };
  const root = value();
  skip();
  if (i < text.length) fail("unexpected text after the document");
  return root;
}

export function toValue(n: JNode): unknown {
  if (n.kind === "scalar") return n.value;
  if (n.kind === "array") return n.items.map(toValue);
  const o: Record<string, unknown> = {};
  for (const m of n.members) o[m.key] = toValue(m.value);
  return o;
}

/** The member's value node (the last one wins, as in JSON.parse). */
export function memberOf(n: JNode | undefined, key: string): JNode | undefined {
  if (n?.kind !== "object") return undefined;
  return n.members.findLast((m) => m.key === key)?.value;
}

export function memberEntry(n: JNode | undefined, key: string): JMember | undefined {
  return n?.kind === "object" ? n.members.findLast((m) => m.key === key) : undefined;
}
