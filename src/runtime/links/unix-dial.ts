/**
 * The client side of a Unix-socket link: connect, frame what arrives into lines, and write through a
 * capped outbox that finishes partial writes on drain. The proxy, the control client and the health
 * check all talk to the daemon through it.
 */
import type { Socket } from "bun";
import { LineDecoder } from "../../wire/framing.ts";
import { Outbox } from "../../wire/outbox.ts";

export interface DialOptions {
  /** Longest line accepted from the daemon; a longer one is dropped (`onOversize`). */
  maxLineBytes: number;
  /** Bytes queued for the daemon before the link gives up on it and closes. */
  maxQueuedBytes: number;
  onLine(line: string): void;
  onOversize?(bytes: number): void;
  /** After each chunk's lines were delivered (a caller that buffers its own output flushes it here). */
  afterChunk?(): void;
  /** The connection is gone (either side closed it). Called once. */
  onClose?(): void;
  onError?(message: string): void;
}

export interface DialedLink {
  /** Queues one line (without its newline). */
  send(line: string): void;
  /** Writes what is queued, then closes. */
  end(): void;
  /** Resolves when the connection has closed. */
  readonly closed: Promise<void>;
}

/** Connects to `path`; rejects when nothing accepts the connection. */
export async function dialUnix(path: string, o: DialOptions): Promise<DialedLink> {
  const decoder = new LineDecoder(o.maxLineBytes, { onLine: (l) => o.onLine(l), onOversize: (n) => o.onOversize?.(n) });
  let outbox: Outbox | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const socket: Socket<undefined> = await Bun.connect<undefined>({
    unix: path,
    socket: {
      data: (_s, chunk) => {
        decoder.push(chunk);
        o.afterChunk?.();
      },
      drain: () => outbox?.drain(),
      close: () => {
        outbox?.close();
        resolveClosed();
        o.onClose?.();
      },
      error: (_s, e) => o.onError?.(e.message),
    },
  });
  outbox = new Outbox(socket, o.maxQueuedBytes, () => socket.end());
  const box = outbox;
  return {
    send: (line) => box.push(line),
    end: () => {
      box.flush();
      socket.end();
    },
    closed,
  };
}
