/**
 * CORS for the origins listed in [http].allowed_origins, so a browser page there can use the front: the
 * preflight (browsers send it without credentials, so it needs no token) and the headers that let the page
 * read an answer and its Mcp-Session-Id. Any other origin never gets here: it is refused with 403.
 */
const ALLOW_HEADERS = "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";

export function preflight(origin: string): Response {
  return new Response(null, {
    status: 204,
    headers: {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Methods": "GET, POST, DELETE",
      "Access-Control-Allow-Headers": ALLOW_HEADERS,
      "Access-Control-Max-Age": "600",
      Vary: "Origin",
    },
  });
}

export function withCors(r: Response, origin: string): Response {
  r.headers.set("Access-Control-Allow-Origin", origin);
  r.headers.set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate");
  r.headers.append("Vary", "Origin");
  return r;
}
