/**
 * Who may use the HTTP front: a browser page from an origin not listed (DNS rebinding) gets 403, and
 * anything without the bearer token gets 401. Requests without Origin come from non-browser hosts.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export class HttpAuth {
  private readonly digest: Buffer;
  private readonly origins: ReadonlySet<string>;

  constructor(token: string, allowedOrigins: readonly string[]) {
    this.digest = sha256(token);
    this.origins = new Set(allowedOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  }

  /** A refusal to send, or null when the request may go on. */
  check(req: Request): Response | null {
    const origin = req.headers.get("origin");
    if (origin !== null && !this.origins.has(origin.toLowerCase()))
      return new Response("Forbidden: this Origin is not in [http].allowed_origins\n", { status: 403 });
    const auth = req.headers.get("authorization");
    const m = auth === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(auth);
    // Digests have one length, so the comparison time says nothing about the token's length or prefix.
    if (m === null || !timingSafeEqual(sha256(m[1] as string), this.digest))
      return new Response("Unauthorized: send Authorization: Bearer <token> (rmcp-mux http-token prints it)\n", {
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer realm="rmcp-mux"' },
      });
    return null;
  }
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();
