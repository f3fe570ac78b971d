/**
 * Newline framing for JSON-RPC over byte streams (sockets, child pipes).
 *
 * Works on bytes, not strings, so the size cap is a true byte count and a multi-byte
 * character split across two chunks is never decoded in halves. A line longer than the
 * cap is not buffered: its bytes are dropped as they arrive and `onOversize` fires once
 * when its newline is finally seen (or at once, for the first chunk that crosses the cap),
 * so a 100 MB line costs no memory and the stream stays usable afterwards.
 */
export interface LineSink {
  onLine(line: string): void;
  /** A line exceeded the cap; `seen` is how many bytes had arrived when it was cut. */
  onOversize(seen: number): void;
}

const NL = 10;
const CR = 13;

export class LineDecoder {
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** True while skipping the rest of an oversize line. */
  private discarding = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {}

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    const len = buf.length;
    while (start < len) {
      const nl = buf.indexOf(NL, start);
      if (nl === -1) {
        this.keep(buf, start, len);
        return;
      }
      if (this.discarding) {
        this.discarding = false;
      } else if (this.carryLen + (nl - start) > this.maxLineBytes) {
        this.dropCarry();
        this.sink.onOversize(this.carryLen + (nl - start));
      } else {
        this.emit(buf, start, nl);
      }
      start = nl + 1;
    }
  }

  /** Bytes of an unfinished line currently held (for tests and status). */
  get buffered(): number {
    return this.carryLen;
  }

  private keep(buf: Buffer, start: number, end: number): void {
    if (this.discarding) return;
    const n = end - start;
    if (this.carryLen + n > this.maxLineBytes) {
      const seen = this.carryLen + n;
      this.dropCarry();
      this.discarding = true;
      this.sink.onOversize(seen);
      return;
    }
    // Copy: the caller may reuse the chunk's memory after push() returns.
    this.carry.push(Buffer.from(buf.subarray(start, end)));
    this.carryLen += n;
  }

  private emit(buf: Buffer, start: number, end: number): void {
    let line: Buffer = buf;
    let s = start;
    let e = end;
    if (this.carryLen > 0) {
      this.carry.push(buf.subarray(start, end));
      line = Buffer.concat(this.carry, this.carryLen + (end - start));
      s = 0;
      e = line.length;
      this.dropCarry();
    }
    if (e > s && line[e - 1] === CR) e--;
    if (e === s) return;
    const text = line.toString("utf8", s, e);
    // Whitespace-only lines are framing noise, not messages.
    if (text.trim().length === 0) return;
    this.sink.onLine(text);
  }

  private dropCarry(): void {
    this.carry = [];
    this.carryLen = 0;
  }
}
