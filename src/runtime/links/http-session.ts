/**
 * One Streamable HTTP session as a client link: the router sees every line of the session, and this
 * file puts each line where the client is listening. An answer goes to the POST that asked (by raw id
 * text, as the router splices it back); a server→client request or a notification goes on the newest POST
 * still streaming, else on the GET stream, else into a bounded backlog that the next GET stream drains.
 * A 2026-07-28 stateless requester is a session of one exchange, never listed.
 */
import { emptySpans, quickResponseId, scanArray, scanTopLevel, type Spans } from "../../wire/scan.ts";
import type { Exchange } from "./http-exchange.ts";
import { SseStream } from "./http-sse.ts";
import type { ClientLink, LinkEvents } from "./link.ts";

const spans: Spans = emptySpans();

/** The raw id text of a response line (null for a request or notification, or an answer with id null). */
function answerId(line: string): string | null | undefined {
  if (quickResponseId(line, spans)) return line.slice(spans.idStart, spans.idEnd);
  if (!scanTopLevel(line, spans) || spans.methodStart >= 0 || (spans.resultStart < 0 && spans.errorStart < 0)) return undefined;
  const id = spans.idStart < 0 ? "null" : line.slice(spans.idStart, spans.idEnd);
  return id === "null" ? null : id;
}

export interface SessionLimits {
  /** Bytes queued for a client that does not read (max_client_buffer_bytes). */
  maxQueuedBytes: number;
}

export class HttpSession implements ClientLink {
  events: LinkEvents | null = null;
  /** Exchanges waiting for an answer, by raw id text. */
  private readonly waiting = new Map<string, Exchange>();
  /** Exchanges by the progress tokens of their requests (JSON text): progress travels with its answer. */
  private readonly progress = new Map<string, Exchange>();
  /** POSTs not yet over, oldest first. */
  private readonly live: Exchange[] = [];
  private getStream: SseStream | null = null;
  private backlog: string[] = [];
  private backlogBytes = 0;
  /** What the server said while refusing this link in `attach` (max_connections), for the HTTP answer. */
  refusal: string | null = null;
  /** Last time the session had a request or an open stream (for idle expiry). */
  lastActive: number;
  closed = false;

  constructor(
    /** The Mcp-Session-Id; "" for a stateless requester. */
    readonly id: string,
    readonly server: string,
    private readonly limits: SessionLimits,
    private readonly now: () => number,
    /** Called once when the session ends, whoever ends it. */
    private readonly onGone: (s: HttpSession) => void,
  ) {
    this.lastActive = now();
  }

  /** No POST in progress and no GET stream: the idle clock runs. */
  get idle(): boolean {
    return this.live.length === 0 && this.getStream === null;
  }

  /** Ends the POSTs whose client went away (an SSE stream learns it at once; a waiting JSON answer only here). */
  pruneAborted(): void {
    for (const ex of [...this.live]) if (ex.req.signal.aborted) ex.abort();
  }

  /** True while a POST of this session waits for the answer to `id` (raw id text). */
  isWaiting(id: string): boolean {
    return this.waiting.has(id);
  }

  /** Registers `ex` for its ids before its line goes to the router (which may answer at once). */
  begin(ex: Exchange, tokens: readonly string[]): void {
    this.lastActive = this.now();
    this.live.push(ex);
    for (const id of ex.remaining) this.waiting.set(id, ex);
    for (const t of tokens) this.progress.set(t, ex);
    void ex.finished.then(() => this.ended(ex, tokens));
  }

  private ended(ex: Exchange, tokens: readonly string[]): void {
    for (const t of tokens) if (this.progress.get(t) === ex) this.progress.delete(t);
    const i = this.live.indexOf(ex);
    if (i >= 0) this.live.splice(i, 1);
    // An aborted POST's answers have no reader left: they go where notifications go.
    for (const id of ex.remaining) if (this.waiting.get(id) === ex) this.waiting.delete(id);
    this.lastActive = this.now();
  }

  /** Line from the client. */
  receive(line: string): void {
    this.lastActive = this.now();
    this.events?.onLine(line);
  }

  /** A GET: the stream for messages no POST carries. A second GET replaces the first. */
  openStream(headers: Record<string, string>): Response {
    this.getStream?.close();
    const s = new SseStream(this.limits.maxQueuedBytes, () => {
      if (this.getStream === s) this.getStream = null;
      this.lastActive = this.now();
    });
    this.getStream = s;
    s.hello();
    const queued = this.backlog;
    this.backlog = [];
    this.backlogBytes = 0;
    for (const l of queued) this.toStream(s, l);
    return new Response(s.body, { headers: { ...headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache" } });
  }

  send(line: string): void {
    if (this.closed) return;
    if (this.events === null) {
      this.refusal = line;
      return;
    }
    const c = line.charCodeAt(0);
    if (c === 91 /* [ */) return this.sendArray(line);
    const id = answerId(line);
    if (typeof id === "string") {
      const ex = this.waiting.get(id);
      if (ex !== undefined) {
        this.waiting.delete(id);
        return ex.answer([id], line);
      }
    } else if (id === null) {
      // An error with id null answers a body that could not be read: the newest POST still waiting sent it.
      const ex = this.live.findLast((e) => e.remaining.size > 0);
      if (ex !== undefined) return ex.answer([...ex.remaining], line);
    }
    this.push(line);
  }

  /** A batch's answers come back as one array: it goes to the POST that sent that batch. */
  private sendArray(line: string): void {
    const ids: string[] = [];
    let ex: Exchange | undefined;
    for (const [a, b] of scanArray(line) ?? []) {
      const id = answerId(line.slice(a, b));
      if (typeof id !== "string") continue;
      const owner = this.waiting.get(id);
      if (owner === undefined || (ex !== undefined && owner !== ex)) continue;
      ex = owner;
      ids.push(id);
      this.waiting.delete(id);
    }
    if (ex !== undefined) ex.answer(ids, line);
    else this.push(line);
  }

  /** The POST whose request a progress notification is about (on another stream it could arrive after the answer). */
  private progressOwner(line: string): Exchange | undefined {
    if (this.progress.size === 0 || !line.includes('"notifications/progress"')) return undefined;
    try {
      const t = (JSON.parse(line) as { params?: { progressToken?: unknown } }).params?.progressToken;
      const ex = t === undefined ? undefined : this.progress.get(JSON.stringify(t));
      return ex?.streams ? ex : undefined;
    } catch {
      return undefined;
    }
  }

  /** A message no POST is waiting for by id: progress with its request, else the newest POST still streaming. */
  private push(line: string): void {
    const ex = this.progressOwner(line) ?? this.live.findLast((e) => e.streams);
    if (ex !== undefined) return ex.stream(line);
    if (this.getStream !== null) return this.toStream(this.getStream, line);
    this.backlog.push(line);
    this.backlogBytes += line.length;
    if (this.backlogBytes > this.limits.maxQueuedBytes) this.events?.onOverflow(this.backlogBytes);
  }

  private toStream(s: SseStream, line: string): void {
    if (!s.write(line)) this.events?.onOverflow(s.queued);
  }

  overflow(queued: number): void {
    this.events?.onOverflow(queued);
  }

  end(): void {
    this.close();
  }

  endWhenWritten(): void {
    // Streams are closed after what is queued on them has been read, so this is `end`.
    this.close();
  }

  /** Ends the session: waiting POSTs get 404, streams close, and the router forgets the client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ex of [...this.live]) ex.close();
    this.getStream?.close();
    this.getStream = null;
    this.backlog = [];
    this.waiting.clear();
    this.onGone(this);
    const events = this.events;
    // Not from inside the router's own call (end() is called by the server while it routes).
    if (events !== null) queueMicrotask(() => events.onClose());
  }
}
