/**
 * Links over a Unix socket: each connection framed into lines (with a byte cap per line) and written
 * through its own capped outbox, so a bad or slow peer costs only itself. Serves a bound `Listener`
 * (the one 0600 bind every socket of the daemon uses).
 */
import type { Socket } from "bun";
import { LineDecoder } from "../../wire/framing.ts";
import { Outbox } from "../../wire/outbox.ts";
import type { Listener } from "../listener.ts";
import type { AcceptLink, ClientLink, LinkEvents } from "./link.ts";

export interface FrontLimits {
  /** Longest line a peer may send. */
  maxLineBytes: number;
  /** Bytes queued for a peer that does not read before it is cut off. */
  maxQueuedBytes: number;
}

class SocketLink implements ClientLink {
  readonly outbox: Outbox;
  events: LinkEvents | null = null;
  decoder: LineDecoder | null = null;
  private closing = false;

  constructor(
    private readonly socket: Socket<never>,
    limits: FrontLimits,
  ) {
    this.outbox = new Outbox(socket, limits.maxQueuedBytes, (n) => {
      if (this.events !== null) this.events.onOverflow(n);
      else this.socket.end();
    });
  }

  send(line: string): void {
    this.outbox.push(line);
  }

  end(): void {
    this.outbox.flush();
    this.socket.end();
  }

  endWhenWritten(): void {
    this.closing = true;
    this.outbox.flush();
    if (this.outbox.idle) this.socket.end();
  }

  drained(): void {
    this.outbox.drain();
    if (this.closing && this.outbox.idle) this.socket.end();
  }
}

/** Serves `listener`'s connections as links; `accept` decides for each. */
export function serveUnix(listener: Listener, limits: FrontLimits, accept: AcceptLink): void {
  const linkOf = (s: Socket<never>) => (s as unknown as Socket<SocketLink | undefined>).data;
  listener.attach({
    open: (s) => {
      const link = new SocketLink(s, limits);
      (s as unknown as Socket<SocketLink>).data = link;
      const events = accept(link);
      if (events === null) return void s.end();
      link.events = events;
      link.decoder = new LineDecoder(limits.maxLineBytes, { onLine: (l) => events.onLine(l), onOversize: (n) => events.onOversize(n) });
    },
    data: (s, chunk) => linkOf(s)?.decoder?.push(chunk),
    drain: (s) => linkOf(s)?.drained(),
    end: (s) => linkOf(s)?.events?.onEnd(),
    close: (s) => {
      const link = linkOf(s);
      if (link === undefined) return;
      link.outbox.close();
      link.events?.onClose();
    },
    error: (s, err) => linkOf(s)?.events?.onError?.(err.message),
  });
}
