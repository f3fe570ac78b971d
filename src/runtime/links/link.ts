/**
 * One client connection as the daemon sees it, whatever carries it: a Unix socket today (unix-front.ts),
 * an HTTP session next. The server behind it deals in whole lines and never in sockets.
 */
export interface ClientLink {
  /** Queues one message (without its newline). Never blocks; a peer that stops reading is cut off past its cap. */
  send(line: string): void;
  /** Writes what can be written now, then closes. */
  end(): void;
  /** Closes once everything queued has been written (a half-closed client that got all its answers). */
  endWhenWritten(): void;
}

/** What a link reports. */
export interface LinkEvents {
  onLine(line: string): void;
  /** A line over the front's byte limit was dropped; the link stays usable. */
  onOversize(bytes: number): void;
  /** The peer finished sending (half-close). It may still be owed answers. */
  onEnd(): void;
  /** The link is gone; nothing more can be sent. */
  onClose(): void;
  /** The peer does not read: `queued` bytes were waiting, over the front's cap. Nothing more is queued; close it. */
  onOverflow(queued: number): void;
  /** The transport reported an error (the link closes after it). */
  onError?(message: string): void;
}

/** Takes a new link; null refuses it (it is closed at once). */
export type AcceptLink = (link: ClientLink) => LinkEvents | null;

