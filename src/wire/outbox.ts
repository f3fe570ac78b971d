/**
 * Ordered, capped output for one socket.
 *
 * Bun's `socket.write` takes what the kernel accepts and drops the rest, so whatever it did not
 * take is kept here and written from `drain`. Lines pushed in one tick go out in one write.
 * Nothing is ever dropped to make room: past `cap` queued bytes the reader is too slow to keep,
 * and `onOverflow` disconnects it (its peers are unaffected).
 */
import { TickBatch } from "./tick-batch.ts";

export interface Writable {
  write(data: string | Uint8Array): number;
}

export class Outbox {
  private readonly batch = new TickBatch((text) => this.write(text));
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private dead = false;

  constructor(
    private readonly sink: Writable,
    private readonly cap: number,
    private readonly onOverflow: (queuedBytes: number) => void,
  ) {}

  push(line: string): void {
    if (!this.dead) this.batch.push(line);
  }

  /** Bytes accepted but not yet taken by the kernel. */
  get queued(): number {
    return this.backlogBytes;
  }

  get idle(): boolean {
    return this.batch.empty && this.backlog.length === 0;
  }

  flush(): void {
    if (this.dead) this.batch.clear();
    else this.batch.flush();
  }

  private write(text: string): void {
    if (this.backlog.length > 0) return this.enqueue(Buffer.from(text));
    const wrote = this.sink.write(text);
    if (wrote < 0) return this.close();
    // The common case: everything taken. Only a short write pays for encoding the text.
    if (wrote >= Buffer.byteLength(text)) return;
    this.enqueue(Buffer.from(text).subarray(wrote));
  }

  /** Call from the socket's `drain` handler. */
  drain(): void {
    while (this.backlog.length > 0 && !this.dead) {
      const head = this.backlog[0] as Uint8Array;
      const wrote = this.sink.write(head);
      if (wrote < 0) return this.close();
      this.backlogBytes -= Math.max(wrote, 0);
      if (wrote < head.length) {
        this.backlog[0] = head.subarray(wrote);
        return;
      }
      this.backlog.shift();
    }
    if (!this.dead && !this.batch.empty) this.batch.flush();
  }

  close(): void {
    this.dead = true;
    this.batch.clear();
    this.backlog = [];
    this.backlogBytes = 0;
  }

  private enqueue(bytes: Uint8Array): void {
    this.backlog.push(bytes);
    this.backlogBytes += bytes.length;
    if (this.backlogBytes > this.cap) {
      const n = this.backlogBytes;
      this.close();
      this.onOverflow(n);
    }
  }
}
