/**
 * A Link (see pipelined.ts) over Streamable HTTP with nothing but `fetch`: each line written is one POST, its
 * JSON answer comes back as a line; the session id of the `initialize` answer goes on every later POST. The lean
 * client next to the SDK's StreamableHTTPClientTransport: with both, a figure says how much of an HTTP path's
 * latency is the client's and how much the server's.
 */
import type { Link } from "../pipelined.ts";

export function httpLink(url: string, headers: Record<string, string> = {}): Link {
  let sid: string | null = null;
  let closed = false;
  const base = { ...headers, "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  const link: Link = {
    onLine: () => {},
    onClose: () => {},
    get closed() {
      return closed;
    },
    write(text: string) {
      for (const line of text.split("\n")) if (line !== "") void post(line);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (sid !== null) await fetch(url, { method: "DELETE", headers: { ...headers, "Mcp-Session-Id": sid } }).catch(() => {});
      link.onClose();
    },
  };
  async function post(line: string): Promise<void> {
    if (closed) return;
    try {
      const r = await fetch(url, { method: "POST", headers: sid === null ? base : { ...base, "Mcp-Session-Id": sid }, body: line });
      sid ??= r.headers.get("mcp-session-id");
      const body = await r.text();
      // An HTTP refusal (404 for a closed session, 401, 503) is no message: the link is broken, say so at once.
      if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${body.trim()}`);
      if (r.status === 202 || body === "") return;
      if (!(r.headers.get("content-type") ?? "").includes("text/event-stream")) return link.onLine(body);
      // A streamed answer: each event's data is one message.
      for (const ev of body.split("\n\n")) {
        const data = ev
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (data !== "") link.onLine(data);
      }
    } catch {
      if (!closed) {
        closed = true;
        link.onClose();
      }
    }
  }
  return link;
}
