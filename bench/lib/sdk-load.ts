/**
 * Closed-loop load through the official SDK client: each client awaits its tools/call answer, checks it, and
 * sends the next. Transports: stdio (a spawned command), a Unix socket (rmcp-mux's own socket, newline-delimited
 * JSON-RPC), SSE and streamable HTTP (peers, on 127.0.0.1).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Socket } from "bun";
import type { BackendSpec } from "./backends.ts";
import { Latencies, noteProblem, zeroCounts, type Counts, type LoadResult } from "./stats.ts";

/** SDK transport over a Unix socket speaking newline-delimited JSON-RPC (rmcp-mux's socket protocol). */
export class UnixSocketClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private socket: Socket<undefined> | null = null;
  private readonly rb = new ReadBuffer();
  private readonly queue: Uint8Array[] = [];
  private readonly encoder = new TextEncoder();
  private closed = false;

  constructor(private readonly path: string) {}

  async start(): Promise<void> {
    this.socket = await Bun.connect<undefined>({
      unix: this.path,
      socket: {
        binaryType: "buffer",
        data: (_s, chunk) => {
          try {
            this.rb.append(chunk as unknown as Buffer);
            for (let m = this.rb.readMessage(); m !== null; m = this.rb.readMessage()) this.onmessage?.(m);
          } catch (e) {
            this.onerror?.(e as Error);
          }
        },
        drain: (s) => {
          while (this.queue.length > 0) {
            const b = this.queue[0] as Uint8Array;
            const n = s.write(b);
            if (n < 0) return;
            if (n < b.length) {
              this.queue[0] = b.subarray(n);
              return;
            }
            this.queue.shift();
          }
        },
        close: () => {
          if (this.closed) return;
          this.closed = true;
          this.onclose?.();
        },
        error: (_s, e) => this.onerror?.(e),
      },
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const s = this.socket;
    if (!s || this.closed) throw new Error("socket closed");
    const b = this.encoder.encode(serializeMessage(message));
    if (this.queue.length > 0) {
      this.queue.push(b);
      return;
    }
    const n = s.write(b);
    if (n < 0) throw new Error("socket closed");
    if (n < b.length) this.queue.push(b.subarray(n));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket?.end();
    this.closed = true;
    this.onclose?.();
  }
}

export type TransportSpec =
  | { kind: "stdio"; command: string; args: string[]; env?: Record<string, string> }
  | { kind: "unix"; path: string }
  | { kind: "sse"; url: string }
  | { kind: "http"; url: string; headers?: Record<string, string> };

export function makeTransport(spec: TransportSpec): Transport {
  switch (spec.kind) {
    case "stdio":
      return new StdioClientTransport({
        command: spec.command,
        args: spec.args,
        stderr: "ignore",
        env: spec.env ?? (process.env as Record<string, string>),
      });
    case "unix":
      return new UnixSocketClientTransport(spec.path);
    case "sse":
      return new SSEClientTransport(new URL(spec.url));
    case "http":
      return new StreamableHTTPClientTransport(new URL(spec.url), spec.headers ? { requestInit: { headers: spec.headers } } : undefined);
  }
}

export interface SdkClient {
  client: Client;
  /** answers for ids this client never had open, as reported by the SDK */
  stray: number;
  /** answers to this client's own requests after the SDK had given up on them (timeout) */
  late: number;
  errors: string[];
  closed: boolean;
}

/** Connect n clients (at most `parallel` handshakes at a time); rejects if any fails. */
export async function connectClients(
  n: number,
  spec: (i: number) => TransportSpec,
  opts: { parallel?: number; timeoutMs?: number; name?: string } = {},
): Promise<SdkClient[]> {
  const out: SdkClient[] = new Array(n);
  const parallel = Math.max(1, opts.parallel ?? 8);
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < n && failures.length === 0) {
      const i = next++;
      const client = new Client({ name: `${opts.name ?? "bench"}-${i}`, version: "0.0.1" });
      const entry: SdkClient = { client, stray: 0, late: 0, errors: [], closed: false };
      const own = new RegExp(`(^|: )c${i}\\.\\d+$`); // the texts runClosedLoop sends for client i
      client.onerror = (e) => {
        const m = /unknown message ID: ([^]*)$/i.exec(e.message);
        if (!m) return noteProblem(entry.errors, e.message);
        let text: unknown;
        try {
          text = JSON.parse(m[1]!)?.result?.content?.[0]?.text;
        } catch {
          // not JSON: counted as stray
        }
        if (typeof text === "string" && own.test(text)) entry.late++;
        else entry.stray++;
      };
      client.onclose = () => {
        entry.closed = true;
      };
      out[i] = entry;
      try {
        await client.connect(makeTransport(spec(i)), { timeout: opts.timeoutMs ?? 30_000 });
      } catch (e) {
        failures.push(`client ${i}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  if (failures.length > 0) {
    await closeClients(out.filter(Boolean));
    throw new Error(`could not connect: ${failures[0]}`);
  }
  return out;
}

export async function closeClients(clients: SdkClient[], timeoutMs = 8000): Promise<void> {
  await Promise.race([
    Promise.all(clients.map((c) => c.client.close().catch(() => {}))),
    Bun.sleep(timeoutMs),
  ]);
}

/** Find the backend's echo tool in tools/list (gateways may namespace it, e.g. `server__echo`). */
export async function findTool(c: SdkClient, backend: BackendSpec): Promise<string> {
  const { tools } = await c.client.listTools(undefined, { timeout: 15_000 });
  const names = tools.map((t) => t.name);
  const hit =
    names.find((n) => n === backend.tool) ?? names.find((n) => new RegExp(`[_.:/-]${backend.tool}$`).test(n));
  if (!hit) throw new Error(`no ${backend.tool} tool in tools/list (${names.slice(0, 12).join(", ")})`);
  return hit;
}

const textOf = (r: any): unknown => r?.content?.[0]?.text;

/** One checked call outside any measurement (proves the path works before the load starts). */
export async function smokeCall(c: SdkClient, tool: string, backend: BackendSpec): Promise<void> {
  const text = `smoke-${Math.random().toString(36).slice(2)}`;
  const r = await c.client.callTool({ name: tool, arguments: { [backend.argKey]: text } }, undefined, { timeout: 15_000 });
  if (textOf(r) !== backend.expect(text)) throw new Error(`smoke call answered ${JSON.stringify(r).slice(0, 200)}`);
}

export interface ClosedLoopOptions {
  clients: SdkClient[];
  tool: string;
  backend: BackendSpec;
  windowStart: number;
  windowEnd: number;
  timeoutMs?: number;
}

/** Every client calls tools/call in a closed loop until the window ends; returns checked counts and latencies. */
export async function runClosedLoop(o: ClosedLoopOptions): Promise<LoadResult> {
  const counts: Counts = zeroCounts();
  const latencies = new Latencies();
  const problems: string[] = [];
  let completedInWindow = 0;
  const timeout = o.timeoutMs ?? 10_000;
  const strayBefore = o.clients.map((c) => c.stray);
  const lateBefore = o.clients.map((c) => c.late);
  const closedBefore = o.clients.map((c) => c.closed);
  let maxLatencyMs = 0;

  const loop = async (c: SdkClient, ci: number) => {
    let seq = 0;
    while (performance.now() < o.windowEnd && !c.closed) {
      const text = `c${ci}.${seq++}`;
      const t0 = performance.now();
      counts.sent++;
      try {
        const r = await c.client.callTool({ name: o.tool, arguments: { [o.backend.argKey]: text } }, undefined, { timeout });
        const t1 = performance.now();
        maxLatencyMs = Math.max(maxLatencyMs, t1 - t0);
        const inWindow = t1 >= o.windowStart && t1 < o.windowEnd;
        if (inWindow) completedInWindow++;
        if (r.isError) {
          counts.errors++;
          noteProblem(problems, `isError for ${text}: ${JSON.stringify(r).slice(0, 200)}`);
        } else if (textOf(r) !== o.backend.expect(text)) {
          counts.misrouted++;
          noteProblem(problems, `misrouted: sent ${text}, got ${JSON.stringify(textOf(r))}`);
        } else if (inWindow) {
          counts.ok++;
        }
        if (t0 >= o.windowStart && t0 < o.windowEnd) latencies.push(t1 - t0);
      } catch (e) {
        const msg = (e as Error).message ?? String(e);
        const code = (e as { code?: number }).code;
        // -32001 request timeout, -32000 connection closed (SDK ErrorCode)
        if (code === -32001 || code === -32000 || /timed out|closed/i.test(msg)) counts.missing++;
        else counts.errors++;
        noteProblem(problems, `client ${ci} ${text}: ${msg}`);
        if (c.closed) break;
      }
    }
  };
  await Promise.all(o.clients.map((c, i) => loop(c, i)));
  let dropped = 0;
  o.clients.forEach((c, i) => {
    counts.stray += c.stray - (strayBefore[i] ?? 0);
    counts.late += c.late - (lateBefore[i] ?? 0);
    if (c.closed && !closedBefore[i]) dropped++;
    for (const e of c.errors.splice(0)) noteProblem(problems, `client ${i}: ${e}`);
  });
  if (dropped > 0) {
    counts.errors += dropped;
    noteProblem(problems, `${dropped} client connection(s) closed by the other side during the run`);
  }
  const windowMs = Math.min(o.windowEnd, performance.now()) - o.windowStart;
  return { counts, latencies, completedInWindow, windowMs, maxLatencyMs, problems };
}
