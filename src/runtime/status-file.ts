/**
 * `status_file`: a JSON snapshot rewritten whenever the server's status changes. Written to a
 * temporary file in the same folder and renamed over the old one, so a reader never sees half a file.
 * Bursts of changes are coalesced into one write per `delayMs`.
 */
import { renameSync, unlinkSync, writeFileSync } from "node:fs";

export class StatusFile {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => unknown,
    private readonly onError: (message: string) => void,
    private readonly delayMs = 25,
  ) {}

  /** Something changed: write soon. */
  touch(): void {
    if (this.timer === null) this.timer = setTimeout(() => this.writeNow(), this.delayMs);
  }

  writeNow(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const tmp = `${this.path}.${process.pid}.${++this.seq}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(this.snapshot(), null, 2)}\n`, { mode: 0o600, flag: "wx" });
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

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
