/**
 * JSON-RPC 2.0 wire helpers: the error codes the mux uses and how its own messages are built.
 * Ids travel as raw JSON text (`"1"`, `1`, `12345678901234567890`) so that what a client sent
 * is restored byte for byte; everything here takes and produces text.
 */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

/** Why the mux answered instead of the backend; sent as `error.data.reason` so programs can tell. */
export type MuxErrorReason =
  | "parse_error"
  | "invalid_request"
  | "too_large"
  | "timeout"
  | "backend_exited"
  | "backend_failed"
  | "backend_unavailable"
  | "client_limit"
  | "connection_limit"
  | "shutting_down"
  | "no_client_for_request"
  | "ambiguous_client"
  | "client_disconnected"
  | "unknown_task"
  | "batch_not_supported"
  | "not_in_version"
  | "max_instances";

export const NULL_ID = "null";

export function errorLine(
  rawId: string,
  code: number,
  message: string,
  reason: MuxErrorReason,
  extra?: Record<string, unknown>,
): string {
  const error = { code, message, data: { reason, source: "rmcp-mux", ...extra } };
  return `{"jsonrpc":"2.0","id":${rawId},"error":${JSON.stringify(error)}}`;
}

/** The answer to a line that is not JSON: id null (its id cannot be known), with the parser's reason. */
export function parseErrorLine(e: unknown): string {
  return errorLine(NULL_ID, PARSE_ERROR, `Parse error: ${(e as Error).message}`, "parse_error");
}

export function resultLine(rawId: string, resultJson: string): string {
  return `{"jsonrpc":"2.0","id":${rawId},"result":${resultJson}}`;
}

export function requestLine(id: number, method: string, params?: unknown): string {
  return params === undefined
    ? `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)}}`
    : `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
}

export function notificationLine(method: string, params?: unknown): string {
  return params === undefined
    ? `{"jsonrpc":"2.0","method":${JSON.stringify(method)}}`
    : `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
}

export type JsonId = string | number;

export function isValidId(id: unknown): id is JsonId {
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/**
 * A map key for a client id: `"1"` and `1` must not meet. Numbers use their parsed value, so a
 * `notifications/cancelled` naming `1` finds a request sent as `1` (and as `1.0`, which is the same id).
 */
export function idKey(id: JsonId): string {
  return typeof id === "string" ? `s${id}` : `n${id}`;
}

/** `msg` as a line whose id is `rawId` byte for byte (the client's own spelling of it). */
export function lineWithId(msg: Record<string, unknown>, rawId: string): string {
  const { id: _id, jsonrpc: _j, ...rest } = msg;
  const body = JSON.stringify(rest);
  return `{"jsonrpc":"2.0","id":${rawId}${body === "{}" ? "" : `,${body.slice(1, -1)}`}}`;
}
