/**
 * `session-aware` servers: one process for everyone, told who is asking. When the runtime turns it on,
 * each client request forwarded to the backend carries, in `params._meta`, a session id of its own client
 * and that client's workspace once the runtime knows it. The mux sets these keys itself, over any value a
 * client wrote, so no client can speak as another.
 */
import { spliceMeta } from "../../wire/meta-splice.ts";
import type { Family } from "../context.ts";
import type { Session } from "../session.ts";

/** The `_meta` key naming the client's session (README, "Which servers are shared"). */
export const META_SESSION_ID = "io.rmcp-mux/sessionId";
/** The `_meta` key naming the client's workspace: its sorted root URIs, its proxy's folder, or "global". */
export const META_WORKSPACE = "io.rmcp-mux/workspace";

export class SessionMeta implements Family {
  /** Requests are stamped only while this is on (a `session-aware` server). */
  on = false;
  /** Makes session ids unique to this router, so a new daemon never hands out an old client's id. */
  private seed = "";
  private readonly workspaces = new Map<number, string>();
  /** The members, as JSON text, per client: built once, spliced into each of its requests. */
  private readonly members = new Map<number, string>();

  enable(on: boolean, seed: string): void {
    this.on = on;
    this.seed = seed;
    this.members.clear();
  }

  setWorkspace(cid: number, workspace: string): void {
    this.workspaces.set(cid, workspace);
    this.members.delete(cid);
  }

  workspaceOf(cid: number): string | undefined {
    return this.workspaces.get(cid);
  }

  sessionId(cid: number): string {
    return `${this.seed}-${cid}`;
  }

  /** Clients with a workspace recorded (for leak checks). */
  get size(): number {
    return this.workspaces.size;
  }

  clientGone(c: Session): void {
    this.workspaces.delete(c.id);
    this.members.delete(c.id);
  }

  /** A request line as it goes to the backend: stamped when on, else as it is. */
  stamp(cid: number, line: string): string {
    if (!this.on) return line;
    // A client that wrote one of our keys itself: rewrite the message, so its value is gone, not just shadowed.
    // A line with escapes may spell a key in a way text search misses (`io.rmcp-mux\/…`, `\u0069o…`): parsed too.
    if (line.includes("io.rmcp-mux") || line.includes("\\")) return this.rewrite(cid, line);
    return spliceMeta(line, this.membersOf(cid)) ?? line;
  }

  /** The same on a parsed request that is about to be serialised anyway (its progress token changed). */
  stampParsed(cid: number, msg: Record<string, unknown>): void {
    if (!this.on) return;
    const params = (msg.params ??= {}) as Record<string, unknown>;
    if (typeof params !== "object" || params === null || Array.isArray(params)) return;
    const meta = (params._meta ??= {}) as Record<string, unknown>;
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return;
    meta[META_SESSION_ID] = this.sessionId(cid);
    const ws = this.workspaces.get(cid);
    if (ws !== undefined) meta[META_WORKSPACE] = ws;
    else delete meta[META_WORKSPACE];
  }

  private rewrite(cid: number, line: string): string {
    const msg = JSON.parse(line) as Record<string, unknown>;
    this.stampParsed(cid, msg);
    return JSON.stringify(msg);
  }

  private membersOf(cid: number): string {
    let m = this.members.get(cid);
    if (m === undefined) {
      m = `${JSON.stringify(META_SESSION_ID)}:${JSON.stringify(this.sessionId(cid))}`;
      const ws = this.workspaces.get(cid);
      if (ws !== undefined) m += `,${JSON.stringify(META_WORKSPACE)}:${JSON.stringify(ws)}`;
      this.members.set(cid, m);
    }
    return m;
  }
}
