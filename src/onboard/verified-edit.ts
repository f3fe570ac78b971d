/**
 * Swapping whole entries in a host file's text, with the safety net every such edit needs: the new text must parse
 * to exactly the old document with those entries swapped, or nothing is written. Shared by rewire and restore. Pure.
 */
import type { EntryEdit, FileFormat } from "../hosts/format.ts";

export class EditCheckError extends Error {
  override readonly name = "EditCheckError";
}

export function setIn(doc: any, container: string[], name: string, value: unknown): void {
  container.reduce((o, k) => o[k], doc)[name] = value;
}

/** The value at container/name in parsed data, or undefined when any step is missing. */
export function valueAt(doc: unknown, container: readonly string[], name: string): unknown {
  const parent = container.reduce<any>((o, k) => (o !== null && typeof o === "object" ? o[k] : undefined), doc);
  return parent !== null && typeof parent === "object" && Object.hasOwn(parent, name) ? parent[name] : undefined;
}

/**
 * Applies `edits`; those the format cannot place are returned in `failed` (index and reason) and left as they were.
 * Throws EditCheckError when the result is not exactly the intended document.
 */
export function verifiedEdit(fmt: FileFormat, text: string, edits: readonly EntryEdit[]): { text: string; failed: { index: number; reason: string }[] } {
  if (edits.length === 0) return { text, failed: [] };
  const out = fmt.replaceEntries(text, [...edits]);
  const failedAt = new Set(out.failed.map((f) => f.index));
  const expected = fmt.parse(text);
  edits.forEach((e, i) => failedAt.has(i) || setIn(expected, e.container, e.name, e.entry));
  let actual: unknown;
  try {
    actual = fmt.parse(out.text);
  } catch (err) {
    throw new EditCheckError(`editing produced unparsable text (${(err as Error).message}); the file was left untouched`);
  }
  if (!Bun.deepEquals(actual, expected)) throw new EditCheckError("editing changed more than the intended entries; the file was left untouched");
  return out;
}
