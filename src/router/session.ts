/**
 * What the router keeps per client session and per open backend request.
 *
 * A session is one client connection as the backend never sees it: its handshake, what it declared it can
 * do, the requests it has open (chained through their entries, see pending.ts), and what waits for the
 * backend or for a client slot.
 */
import { NULL_ID, type JsonId } from "../wire/jsonrpc.ts";
import type { Chain } from "./pending.ts";

/** Where a client's handshake stands. */
export const enum Phase {
  New,
  Initializing,
  Ready,
}

/** The server→client capabilities a client can declare; requests that need one go only to clients that did. */
export type Capability = "roots" | "sampling" | "elicitation";

/** A request held by the mux until the backend (or the client's own handshake) is ready. */
export interface Queued {
  msg: Record<string, unknown>;
  line: string;
  deadline: number;
}

/** One client connection, with its open requests chained through their Pending entries. */
export interface Session extends Chain<Pending> {
  readonly id: number;
  /** Holds one of the `max_active_clients` slots (see admission.ts); it may have gone idle since. */
  slot: boolean;
  /** Requests waiting for a slot, oldest first (with the lines that keep their place behind them). */
  waiting: Waiting[];
  phase: Phase;
  /** The raw id text of its `initialize`, answered once the backend's handshake is cached. */
  initRawId: string;
  initDeadline: number;
  caps: Record<Capability, boolean>;
  /** Requests held until the backend is ready. */
  queue: Queued[];
  /**
   * The protocol version the client asked for until its handshake completes, then the one it was answered:
   * what it may be sent depends on it (versions.ts).
   */
  version: string;
  /** 2025 (`initialize` first) or 2026-07-28 (no handshake; every request carries its `_meta` envelope). */
  era: "legacy" | "modern";
  /** False until its first message showed its era. */
  classified: boolean;
}

/** A request waiting for a client slot. */
export interface Waiting {
  line: string;
  /** When it is answered with the client-limit error instead. */
  deadline: number;
  /** Its id as `idKey` writes it, for a cancellation naming it; null for a batch. */
  key: string | null;
  /**
   * False for a line that needs no slot (`initialize`, a notification) but waits behind its client's
   * requests to keep its order; it goes out as soon as no request is ahead of it.
   */
  request: boolean;
}

export function newSession(id: number): Session {
  return {
    id,
    slot: false,
    waiting: [],
    phase: Phase.New,
    initRawId: NULL_ID,
    initDeadline: 0,
    caps: { roots: false, sampling: false, elicitation: false },
    first: null,
    last: null,
    open: 0,
    queue: [],
    version: "",
    era: "legacy",
    classified: false,
  };
}

/**
 * What an open backend request is, which decides what its answer needs. Those up to `Listen` are a
 * client's requests; the rest are the mux's own.
 */
export const enum Kind {
  /** Answered with only the id swapped back (the hot path). */
  Client,
  /** Its answer may create a task: the owner is recorded. */
  CreatesTask,
  /** `tasks/list`: the answer is filtered to the caller's tasks. */
  ListsTasks,
  /** `resources/subscribe`: the answer says whether the backend accepted the URI (see resources). */
  Subscribes,
  /** `tools/list` while its tool names could decide how the server is shared: they are read on the way. */
  ListsTools,
  /** A modern client's request to a 2025 backend: its result gets `resultType` (see era/eras.ts). */
  ToModern,
  /** The same for a list or read: `ttlMs` and `cacheScope` too. */
  ToModernCacheable,
  /** A 2025 client's request to a modern backend: modern-only fields are removed from its result. */
  ToLegacy,
  /** A modern client's `subscriptions/listen` at a modern backend: never timed out; its ids are rewritten. */
  Listen,
  /** The backend handshake. */
  Init,
  /** A request the mux sends for its own bookkeeping (subscribe, setLevel): the answer is only logged. */
  Internal,
  /** A liveness probe: its answer goes to the probe's callback. */
  Ping,
  /** The mux's own `subscriptions/listen` at a modern backend, for its 2025 clients: never timed out. */
  MuxListen,
}

export function isClientKind(kind: Kind): boolean {
  return kind <= Kind.Listen;
}

/** A request open at the backend under backend id `bid`. */
export interface Pending {
  readonly bid: number;
  readonly kind: Kind;
  /** The client that asked; null for the mux's own requests. Its chain holds this entry while it is open. */
  client: Session | null;
  /** The client's id as it wrote it, restored into the answer byte for byte. */
  rawId: string;
  /** The client's parsed id: what its cancellation names ("1" and 1 are different ids). */
  key: JsonId;
  deadline: number;
  /** The mux progress token to release when the request ends; 0 when none. */
  token: number;
  prev: Pending | null;
  next: Pending | null;
}
