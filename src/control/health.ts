/**
 * A real MCP round trip through a server's socket: `initialize`, `notifications/initialized`, `ping`.
 * Healthy means the backend (or the mux's cached handshake) answered and the ping came back.
 */
import { dialUnix } from "../runtime/links/unix-dial.ts";
import { PathError } from "../errors.ts";
import { VERSION } from "../version.ts";

export interface HealthResult {
  socket: string;
  /** Time to the initialize answer, in ms. */
  initializeMs: number;
  /** Time to the ping answer, in ms. */
  pingMs: number;
  serverInfo: { name?: string; version?: string } | null;
  protocolVersion: string | null;
}

export class HealthError extends PathError {
  override readonly name = "HealthError";

  /** The socket that was checked. */
  get socket(): string {
    return this.path;
  }
}

export async function checkHealth(socket: string, timeoutMs = 10_000): Promise<HealthResult> {
  const answers = new Map<string, (msg: { result?: Record<string, unknown>; error?: { message?: string } }) => void>();
  let closed: (() => void) | null = null;
  const conn = await dialUnix(socket, {
    maxLineBytes: 64 * 1024 * 1024,
    maxQueuedBytes: 1024 * 1024,
    onLine(line) {
      try {
        const msg = JSON.parse(line);
        if (msg && msg.id !== undefined && msg.method === undefined) answers.get(JSON.stringify(msg.id))?.(msg);
      } catch {
        // not ours to judge: only the answers we wait for matter
      }
    },
    onClose: () => closed?.(),
  }).catch(() => {
    throw new HealthError(socket, "nothing is listening (is the rmcp-mux daemon running?)");
  });
  const call = (id: string, method: string, params?: unknown) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new HealthError(socket, `no answer to ${method} within ${timeoutMs} ms`)), timeoutMs);
      closed = () => reject(new HealthError(socket, `connection closed while waiting for ${method}`));
      answers.set(JSON.stringify(id), (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new HealthError(socket, `${method} failed: ${msg.error.message ?? JSON.stringify(msg.error)}`));
        else resolve(msg.result ?? {});
      });
      conn.send(JSON.stringify({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) }));
    });
  try {
    const t0 = performance.now();
    const init = await call("health-init", "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "rmcp-mux-health", version: VERSION },
    });
    const t1 = performance.now();
    conn.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    await call("health-ping", "ping");
    const t2 = performance.now();
    return {
      socket,
      initializeMs: round(t1 - t0),
      pingMs: round(t2 - t1),
      serverInfo: (init.serverInfo as HealthResult["serverInfo"]) ?? null,
      protocolVersion: typeof init.protocolVersion === "string" ? init.protocolVersion : null,
    };
  } finally {
    conn.end();
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
