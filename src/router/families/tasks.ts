/**
 * Tasks (MCP 2025-11-25): a task id returned to one client is that client's alone. Another client asking
 * about it is told the task does not exist (-32602), as the spec asks for an unknown task; `tasks/list`
 * shows each client its own; `notifications/tasks/status` goes to the owner. Task ids never leak between
 * sessions, and a client's tasks are forgotten with it.
 *
 * A client whose protocol version predates tasks never sees one: its `tasks/*` requests get -32601, as
 * from a server of its version, and a `params.task` it sends is removed, so the backend answers the call
 * itself instead of a task it could not read.
 */
import { errorLine, INTERNAL_ERROR, INVALID_PARAMS, lineWithId, METHOD_NOT_FOUND, resultLine } from "../../wire/jsonrpc.ts";
import { splice, type Spans } from "../../wire/scan.ts";
import type { Family, RouterContext } from "../context.ts";
import { Kind, type Pending, type Session } from "../session.ts";
import { supports } from "../versions.ts";

export const RELATED_TASK = "io.modelcontextprotocol/related-task";

/** The task a backend message says it belongs to, from `params._meta[related-task].taskId`. */
export function relatedTaskId(params: unknown): string | undefined {
  const meta = (params as { _meta?: Record<string, { taskId?: unknown } | undefined> } | undefined)?._meta;
  const id = meta?.[RELATED_TASK]?.taskId;
  return typeof id === "string" ? id : undefined;
}

/** What a client request's answer needs: a call with `params.task` may create a task. */
export function taskKind(msg: Record<string, unknown>): Kind {
  return (msg.params as { task?: unknown } | undefined)?.task != null ? Kind.CreatesTask : Kind.Client;
}

export class Tasks implements Family {
  private readonly owners = new Map<string, number>();

  constructor(private readonly ctx: RouterContext) {}

  get size(): number {
    return this.owners.size;
  }

  ownerOf(taskId: string): number | undefined {
    return this.owners.get(taskId);
  }

  /** A client request with no rule of its own: task-augmented only for a client whose version has tasks. */
  /** A request with no rule of its own, forwarded; returns its backend id. */
  forward(c: Session, msg: Record<string, unknown>, line: string, deadline: number): number {
    const kind = taskKind(msg);
    if (kind === Kind.CreatesTask && !supports(c.version, "tasks")) {
      const { task: _, ...params } = msg.params as Record<string, unknown>;
      const plain = { ...msg, params };
      return this.ctx.forward(c, plain, lineWithId(plain, this.ctx.rawIdOf(line)), deadline, Kind.Client);
    }
    return this.ctx.forward(c, msg, line, deadline, kind);
  }

  /** False (and the client answered -32601) when its protocol version has no tasks. */
  private defined(c: Session, msg: Record<string, unknown>, line: string): boolean {
    if (supports(c.version, "tasks")) return true;
    const why = `Method not found: ${String(msg.method)} is not part of protocol ${c.version || "(none)"}`;
    this.ctx.emit(c.id, errorLine(this.ctx.rawIdOf(line), METHOD_NOT_FOUND, why, "not_in_version"));
    return false;
  }

  /** Client `tasks/get`, `tasks/result`, `tasks/cancel`: only about its own tasks. */
  ownTask(c: Session, msg: Record<string, unknown>, line: string, deadline: number): void {
    if (!this.defined(c, msg, line)) return;
    const taskId = (msg.params as { taskId?: unknown } | undefined)?.taskId;
    if (typeof taskId !== "string" || this.owners.get(taskId) !== c.id) {
      return this.ctx.emit(c.id, errorLine(this.ctx.rawIdOf(line), INVALID_PARAMS, "Invalid params: unknown taskId", "unknown_task"));
    }
    this.ctx.forward(c, msg, line, deadline, taskKind(msg));
  }

  /** Client `tasks/list`: its answer is filtered (see `answer`). */
  list(c: Session, msg: Record<string, unknown>, line: string, deadline: number): void {
    if (!this.defined(c, msg, line)) return;
    this.ctx.forward(c, msg, line, deadline, Kind.ListsTasks);
  }

  /** The answer to a task-creating call or to `tasks/list`, for client `cid`. */
  answer(p: Pending, cid: number, line: string, s: Spans): string {
    const result = line.slice(s.resultStart, s.resultEnd);
    try {
      if (p.kind === Kind.CreatesTask) {
        const taskId = (JSON.parse(result) as { task?: { taskId?: unknown } } | null)?.task?.taskId;
        if (typeof taskId === "string") this.owners.set(taskId, cid);
        return splice(line, s.idStart, s.idEnd, p.rawId);
      }
      return resultLine(p.rawId, this.filterList(result, cid));
    } catch {
      // Unreadable: forwarding it could hand this client another client's tasks.
      return errorLine(p.rawId, INTERNAL_ERROR, "The backend's answer was not valid JSON", "invalid_request");
    }
  }

  private filterList(resultJson: string, cid: number): string {
    const result = JSON.parse(resultJson) as { tasks?: Array<{ taskId?: unknown }> } | null;
    if (result === null || typeof result !== "object") return resultJson;
    if (Array.isArray(result.tasks)) {
      result.tasks = result.tasks.filter((t) => typeof t?.taskId === "string" && this.owners.get(t.taskId) === cid);
    }
    return JSON.stringify(result);
  }

  /** Backend `notifications/tasks/status`: to the task's owner. */
  serverStatus(line: string): void {
    const taskId = (JSON.parse(line) as { params?: { taskId?: unknown } }).params?.taskId;
    // Only a client whose version has tasks can own one (see `forward`).
    const owner = typeof taskId === "string" ? this.owners.get(taskId) : undefined;
    if (owner !== undefined) this.ctx.emit(owner, line);
  }

  clientGone(c: Session): void {
    for (const [id, owner] of this.owners) if (owner === c.id) this.owners.delete(id);
  }
}
