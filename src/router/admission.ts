/**
 * Client slots (`max_active_clients`): a client beyond the limit waits, its lines kept in order, until a
 * slot frees or `request_timeout_ms` passes; then it is answered with an error and disconnected.
 */
import { errorLine, INTERNAL_ERROR, isValidId, NULL_ID } from "../wire/jsonrpc.ts";
import type { RouterContext } from "./context.ts";
import { newSession, type Session } from "./session.ts";
import type { RouterHost } from "./types.ts";

/** Lines a waiting client may send before it is disconnected (its memory is bounded). */
const WAIT_LINES_MAX = 1024;

export class Admission {
  private activeCount = 0;

  constructor(
    private readonly ctx: RouterContext,
    private readonly host: RouterHost,
    /** Routes a line that waited, once its client has a slot. */
    private readonly replay: (cid: number, line: string) => void,
    /** Forgets a client the mux disconnected. */
    private readonly forget: (cid: number) => void,
  ) {}

  get active(): number {
    return this.activeCount;
  }

  /** A new session, holding a slot if one is free. */
  admit(cid: number): Session {
    const max = this.ctx.opts.maxActiveClients;
    const active = this.activeCount < max;
    if (active) this.activeCount++;
    const c = newSession(cid, active, active ? 0 : this.ctx.clock.now() + this.ctx.opts.requestTimeoutMs);
    if (!active) {
      this.ctx.log("info", `client ${cid} waits for a slot (max_active_clients=${max})`);
      this.ctx.arm();
    }
    return c;
  }

  /** Keeps a line of a client that has no slot yet; false when the client has one (route it now). */
  hold(c: Session, line: string): boolean {
    if (c.active) return false;
    if (c.waitLines.length >= WAIT_LINES_MAX) {
      this.host.closeClient(c.id, `sent more than ${WAIT_LINES_MAX} messages while waiting for a client slot`);
      return true;
    }
    c.waitLines.push(line);
    return true;
  }

  /** A client left: its slot goes to the longest-waiting client. */
  release(c: Session): void {
    if (!c.active) return;
    this.activeCount--;
    this.promote();
  }

  private promote(): void {
    for (const c of this.ctx.sessions.values()) {
      if (this.activeCount >= this.ctx.opts.maxActiveClients) return;
      if (c.active) continue;
      c.active = true;
      this.activeCount++;
      this.ctx.log("info", `client ${c.id} got a slot`);
      const lines = c.waitLines;
      c.waitLines = [];
      for (const l of lines) this.replay(c.id, l);
    }
  }

  /** No slot freed in time: every request it sent is answered with an error, then it is disconnected. */
  expire(c: Session): void {
    const { maxActiveClients, requestTimeoutMs } = this.ctx.opts;
    const message = `No client slot freed within ${requestTimeoutMs} ms: the server allows ${maxActiveClients} active clients (max_active_clients)`;
    let answered = false;
    for (const l of c.waitLines) {
      try {
        const m = JSON.parse(l) as { id?: unknown; method?: unknown };
        if (typeof m.method === "string" && isValidId(m.id)) {
          this.ctx.emit(c.id, errorLine(this.ctx.rawIdOf(l), INTERNAL_ERROR, message, "client_limit"));
          answered = true;
        }
      } catch {
        // a waiting client's garbage is dropped with the connection
      }
    }
    if (!answered) this.ctx.emit(c.id, errorLine(NULL_ID, INTERNAL_ERROR, message, "client_limit"));
    c.waitLines = [];
    this.host.closeClient(c.id, "no client slot freed in time");
    this.forget(c.id);
  }
}
