/**
 * File writing for onboarding: atomic replacement (a host reading its config mid-write sees the old or the new file,
 * never half of one), timestamped backups next to the file, and the records of what each rewire changed.
 */
import { chmod, copyFile, mkdir, readdir, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

const STAMP = /^\d{8}T\d{6}-\d{3}Z$/;
const BACKUP_SUFFIX = ".rmcp-mux.bak";

/** 20250102T030405-678Z: sorts as text in time order, and is safe in file names everywhere. */
export function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(".", "-");
}

/** Symlinked dotfiles (stow, chezmoi) are written through, so the link keeps pointing at the real file. */
async function target(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return file;
  }
}

/** Write via a temp file in the same folder and rename; keeps the old file's mode unless `mode` is given. */
export async function atomicWrite(file: string, text: string, mode?: number): Promise<void> {
  const real = await target(file);
  await mkdir(path.dirname(real), { recursive: true, mode: 0o700 });
  const oldMode = await stat(real).then((s) => s.mode & 0o777, () => undefined);
  const tmp = path.join(path.dirname(real), `.${path.basename(real)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, mode ?? oldMode ?? 0o644);
    await rename(tmp, real);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** `<file>.<stamp><kind>` next to the file, never overwriting an earlier backup (a clash moves the stamp on 1 ms). */
async function freeName(file: string, now: Date, kind: string): Promise<string> {
  for (let t = now.getTime(); ; t++) {
    const name = `${file}.${stamp(new Date(t))}${kind}`;
    if (!(await stat(name).then(() => true, () => false))) return name;
  }
}

/** Copy `file` to a new timestamped backup with the same permissions; returns its path. */
export async function backupFile(file: string, now = new Date(), kind = BACKUP_SUFFIX): Promise<string> {
  const real = await target(file);
  const dest = await freeName(real, now, kind);
  await copyFile(real, dest);
  await chmod(dest, (await stat(real)).mode & 0o777);
  return dest;
}

/** Backups of `file`, oldest first. */
export async function listBackups(file: string): Promise<string[]> {
  const real = await target(file);
  const base = path.basename(real);
  const names = await readdir(path.dirname(real)).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(`${base}.`) && n.endsWith(BACKUP_SUFFIX) && STAMP.test(n.slice(base.length + 1, -BACKUP_SUFFIX.length)))
    .sort()
    .map((n) => path.join(path.dirname(real), n));
}

/** The record of what a rewire changed lives beside its backup: `<file>.<stamp>.rmcp-mux.json` (mode 0600: env values). */
export const recordOf = (backup: string) => `${backup.slice(0, -BACKUP_SUFFIX.length)}.rmcp-mux.json`;
/** A record whose entries are all back: renamed so later restores skip it, kept so the history stays readable. */
export const doneRecordOf = (backup: string) => `${backup.slice(0, -BACKUP_SUFFIX.length)}.rmcp-mux.restored.json`;

export async function writeRecord(backup: string, record: unknown): Promise<void> {
  await atomicWrite(recordOf(backup), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export async function markRecordDone(backup: string): Promise<void> {
  await rename(recordOf(backup), doneRecordOf(backup));
}
