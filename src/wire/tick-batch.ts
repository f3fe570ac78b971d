/**
 * Lines queued during one tick, written as one text at the end of it: one write (one syscall) for a
 * burst of messages instead of one each, without delaying any of them past the current tick.
 */
export class TickBatch {
  private lines: string[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly write: (text: string) => void) {}

  push(line: string): void {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  get empty(): boolean {
    return this.lines.length === 0;
  }

  /** Writes what is queued now (each line ends with a newline). */
  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? `${this.lines[0]}\n` : `${this.lines.join("\n")}\n`;
    this.lines = [];
    this.write(text);
  }

  clear(): void {
    this.lines = [];
  }
}
