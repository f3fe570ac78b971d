/**
 * Undoing rewires entry by entry. Each rewire leaves a record beside its backup: for every entry it changed, the
 * entry before and the proxy entry it wrote. Restore puts an entry back only while it is still exactly what rewire
 * wrote; an entry the host or a person changed or removed since is refused and left as it is now, and everything
 * else in the file (entries added later, other settings) stays as it is now. Pure.
 */
import type { FileFormat } from "../hosts/format.ts";
import { valueAt, verifiedEdit } from "./verified-edit.ts";

export interface RecordedEntry {
  container: string[];
  name: string;
  original: Record<string, unknown>;
  written: Record<string, unknown>;
}

/** What a rewire wrote into one host file. */
export interface RewireRecord {
  version: 1;
  host: string;
  file: string;
  /** sha256 of the text rewire wrote: while the file still has exactly these bytes, the backup itself is the undo. */
  afterSha256: string;
  entries: RecordedEntry[];
}

export interface RestorePlan {
  before: string;
  after: string;
  restored: string[];
  /** Already back as they were (an earlier restore, or put back by hand). */
  already: string[];
  refused: { entry: string; reason: string }[];
  /** Records whose every entry is now back: a later restore need not look at them again. */
  done: RewireRecord[];
}

export const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

/** `memory`, or `memory (projects./home/me/app)` for entries below the top level. */
export function entryLabel(e: { container: readonly string[]; name: string }): string {
  return e.container.length > 1 ? `${e.name} (${e.container.slice(0, -1).join(".")})` : e.name;
}

/** `records` newest first, each with its backup's text when that backup still exists. */
export function planRestore(fmt: FileFormat, current: string, records: readonly { record: RewireRecord; backupText?: string }[]): RestorePlan {
  const plan: RestorePlan = { before: current, after: current, restored: [], already: [], refused: [], done: [] };
  let text = current;
  for (const { record, backupText } of records) {
    if (backupText !== undefined && sha256(text) === record.afterSha256) {
      // Untouched since this rewire: the backup is exactly this file with those entries undone, formatting included.
      text = backupText;
      plan.restored.push(...record.entries.map(entryLabel));
      plan.done.push(record);
      continue;
    }
    const doc = fmt.parse(text);
    const edits: { container: string[]; name: string; entry: Record<string, unknown> }[] = [];
    let refused = false;
    for (const e of record.entries) {
      const now = valueAt(doc, e.container, e.name);
      if (Bun.deepEquals(now, e.written)) edits.push({ container: e.container, name: e.name, entry: e.original });
      else if (Bun.deepEquals(now, e.original)) plan.already.push(entryLabel(e));
      else {
        refused = true;
        const why = now === undefined ? "was removed since the rewire" : "was changed since the rewire";
        plan.refused.push({ entry: entryLabel(e), reason: `${why}; left as it is now` });
      }
    }
    const out = verifiedEdit(fmt, text, edits);
    const failedAt = new Set(out.failed.map((f) => f.index));
    edits.forEach((e, i) => {
      if (!failedAt.has(i)) return void plan.restored.push(entryLabel(e));
      refused = true;
      plan.refused.push({ entry: entryLabel(e), reason: out.failed.find((f) => f.index === i)!.reason });
    });
    text = out.text;
    if (!refused) plan.done.push(record);
  }
  plan.after = text;
  plan.restored = [...new Set(plan.restored)];
  plan.already = [...new Set(plan.already)].filter((n) => !plan.restored.includes(n));
  return plan;
}
