/**
 * Roots in a shared backend. The backend asks `roots/list` and gets the union of its clients' roots (see
 * server-requests.ts); once it has asked, what it holds goes stale whenever that union may change: a client
 * that declares roots finishes its handshake or leaves, or tells the mux its roots changed. Each time, the
 * backend gets `notifications/roots/list_changed`, so it asks again.
 *
 * Only when the mux declared `roots.listChanged` to the backend (a server must not get a notification its
 * client never offered), only once the backend's handshake is done, and only after the backend has asked
 * for roots at all: a backend that never asked holds nothing stale and would only be disturbed. Once told,
 * it is not told again until it has asked: the answer to that request is the union as it is then, so a burst
 * of clients joining costs one more `roots/list`, not one per client.
 */
import { notificationLine } from "../../wire/jsonrpc.ts";
import type { Family, RouterContext } from "../context.ts";
import { Phase, type Session } from "../session.ts";

export const ROOTS_LIST_CHANGED = "notifications/roots/list_changed";

export class RootsChanged implements Family {
  /** The backend process asked `roots/list` since its handshake. */
  private asked = false;
  /** Told `list_changed`, and not asked since. */
  private told = false;

  constructor(
    private readonly ctx: RouterContext,
    /** What the mux declared to the backend as its client capabilities (null before the first handshake). */
    private readonly declared: () => Record<string, unknown> | null,
  ) {}

  /** The backend sent `roots/list`. */
  rootsAsked(): void {
    this.asked = true;
    this.told = false;
  }

  /** A client's `notifications/initialized`: it has joined. */
  clientJoined(c: Session): void {
    if (c.caps.roots && c.phase === Phase.Ready) this.tell(`client ${c.id} joined`);
  }

  /** A client's own `notifications/roots/list_changed`. */
  clientChanged(c: Session): void {
    if (c.caps.roots) this.tell(`client ${c.id} changed its roots`);
  }

  clientGone(c: Session, canTell: boolean): void {
    if (canTell && c.caps.roots && c.phase === Phase.Ready) this.tell(`client ${c.id} left`);
  }

  /** A new process (after a restart) has asked nothing yet. */
  backendReady(): void {
    this.asked = false;
    this.told = false;
  }

  private tell(why: string): void {
    if (!this.asked || this.told || this.ctx.backendState() !== "ready") return;
    const roots = this.declared()?.roots as { listChanged?: unknown } | undefined;
    if (roots?.listChanged !== true) return;
    this.ctx.log("debug", `roots may have changed (${why}): the backend is told to ask again`);
    this.told = true;
    this.ctx.toBackend(notificationLine(ROOTS_LIST_CHANGED));
  }
}
