/**
 * The lines placement reads and writes while a client is not yet in a router: its `initialize`, its
 * `notifications/initialized`, the mux's own `roots/list` and its answer, and the `max_instances` refusal.
 * Pure: text in, text or values out.
 */
import { errorLine, INTERNAL_ERROR, parseErrorLine } from "../wire/jsonrpc.ts";
import { emptySpans, scanArray, scanTopLevel } from "../wire/scan.ts";
import { workspaceOfRoots } from "./workspace.ts";

const spans = emptySpans();

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

/**
 * What a refused client (past `max_instances`) gets for a line: the `max_instances` error for a request, under
 * its id as the client spelled it (`1.0` stays `1.0`); an array of them for a batch; a parse error for a line
 * that is not JSON; null for anything else (notifications and answers get nothing).
 */
export function refusalOf(line: string, message: string, limit: number): string | null {
  try {
    JSON.parse(line);
  } catch (e) {
    return parseErrorLine(e);
  }
  const one = (item: string) =>
    scanTopLevel(item, spans) && spans.idStart >= 0 && spans.methodStart >= 0 && item.charCodeAt(spans.methodStart) === 34 /* a string */
      ? errorLine(item.slice(spans.idStart, spans.idEnd), INTERNAL_ERROR, message, "max_instances", { limit })
      : null;
  const items = scanArray(line);
  if (items === null) return one(line);
  const errors = items.map(([a, b]) => one(line.slice(a, b))).filter((e) => e !== null);
  return errors.length === 0 ? null : `[${errors.join(",")}]`;
}
