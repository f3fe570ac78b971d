/**
 * One POST that carries requests: its answer goes back on that POST. The body's media type is chosen
 * when the first message for it arrives: the final answer alone goes out as `application/json` (no stream
 * to keep), anything else first (progress, a sampling request) makes it an SSE stream that closes after
 * the last answer. A client that accepts only one of the two gets that one.
 */
import { SseStream } from "./http-sse.ts";

export interface Accepts {
  json: boolean;
  sse: boolean;
}

export class Exchange {
  /** Raw id text of each request of this POST still unanswered. */
  readonly remaining: Set<string>;
  readonly response: Promise<Response>;
  /** Resolves once the exchange is over: answered, aborted or closed with its session. */
  readonly finished: Promise<void>;
  private resolveResponse!: (r: Response) => void;
  private resolveFinished!: () => void;
  private sse: SseStream | null = null;
  done = false;

  constructor(
    /** Its `signal` is read only by the idle sweep: a listener on every request costs more than the rest. */
    readonly req: Request,
    ids: Iterable<string>,
    private readonly accepts: Accepts,
    private readonly headers: Record<string, string>,
    private readonly cap: number,
    /** The SSE reader fell over the cap behind. */
    private readonly onOverflow: (queued: number) => void,
  ) {
    this.remaining = new Set(ids);
    this.response = new Promise((r) => (this.resolveResponse = r));
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  /** Can this POST carry a message that is not one of its answers? */
  get streams(): boolean {
    return !this.done && this.accepts.sse;
  }

  /** An answer for `ids` (one id, or the ids of a batch's array). */
  answer(ids: readonly string[], line: string): void {
    for (const id of ids) this.remaining.delete(id);
    const last = this.remaining.size === 0;
    if (last && this.sse === null && (this.accepts.json || !this.accepts.sse)) {
      this.resolveResponse(new Response(line, { headers: { ...this.headers, "Content-Type": "application/json" } }));
      return this.finish();
    }
    this.stream(line);
    if (last) {
      this.sse?.close();
      this.finish();
    }
  }

  /** A message other than an answer, on this POST's stream. */
  stream(line: string): void {
    if (this.done) return;
    if (this.sse === null) {
      this.sse = new SseStream(this.cap, () => this.abort());
      this.resolveResponse(new Response(this.sse.body, { headers: { ...this.headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache" } }));
    }
    if (!this.sse.write(line)) this.onOverflow(this.sse.queued);
  }

  /** The request was aborted by the client: the session forgets its ids (on `finished`). */
  abort(): void {
    if (this.done) return;
    this.sse?.close();
    this.finish();
  }

  /** The session is gone: a POST still waiting learns so. */
  close(): void {
    if (this.done) return;
    this.resolveResponse(new Response("Not Found: the session was closed\n", { status: 404 }));
    this.sse?.close();
    this.finish();
  }

  private finish(): void {
    this.done = true;
    this.resolveFinished();
  }
}
