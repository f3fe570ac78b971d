/**
 * Requests from the backend to a client: `sampling/createMessage`, `elicitation/create`, `roots/list`.
 *
 * stdio carries no link between such a request and the call that caused it, so the target is chosen
 * by these rules and never guessed: the related task's owner; else the one capable client with
 * calls in flight; several → an error naming the ambiguity; none → an error at once. `roots/list`
 * shows no user anything, so idle capable clients count too, several are each asked and the union
 * is answered, and none gets `{"roots":[]}`.
 * Each forwarded request gets a mux id; only the client it was sent to can answer it.
 */
import { errorLine, idKey, INTERNAL_ERROR, METHOD_NOT_FOUND, notificationLine, resultLine, type JsonId, type MuxErrorReason } from "../../wire/jsonrpc.ts";
import { emptySpans, scanTopLevel, splice } from "../../wire/scan.ts";
import type { Family } from "../context.ts";
import type { Capability, Session } from "../session.ts";
import { requestAllowed } from "../versions.ts";
import { relatedTaskId } from "./tasks.ts";

export interface Candidate {
  id: number;
  /** Has calls of its own in flight at the backend. */
  busy: boolean;
}

/** What the router lends this module. */
export interface ServerRequestPeer {
  toClient(cid: number, line: string): void;
  toBackend(line: string): void;
  backendReady(): boolean;
  /** Initialized clients that declared `cap` and whose protocol version lets them take `accepts`. */
  candidates(cap: Capability, accepts: (version: string) => boolean): Candidate[];
  /** The owner of `taskId`, when it declared `cap` and its version lets it take `accepts`. */
  taskOwner(taskId: string, cap: Capability, accepts: (version: string) => boolean): number | undefined;
  /** True when client `cid` is connected and its protocol version defines `method`. */
  defines(cid: number, method: string): boolean;
}

interface RootsMerge {
  backendRawId: string;
  waiting: Set<number>;
  roots: Map<string, unknown>;
}

interface Open {
  cid: number;
  backendRawId: string;
  backendKey: string;
  merge?: RootsMerge;
}

export function capabilityOf(method: string): Capability | undefined {
  if (method === "roots/list") return "roots";
  if (method.startsWith("sampling/")) return "sampling";
  if (method.startsWith("elicitation/")) return "elicitation";
  return undefined;
}

export class ServerRequests implements Family {
  private readonly open = new Map<number, Open>();
  private readonly byBackend = new Map<string, number>();
  /** elicitationId → the client that was shown that elicitation. */
  private readonly elicitations = new Map<string, number>();
  private readonly spans = emptySpans();
  private nextId = 1;

  constructor(private readonly peer: ServerRequestPeer) {}

  /** Entries held (for leak checks): open requests, backend ids mapped, elicitation owners. */
  get footprint(): { open: number; byBackend: number; elicitations: number } {
    return { open: this.open.size, byBackend: this.byBackend.size, elicitations: this.elicitations.size };
  }

  /** A request from the backend; `idStart`/`idEnd` locate its id in `line`. */
  route(method: string, line: string, idStart: number, idEnd: number): void {
    const backendRawId = line.slice(idStart, idEnd);
    if (method === "ping") return this.peer.toBackend(resultLine(backendRawId, "{}"));
    const cap = capabilityOf(method);
    if (cap === undefined) {
      return this.peer.toBackend(
        errorLine(backendRawId, METHOD_NOT_FOUND, `Method not found: the mux cannot route ${method} to a client`, "no_client_for_request"),
      );
    }
    const params = (JSON.parse(line) as { params?: Record<string, unknown> }).params;
    const send = (cid: number, merge?: RootsMerge) => this.send(cid, line, idStart, idEnd, backendRawId, params, merge);
    // A client is only sent what its protocol version defines (no elicitation before 2025-06-18).
    const accepts = (version: string) => requestAllowed(version, method, params);
    const taskId = relatedTaskId(params);
    const owner = taskId === undefined ? undefined : this.peer.taskOwner(taskId, cap, accepts);
    if (owner !== undefined) return void send(owner);
    const candidates = this.peer.candidates(cap, accepts);
    const busy = candidates.filter((c) => c.busy);
    // Only a client with calls in flight can have caused a sampling or elicitation request: an idle
    // one would be shown another user's prompt. Roots are no prompt, so idle clients may be asked.
    const pick = busy.length > 0 || cap !== "roots" ? busy : candidates;
    if (pick.length === 1) return void send((pick[0] as Candidate).id);
    if (cap === "roots") {
      if (pick.length === 0) return this.peer.toBackend(resultLine(backendRawId, '{"roots":[]}'));
      // Several clients could own the roots: ask each and answer with the union.
      const merge: RootsMerge = { backendRawId, waiting: new Set(), roots: new Map() };
      for (const c of pick) merge.waiting.add(send(c.id, merge));
      return;
    }
    const why =
      pick.length > 0
        ? `${pick.length} clients could take it and the mux will not guess which`
        : candidates.length > 0
          ? `no client that declared the ${cap} capability has a request in flight`
          : `no connected client declared the ${cap} capability at a protocol version that defines this request`;
    this.peer.toBackend(
      errorLine(backendRawId, INTERNAL_ERROR, `Cannot route ${method}: ${why}`, pick.length === 0 ? "no_client_for_request" : "ambiguous_client"),
    );
  }

  private send(
    cid: number,
    line: string,
    idStart: number,
    idEnd: number,
    backendRawId: string,
    params: Record<string, unknown> | undefined,
    merge?: RootsMerge,
  ): number {
    const muxId = this.nextId++;
    const elicitationId = params?.elicitationId;
    if (typeof elicitationId === "string") this.elicitations.set(elicitationId, cid);
    const backendKey = idKey(JSON.parse(backendRawId) as JsonId);
    this.open.set(muxId, { cid, backendRawId, backendKey, merge });
    if (merge === undefined) this.byBackend.set(backendKey, muxId);
    this.peer.toClient(cid, splice(line, idStart, idEnd, String(muxId)));
    return muxId;
  }

  /** A client's answer to one of these; false when it answers nothing it was sent (then it is dropped). */
  answer(cid: number, msg: Record<string, unknown>, line: string): boolean {
    const muxId = msg.id;
    const o = typeof muxId === "number" ? this.open.get(muxId) : undefined;
    if (o === undefined || o.cid !== cid) return false;
    this.open.delete(muxId as number);
    if (o.merge !== undefined) {
      const roots = (msg.result as { roots?: unknown } | undefined)?.roots;
      if (Array.isArray(roots)) {
        for (const r of roots) {
          const uri = (r as { uri?: unknown } | null)?.uri;
          if (typeof uri === "string" && !o.merge.roots.has(uri)) o.merge.roots.set(uri, r);
        }
      }
      this.mergeDone(o.merge, muxId as number);
      return true;
    }
    this.byBackend.delete(o.backendKey);
    if (!this.peer.backendReady()) return true;
    scanTopLevel(line, this.spans);
    this.peer.toBackend(splice(line, this.spans.idStart, this.spans.idEnd, o.backendRawId));
    return true;
  }

  /** The backend cancelled one of its requests: the client is told, with the id it saw. */
  cancelled(requestId: JsonId, reason: unknown): void {
    const muxId = this.byBackend.get(idKey(requestId));
    if (muxId === undefined) return;
    this.byBackend.delete(idKey(requestId));
    const o = this.open.get(muxId);
    this.open.delete(muxId);
    if (o === undefined) return;
    const params = reason === undefined ? { requestId: muxId } : { requestId: muxId, reason };
    this.peer.toClient(o.cid, notificationLine("notifications/cancelled", params));
  }

  /** Backend `notifications/elicitation/complete`: only to the client that was shown it (once: it ends it). */
  serverElicitationComplete(line: string): void {
    const id = (JSON.parse(line) as { params?: { elicitationId?: unknown } }).params?.elicitationId;
    if (typeof id !== "string") return;
    const owner = this.elicitations.get(id);
    this.elicitations.delete(id);
    if (owner !== undefined && this.peer.defines(owner, "notifications/elicitation/complete")) this.peer.toClient(owner, line);
  }

  /** A client left: what it was asked is failed at the backend, or dropped from a roots merge. */
  clientGone(c: Session): void {
    const cid = c.id;
    for (const [id, owner] of this.elicitations) if (owner === cid) this.elicitations.delete(id);
    for (const [muxId, o] of this.open) {
      if (o.cid !== cid) continue;
      this.open.delete(muxId);
      if (o.merge) this.mergeDone(o.merge, muxId);
      else this.fail(o, "the client it was sent to disconnected", "client_disconnected");
    }
  }

  /** The backend process is gone: its requests are void; clients stop working on them. */
  backendGone(): void {
    for (const [muxId, o] of this.open) {
      this.peer.toClient(o.cid, notificationLine("notifications/cancelled", { requestId: muxId, reason: "backend exited" }));
    }
    this.open.clear();
    this.byBackend.clear();
  }

  private mergeDone(merge: RootsMerge, muxId: number): void {
    merge.waiting.delete(muxId);
    if (merge.waiting.size > 0 || !this.peer.backendReady()) return;
    this.peer.toBackend(resultLine(merge.backendRawId, JSON.stringify({ roots: [...merge.roots.values()] })));
  }

  private fail(o: Open, why: string, reason: MuxErrorReason): void {
    this.byBackend.delete(o.backendKey);
    if (this.peer.backendReady()) this.peer.toBackend(errorLine(o.backendRawId, INTERNAL_ERROR, `Request failed: ${why}`, reason));
  }
}
