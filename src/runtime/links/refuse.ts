/**
 * A connection past `max_connections`: told why at once, in a form every client can read (a JSON-RPC error
 * with id null), then closed. A client that waited in silence instead would look like a hung server.
 */
import { errorLine, INTERNAL_ERROR, NULL_ID } from "../../wire/jsonrpc.ts";
import type { Logger } from "../log.ts";
import type { ClientLink } from "./link.ts";

/** Logged at most this often per server, so a client reconnecting in a loop cannot flood the log. */
const LOG_EVERY_MS = 10_000;
/** When each server (known by its logger) last logged a refusal, and how many it refused since. */
const logged = new WeakMap<Logger, { at: number; since: number }>();

export function connectionLimitLine(max: number): string {
  const message = `Too many connections: this server accepts at most ${max} (max_connections); close an idle session or raise max_connections`;
  return errorLine(NULL_ID, INTERNAL_ERROR, message, "connection_limit", { maxConnections: max });
}

/** Answers and closes `link`; returns null (the accept function's "refused"). */
export function refuseConnection(link: ClientLink, max: number, log: Logger): null {
  const now = performance.now();
  const last = logged.get(log) ?? { at: -Infinity, since: 0 };
  if (now - last.at >= LOG_EVERY_MS) {
    const more = last.since > 0 ? ` (and ${last.since} more since the last report)` : "";
    log("warn", `refused a connection: ${max} connected already (max_connections)${more}`);
    logged.set(log, { at: now, since: 0 });
  } else {
    last.since++;
  }
  link.send(connectionLimitLine(max));
  link.endWhenWritten();
  return null;
}
