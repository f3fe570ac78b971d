/**
 * One client connection as the server holds it: its link, what its first lines told (the proxy's hello,
 * its `initialize`), where it waits or which instance it joined. Server and placement share it.
 */
import type { Instance } from "./instance.ts";
import type { ClientLink } from "./links/link.ts";

/** One client connection as the server holds it. */
export interface Conn {
  readonly cid: number;
  readonly link: ClientLink;
  /** The client shut down its writing side: close once it has every answer it is owed. */
  eof: boolean;
  /** From the hello: the folder its host started the proxy in. */
  cwd: string | undefined;
  /** No line seen yet: the first may be the proxy's hello. */
  fresh: boolean;
  inst: Instance | null;
  /** Past `max_instances`: every request it sends is answered with this. */
  refused: string | null;
  /** Lines kept while it waits in the lobby; null when it is not there. */
  held: string[] | null;
  /** The protocol version the lobby answered it. */
  answered: string;
  /** Its `initialize`, parsed when its placement depends on it. */
  init: Record<string, unknown> | null;
  /** The id text of the `roots/list` the mux asked it, while unanswered. */
  rootsAsk: string | null;
  rootsTimer: unknown;
  /** Run once its `notifications/initialized` passes; while set, its lines are watched here. */
  afterInit: (() => void) | null;
  initDone: boolean;
  workspace: string | null;
}
