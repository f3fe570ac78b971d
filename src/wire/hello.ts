/**
 * The proxy's hello: the first line `rmcp-mux-proxy` writes on each connection, telling the daemon the folder its
 * host started it in. It is a JSON-RPC notification with a method no MCP peer uses, so a client that sends none
 * (a raw socket client) needs nothing: whatever its first line is, it is routed as usual. The daemon consumes the
 * hello and never forwards it.
 */
export const HELLO_METHOD = "notifications/rmcp-mux/hello";

export interface ClientHello {
  /** The folder the client's host started the proxy in (absolute). */
  cwd?: string;
  /** Which front the client came through. */
  transport?: "unix" | "http";
}

export function helloLine(cwd: string): string {
  return JSON.stringify({ jsonrpc: "2.0", method: HELLO_METHOD, params: { cwd } });
}

/** The hello a first line carries; null when the line is anything else (it is then the client's first message). */
export function parseHello(line: string): ClientHello | null {
  if (!line.includes(HELLO_METHOD)) return null;
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return null;
  const m = msg as { method?: unknown; id?: unknown; params?: { cwd?: unknown } };
  if (m.method !== HELLO_METHOD || "id" in m) return null;
  const cwd = m.params?.cwd;
  return typeof cwd === "string" && cwd.startsWith("/") ? { cwd } : {};
}
