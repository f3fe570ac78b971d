/**
 * `status_file`: a JSON snapshot rewritten whenever the server's status changes. Written to a
 * temporary file in the same folder and renamed over the old one, so a reader never sees half a file.
 * Bursts of changes are coalesced into one write per `delayMs`. A missing folder is created 0700, as a
 * socket's folder is; the last write (`close`) records the final state, so the file never keeps saying
 * "running" about a daemon that has gone.
 */
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export class StatusFile {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => unknown,
    private readonly onError: (message: string) => void,
    private readonly delayMs = 25,
  ) {}

  /** Something changed: write soon. */
  touch(): void {
    if (this.timer === null && !this.closed) this.timer = setTimeout(() => this.writeNow(), this.delayMs);
  }

  writeNow(patch: Record<string, unknown> = {}): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const text = `${JSON.stringify({ ...(this.snapshot() as object), ...patch }, null, 2)}\n`;
    const tmp = `${this.path}.${process.pid}.${++this.seq}.tmp`;
    try {
      try {
        writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
        writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
      }
      renameSync(tmp, this.path);
    } catch (e) {
      this.onError(`cannot write status_file ${this.path}: ${(e as Error).message}`);
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
    }
  }

  /** The last write, with `final` over the snapshot (the server has stopped); later touches write nothing. */
  close(final: Record<string, unknown>): void {
    if (this.closed) return;
    this.writeNow(final);
    this.closed = true;
  }
}
