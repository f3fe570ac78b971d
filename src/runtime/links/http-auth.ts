/**
 * Who may use the HTTP front: a browser page from an origin not listed (DNS rebinding) gets 403, and
 * anything without the bearer token gets 401. Requests without Origin come from non-browser hosts.
 */
import { timingSafeEqual } from "node:crypto";

export class HttpAuth {
  private readonly expected: Buffer;
  private readonly origins: ReadonlySet<string>;

  constructor(token: string, allowedOrigins: readonly string[]) {
    this.expected = Buffer.from(`Bearer ${token}`);
    this.origins = new Set(allowedOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  }

  /** Whether a browser page from `origin` may call. */
  allows(origin: string): boolean {
    return this.origins.has(origin.toLowerCase());
  }

  /** A refusal to send, or null when the request may go on. */
  check(req: Request): Response | null {
    const origin = req.headers.get("origin");
    if (origin !== null && !this.origins.has(origin.toLowerCase()))
      return new Response("Forbidden: this Origin is not in [http].allowed_origins\n", { status: 403 });
    const auth = req.headers.get("authorization");
    // Constant time over the content; a wrong length says only that (every token made here has one length).
    const given = auth === null ? null : Buffer.from(auth);
    if (given === null || given.length !== this.expected.length || !timingSafeEqual(given, this.expected))
      return new Response("Unauthorized: send Authorization: Bearer <token> (rmcp-mux http-token prints it)\n", {
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer realm="rmcp-mux"' },
      });
    return null;
  }
}

