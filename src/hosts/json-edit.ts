/**
 * Editing JSON/JSONC host files in place: each rewired entry's text span is swapped for a newly rendered object in
 * the file's own indentation; every other byte (comments, key order, other servers, unknown keys) stays as it was.
 */
import { type JMember, type JNode, memberEntry, memberOf, parseJsonc, toValue } from "./jsonc.ts";
import { SECRET_KEYS } from "./entry.ts";
import type { EntryEdit, FileFormat } from "./format.ts";

/** The indentation of the first indented line: the file's unit (2 spaces, 4 spaces, a tab). */
export function indentUnit(text: string): string {
  return /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
}

/** Whitespace before `pos` on its line, or undefined when something else precedes it there. */
function leadOf(text: string, pos: number): string | undefined {
  const lead = text.slice(text.lastIndexOf("\n", pos - 1) + 1, pos);
  return /^[ \t]*$/.test(lead) ? lead : undefined;
}

function render(v: unknown, indent: string, unit: string, eol: string): string {
  // Arrays of scalars (args, tool lists) read best on one line, as hosts' own docs write them.
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
  return JSON.stringify(v, null, unit).replaceAll("\n", eol + indent);
}

function renderEntry(text: string, member: JMember, entry: Record<string, unknown>, unit: string, eol: string): string {
  const orig = member.value as Extract<JNode, { kind: "object" }>;
  const keyIndent = leadOf(text, member.keyStart) ?? "";
  const multiline = text.slice(orig.start, orig.end).includes("\n");
  const first = orig.members[0];
  const memberIndent = (multiline && first && leadOf(text, first.keyStart)) || keyIndent + unit;
  const closeIndent = leadOf(text, orig.end - 1) ?? keyIndent;
  const parts = Object.entries(entry).map(([k, v]) => {
    const was = memberEntry(orig, k);
    // An unchanged value keeps its original text, inner comments and layout included.
    const body = was && Bun.deepEquals(toValue(was.value), v) ? text.slice(was.value.start, was.value.end) : render(v, memberIndent, unit, eol);
    return `${JSON.stringify(k)}: ${body}`;
  });
  if (parts.length === 0) return "{}";
  if (!multiline) return `{ ${parts.join(", ")} }`;
  return `{${eol}${parts.map((p) => memberIndent + p).join(`,${eol}`)}${eol}${closeIndent}}`;
}

function replaceEntries(text: string, edits: EntryEdit[]) {
  const root = parseJsonc(text);
  const unit = indentUnit(text);
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const spans: { start: number; end: number; text: string }[] = [];
  const failed: { index: number; reason: string }[] = [];
  for (const [index, e] of edits.entries()) {
    let node: JNode | undefined = root;
    for (const seg of e.container) node = memberOf(node, seg);
    const member = memberEntry(node, e.name);
    if (member?.value.kind !== "object") {
      failed.push({ index, reason: "entry not found as an object" });
      continue;
    }
    spans.push({ start: member.value.start, end: member.value.end, text: renderEntry(text, member, e.entry, unit, eol) });
  }
  let out = text;
  for (const s of spans.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return { text: out, failed };
}

/** Every string under an env/headers object becomes "***", so diffs can show which keys change, never values. */
function maskSecrets(text: string): string {
  let root: JNode;
  try {
    root = parseJsonc(text);
  } catch {
    return text;
  }
  const spans: { start: number; end: number }[] = [];
  const visit = (n: JNode, secret: boolean): void => {
    if (n.kind === "scalar") {
      if (secret && typeof n.value === "string") spans.push(n);
    } else if (n.kind === "array") n.items.forEach((x) => visit(x, secret));
    else for (const m of n.members) visit(m.value, secret || SECRET_KEYS.has(m.key));
  };
  visit(root, false);
  let out = text;
  for (const s of spans.sort((a, b) => b.start - a.start)) out = `${out.slice(0, s.start)}"***"${out.slice(s.end)}`;
  return out;
}

export const jsonFormat: FileFormat = {
  // Hosts create their config files empty before anything is added: that is "no servers", not a syntax error.
  parse: (text) => (text.trim() === "" ? {} : toValue(parseJsonc(text))),
  replaceEntries,
  maskSecrets,
};
