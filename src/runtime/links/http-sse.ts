/**
 * One Server-Sent Events response body: each message one `event: message` whose data is the line as the
 * router wrote it (a line has no newline, so it is one `data:` field). The queue counts bytes: a reader that
 * falls `cap` bytes behind is reported, as a Unix peer that stops reading is.
 */
const enc = new TextEncoder();

export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  closed = false;

  constructor(
    private readonly cap: number,
    /** The reader went away (the HTTP request was aborted or the connection dropped). */
    onCancel: () => void,
  ) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => void (this.controller = c),
        cancel: () => {
          if (this.closed) return;
          this.closed = true;
          onCancel();
        },
      },
      { highWaterMark: cap, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  /** Bytes waiting for the reader. */
  get queued(): number {
    return this.cap - (this.controller.desiredSize ?? this.cap);
  }

  /** Queues one message; false when the reader is now over the cap behind (the caller cuts the session off). */
  write(line: string): boolean {
    if (this.closed) return true;
    this.controller.enqueue(enc.encode(`event: message\ndata: ${line}\n\n`));
    return (this.controller.desiredSize ?? 1) > 0;
  }

  /** A comment line: makes the response start (headers out) before the first message. */
  hello(): void {
    if (!this.closed) this.controller.enqueue(enc.encode(": rmcp-mux\n\n"));
  }

  /** Ends the body once what is queued has been read. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // the reader cancelled meanwhile
    }
  }
}
