/**
 * Task ownership (MCP 2025-11-25): a task id returned to one client is that client's alone.
 * Another client asking about it is told the task does not exist (-32602), as the spec asks
 * for an unknown task, so task ids never leak between sessions.
 */
export class TaskOwners {
  private readonly owners = new Map<string, number>();

  record(taskId: string, cid: number): void {
    this.owners.set(taskId, cid);
  }

  ownerOf(taskId: string): number | undefined {
    return this.owners.get(taskId);
  }

  /** A client's tasks die with its session here: nobody else may read them. */
  removeClient(cid: number): void {
    for (const [id, owner] of this.owners) if (owner === cid) this.owners.delete(id);
  }

  /** `tasks/list` result text filtered to what `cid` owns. */
  filterList(resultJson: string, cid: number): string {
    const result = JSON.parse(resultJson) as { tasks?: Array<{ taskId?: unknown }> } | null;
    if (result === null || typeof result !== "object") return resultJson;
    if (Array.isArray(result.tasks)) {
      result.tasks = result.tasks.filter((t) => typeof t?.taskId === "string" && this.owners.get(t.taskId) === cid);
    }
    return JSON.stringify(result);
  }

  /** Records the owner when a response carries a `CreateTaskResult`. */
  recordFromResult(resultJson: string, cid: number): void {
    const taskId = (JSON.parse(resultJson) as { task?: { taskId?: unknown } } | null)?.task?.taskId;
    if (typeof taskId === "string") this.owners.set(taskId, cid);
  }

  get size(): number {
    return this.owners.size;
  }
}

export const RELATED_TASK = "io.modelcontextprotocol/related-task";

/** The task a backend message says it belongs to, from `params._meta[related-task].taskId`. */
export function relatedTaskId(params: unknown): string | undefined {
  const meta = (params as { _meta?: Record<string, { taskId?: unknown } | undefined> } | undefined)?._meta;
  const id = meta?.[RELATED_TASK]?.taskId;
  return typeof id === "string" ? id : undefined;
}
