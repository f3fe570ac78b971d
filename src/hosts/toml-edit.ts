/**
 * Editing TOML host files (Codex) in place. @iarna/toml reads values but cannot write a document back without losing
 * comments, so edits work on the text: a small scanner splits the file into line-level items (headers, key/value
 * statements with their multi-line values, comments, blanks), and a rewired `[mcp_servers.NAME]` table loses only
 * the statements whose values change; everything else, comments included, is kept verbatim.
 */
import TOML from "@iarna/toml";
import { SECRET_KEYS } from "./entry.ts";
import type { EntryEdit, FileFormat } from "./format.ts";

interface Item {
  kind: "header" | "kv" | "comment" | "blank";
  start: number;
  /** Just past the item's final newline. */
  end: number;
  keys: string[];
  arrayTable?: boolean;
}

export const tomlKey = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));

/** TOML for a plain value; JSON string escapes are all valid TOML basic-string escapes. */
export function tomlValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(", ")}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length ? `{ ${entries.map(([k, x]) => `${tomlKey(k)} = ${tomlValue(x)}`).join(", ")} }` : "{}";
}

const lineEnd = (t: string, i: number) => (t.indexOf("\n", i) < 0 ? t.length : t.indexOf("\n", i) + 1);

function parseKey(t: string, i: number): { keys: string[]; i: number } {
  const keys: string[] = [];
  for (;;) {
    while (t[i] === " " || t[i] === "\t") i++;
    if (t[i] === '"') {
      let j = i + 1;
      while (j < t.length && t[j] !== '"') j += t[j] === "\\" ? 2 : 1;
      keys.push(JSON.parse(t.slice(i, j + 1)) as string);
      i = j + 1;
    } else if (t[i] === "'") {
      const j = t.indexOf("'", i + 1);
      keys.push(t.slice(i + 1, j));
      i = j + 1;
    } else {
      const m = /[A-Za-z0-9_-]+/y;
      m.lastIndex = i;
      const bare = m.exec(t)?.[0];
      if (!bare) throw new Error(`unexpected key text at offset ${i}`);
      keys.push(bare);
      i += bare.length;
    }
    while (t[i] === " " || t[i] === "\t") i++;
    if (t[i] !== ".") return { keys, i };
    i++;
  }
}

/** Index of the newline that ends the value starting at `i` (brackets, strings and comments accounted for). */
function valueEnd(t: string, i: number): number {
  let depth = 0;
  const closeMulti = (q: string, j: number) => {
    for (;;) {
      if (j >= t.length) return j;
      if (q === '"""' && t[j] === "\\") j += 2;
      else if (t.startsWith(q, j)) {
        j += 3;
        while (t[j] === q[0]) j++; // up to two quotes may end the content itself
        return j;
      } else j++;
    }
  };
  while (i < t.length) {
    const c = t[i]!;
    if (t.startsWith('"""', i) || t.startsWith("'''", i)) i = closeMulti(t.slice(i, i + 3), i + 3);
    else if (c === '"') {
      i++;
      while (i < t.length && t[i] !== '"' && t[i] !== "\n") i += t[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "'") i = t.indexOf("'", i + 1) + 1 || t.length;
    else if (c === "#") i = t.indexOf("\n", i) < 0 ? t.length : t.indexOf("\n", i);
    else if (c === "\n" && depth <= 0) return i;
    else {
      if (c === "[" || c === "{") depth++;
      if (c === "]" || c === "}") depth--;
      i++;
    }
  }
  return t.length;
}

export function scanItems(t: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  while (i < t.length) {
    const start = i;
    while (t[i] === " " || t[i] === "\t") i++;
    const c = t[i];
    if (c === undefined || c === "\n" || c === "\r") items.push({ kind: "blank", start, end: (i = lineEnd(t, i)), keys: [] });
    else if (c === "#") items.push({ kind: "comment", start, end: (i = lineEnd(t, i)), keys: [] });
    else if (c === "[") {
      const arrayTable = t[i + 1] === "[";
      const k = parseKey(t, i + (arrayTable ? 2 : 1));
      items.push({ kind: "header", start, end: (i = lineEnd(t, k.i)), keys: k.keys, arrayTable });
    } else {
      const k = parseKey(t, i);
      if (t[k.i] !== "=") throw new Error(`expected "=" at offset ${k.i}`);
      items.push({ kind: "kv", start, end: (i = lineEnd(t, valueEnd(t, k.i + 1))), keys: k.keys });
    }
  }
  return items;
}

/** Items grouped under their table header; the first group (root keys) has no header. */
function sections(items: Item[]): { header?: Item; body: Item[] }[] {
  const out: { header?: Item; body: Item[] }[] = [{ body: [] }];
  for (const it of items) {
    if (it.kind === "header") out.push({ header: it, body: [] });
    else out.at(-1)!.body.push(it);
  }
  return out;
}

const startsWith = (keys: string[], prefix: string[]) => prefix.every((k, n) => keys[n] === k);

function replaceEntries(text: string, edits: EntryEdit[]) {
  const doc = TOML.parse(text) as Record<string, any>;
  const secs = sections(scanItems(text));
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const spans: { start: number; end: number; text: string }[] = [];
  const failed: { index: number; reason: string }[] = [];
  for (const [index, e] of edits.entries()) {
    const path = [...e.container, e.name];
    const main = secs.find((s) => s.header && !s.header.arrayTable && Bun.deepEquals(s.header.keys, path));
    const orig = e.container.reduce((o, k) => o?.[k], doc)?.[e.name] as Record<string, unknown> | undefined;
    if (!main || !orig) {
      failed.push({ index, reason: `only entries written as a [${path.map(tomlKey).join(".")}] table can be rewired` });
      continue;
    }
    const same = (k: string | undefined) => k !== undefined && k in e.entry && Bun.deepEquals(e.entry[k], orig[k]);
    const changed = main.body.filter((it) => it.kind === "kv" && !same(it.keys[0]));
    const insertAt = changed[0]?.start ?? main.body.findLast((it) => it.kind === "kv")?.end ?? main.header!.end;
    const fresh = Object.entries(e.entry).filter(([k]) => !same(k));
    const insert = fresh.map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}${eol}`).join("");
    for (const it of changed) spans.push({ start: it.start, end: it.end, text: "" });
    spans.push({ start: insertAt, end: insertAt, text: insert });
    // Sub-tables such as [mcp_servers.NAME.env] go whole when their key changes; trailing comments stay for what follows.
    for (const s of secs) {
      if (!s.header || s.header === main.header || !startsWith(s.header.keys, path) || same(s.header.keys[path.length])) continue;
      const lastKv = s.body.findLast((it) => it.kind === "kv");
      let end = lastKv?.end ?? s.header.end;
      const before = text.slice(0, s.header.start);
      const after = s.body.find((it) => it.start >= end);
      if (after?.kind === "blank" && /\n[ \t]*\r?\n$/.test(before)) end = after.end;
      spans.push({ start: s.header.start, end, text: "" });
    }
  }
  let out = text;
  // Same start: the removal runs before the insertion, so the new keys land where the old command was.
  spans.sort((a, b) => b.start - a.start || (a.end === a.start ? 1 : 0) - (b.end === b.start ? 1 : 0));
  for (const s of spans) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return { text: out, failed };
}

function maskSecrets(text: string): string {
  let items: Item[];
  try {
    items = scanItems(text);
  } catch {
    return text;
  }
  let inSecretTable = false;
  let out = "";
  for (const it of items) {
    let chunk = text.slice(it.start, it.end);
    if (it.kind === "header") inSecretTable = it.keys.some((k) => SECRET_KEYS.has(k));
    if (it.kind === "kv" && (inSecretTable || it.keys.some((k) => SECRET_KEYS.has(k))))
      chunk = chunk.replace(/(=\s*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*')/g, '$1"***"');
    out += chunk;
  }
  return out;
}

// @iarna/toml gives tables a null prototype and symbol tags; callers compare and spread plain objects.
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object" && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export const tomlFormat: FileFormat = {
  parse: (text) => {
    try {
      return plain(TOML.parse(text));
    } catch (err) {
      const e = err as Error & { line?: number; col?: number };
      const reason = e.message.split(/ at row \d+|\n/)[0];
      throw new Error(e.line !== undefined ? `line ${e.line + 1}, column ${(e.col ?? 0) + 1}: ${reason}` : reason);
    }
  },
  replaceEntries,
  maskSecrets,
};
