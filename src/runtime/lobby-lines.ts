/**
 * The lines placement reads and writes while a client is not yet in a router: its `initialize`, its
 * `notifications/initialized`, the mux's own `roots/list` and its answer, and the `max_instances` refusal.
 * Pure: text in, text or values out.
 */
import { errorLine, INTERNAL_ERROR } from "../wire/jsonrpc.ts";
import { workspaceOfRoots } from "./workspace.ts";

/** The `initialize` request a line holds; null when it holds something else. */
export function parseInitialize(line: string): Record<string, unknown> | null {
  if (!line.includes('"initialize"')) return null;
  try {
    const msg = JSON.parse(line) as Record<string, unknown>;
    return msg?.method === "initialize" && msg.id !== undefined ? msg : null;
  } catch {
    return null;
  }
}

export function isInitialized(line: string): boolean {
  if (!line.includes("notifications/initialized")) return false;
  try {
    return (JSON.parse(line) as { method?: unknown })?.method === "notifications/initialized";
  } catch {
    return false;
  }
}

/** The id text of the mux's own `roots/list` to client `cid`, and the request line. */
export function rootsAsk(cid: number): { id: string; line: string } {
  const id = `rmcp-mux:roots:${cid}`;
  return { id, line: `{"jsonrpc":"2.0","id":"${id}","method":"roots/list"}` };
}

/**
 * What a line answering `roots/list` `askId` says: the workspace its roots make, null when they make none
 * (then the client's folder decides), undefined when the line answers something else.
 */
export function rootsAnswer(line: string, askId: string): string | null | undefined {
  let msg: { id?: unknown; method?: unknown; result?: unknown };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    return undefined;
  }
  if (msg?.id !== askId || msg.method !== undefined) return undefined;
  return workspaceOfRoots(msg.result);
}

/** The `max_instances` error for a request line; null for anything that is not a request. */
export function refusalOf(line: string, message: string, limit: number): string | null {
  let msg: { id?: unknown; method?: unknown };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    return null;
  }
  if (typeof msg !== "object" || msg === null || msg.id === undefined || typeof msg.method !== "string") return null;
  return errorLine(JSON.stringify(msg.id), INTERNAL_ERROR, message, "max_instances", { limit });
}
