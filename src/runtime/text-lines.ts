/**
 * Text lines from bytes, for the places that read another process' output as text: the dashboard's copy of
 * the daemon's log, the fixture servers' stdin, and the clients of the tests and the benchmark. Not for
 * routing: the router frames bytes with a size cap (src/wire/framing.ts).
 */
export class TextLines {
  private buf = "";
  private readonly decoder = new TextDecoder();

  /**
   * `onLine` gets each line without its "\n" or a trailing "\r". A line still unfinished after `maxLine`
   * characters is passed on as it stands, so output without newlines cannot grow the buffer for ever.
   */
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = Number.POSITIVE_INFINITY,
  ) {}

  /** A chunk may end mid-line or mid-character: the rest waits for the next chunk. */
  push(chunk: Uint8Array): void {
    this.buf += this.decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl: number;
    while ((nl = this.buf.indexOf("\n", start)) >= 0) {
      this.emit(this.buf.slice(start, nl));
      start = nl + 1;
    }
    if (start > 0) this.buf = this.buf.slice(start);
    if (this.buf.length > this.maxLine) {
      this.emit(this.buf);
      this.buf = "";
    }
  }

  /** The bytes ended: a last line without "\n" is a line too. */
  end(): void {
    this.buf += this.decoder.decode();
    if (this.buf !== "") this.emit(this.buf);
    this.buf = "";
  }

  private emit(line: string): void {
    this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }
}

/** Reads `stream` line by line until it ends, or breaks because its writer is gone (what came is kept). */
export async function streamLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  maxLine?: number,
): Promise<void> {
  const lines = new TextLines(onLine, maxLine);
  try {
    for await (const chunk of stream) lines.push(chunk);
  } catch {
    // the writer is gone
  }
  lines.end();
}
