/**
 * Wire checker for the end-to-end suites against @modelcontextprotocol/server-everything.
 *
 * Every message a client receives is validated against the official SDK's Zod schemas:
 *   - the envelope: `JSONRPCMessageSchema`;
 *   - server→client requests: `ServerRequestSchema`; notifications: `ServerNotificationSchema`;
 *   - responses: the result schema of the method that was asked (`CallToolResultSchema`, `CreateTaskResultSchema`
 *     for a task-augmented `tools/call`, `GetTaskResultSchema`, `EmptyResultSchema`, ...).
 * On top of the schemas it checks what a correct mux owes one client:
 *   - a response answers a request this client sent and has not had answered yet (no foreign or duplicate answers);
 *   - a `notifications/progress` carries a token of one of this client's requests still open (so a progress
 *     notification after its response, or for another client's token, is a violation);
 *   - server→client request ids are never reused on one connection.
 *
 * SDK clients: `connectSdkClient()` runs the official `Client` over `StdioClientTransport` running our proxy
 * (`bun src/proxy/main.ts --socket PATH`), wrapped in `WireCheckedTransport`, which sees each message before the
 * Client does. A line the SDK cannot parse never reaches `onmessage` (the SDK reports it through `onerror`), so
 * transport errors count as violations too. Raw clients: `wireCheckRaw()` puts a `RawClient` under the same checks.
 *
 * Use `expectWireClean()` at the end of a test and `closeSdkClients()` + `expectWireClean()` in `afterEach`.
 *
 * Limits: the SDK's `JSONRPCMessageSchema` refuses an error response with `"id": null` (JSON-RPC's answer to a line
 * that cannot be parsed), so suites that send garbage on purpose cannot use this checker for those answers.
 */
import { afterAll, afterEach, expect } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CompleteResultSchema,
  CreateMessageRequestSchema,
  type CreateMessageRequest,
  type CreateMessageResult,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  type ElicitRequest,
  type ElicitResult,
  EmptyResultSchema,
  GetPromptResultSchema,
  GetTaskResultSchema,
  InitializeResultSchema,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListRootsRequestSchema,
  ListTasksResultSchema,
  ListToolsResultSchema,
  LoggingMessageNotificationSchema,
  type MessageExtraInfo,
  ReadResourceResultSchema,
  type Root,
  ServerNotificationSchema,
  ServerRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { BUN, cleanup, PROXY, REPO, type RawClient, type Received, type ServerSpec, VERBOSE } from "./harness.ts";
import { defines, supports } from "../../src/router/versions.ts";

// ---- schema checks --------------------------------------------------------------------------------------------

interface SafeParser {
  safeParse(v: unknown): { success: boolean; error?: { message: string } };
}

/** Result schema per request method. `tools/call` with `params.task` is answered with a CreateTaskResult. */
const RESULT_SCHEMAS: Record<string, SafeParser> = {
  initialize: InitializeResultSchema,
  ping: EmptyResultSchema,
  "tools/list": ListToolsResultSchema,
  "tools/call": CallToolResultSchema,
  "resources/list": ListResourcesResultSchema,
  "resources/templates/list": ListResourceTemplatesResultSchema,
  "resources/read": ReadResourceResultSchema,
  "resources/subscribe": EmptyResultSchema,
  "resources/unsubscribe": EmptyResultSchema,
  "prompts/list": ListPromptsResultSchema,
  "prompts/get": GetPromptResultSchema,
  "completion/complete": CompleteResultSchema,
  "logging/setLevel": EmptyResultSchema,
  "tasks/get": GetTaskResultSchema,
  "tasks/list": ListTasksResultSchema,
  "tasks/cancel": CancelTaskResultSchema,
  // tasks/result returns the payload of the original request; every task in these suites is a tools/call
  "tasks/result": CallToolResultSchema,
};

function schemaError(schema: SafeParser, value: unknown): string | null {
  const r = schema.safeParse(value);
  return r.success ? null : (r.error?.message ?? "invalid").replace(/\s+/g, " ").slice(0, 600);
}

const idKey = (id: unknown): string => JSON.stringify(id);

interface SentRequest {
  method: string;
  task: boolean;
  progressToken?: unknown;
}

/**
 * Bookkeeping for one connection as seen from the client: what it asked, what it was asked.
 * `inspect()` returns the violations one incoming message causes (empty when the message is fine).
 */
export class WireState {
  /** idKey(request id) → what was asked; removed when answered (or cancelled) */
  readonly open = new Map<string, SentRequest>();
  /** requests the client cancelled; an answer to one of these is "late", not foreign */
  readonly cancelled = new Map<string, SentRequest>();
  /** answers that arrived after the client cancelled the request (the mux should drop them) */
  readonly lateResponses: JSONRPCMessage[] = [];
  /** every server→client request id seen (ids must be unique per connection) */
  private readonly serverRequestIds = new Set<string>();
  /** the protocol version this connection's initialize was answered with (tasks exist from 2025-11-25 on) */
  private version: string | undefined;

  constructor(readonly name: string) {}

  noteOutgoing(m: any): void {
    if (m === null || typeof m !== "object") return;
    if (typeof m.method === "string" && m.id !== undefined) {
      this.open.set(idKey(m.id), {
        method: m.method,
        task: m.params?.task != null,
        progressToken: m.params?._meta?.progressToken,
      });
    } else if (m.method === "notifications/cancelled" && m.params?.requestId !== undefined) {
      const k = idKey(m.params.requestId);
      const req = this.open.get(k);
      if (req) {
        this.open.delete(k);
        this.cancelled.set(k, req);
      }
    }
  }

  inspect(m: unknown): string[] {
    const out: string[] = [];
    const bad = (why: string) => out.push(`${this.name}: ${why}: ${JSON.stringify(m).slice(0, 400)}`);
    const env = schemaError(JSONRPCMessageSchema, m);
    if (env !== null) {
      bad(`not a JSON-RPC message (${env})`);
      return out;
    }
    const msg = m as any;
    if (typeof msg.method === "string") {
      if (this.version !== undefined && !defines(this.version, msg.method)) bad(`${msg.method} is not part of protocol ${this.version}`);
      if (msg.id !== undefined) {
        const e = schemaError(ServerRequestSchema, { method: msg.method, params: msg.params });
        if (e !== null) bad(`server request fails ServerRequestSchema (${e})`);
        const k = idKey(msg.id);
        if (this.serverRequestIds.has(k)) bad(`server request id ${k} reused on this connection`);
        this.serverRequestIds.add(k);
      } else {
        const e = schemaError(ServerNotificationSchema, { method: msg.method, params: msg.params });
        if (e !== null) bad(`notification fails ServerNotificationSchema (${e})`);
        if (msg.method === "notifications/progress") {
          const tok = idKey(msg.params?.progressToken);
          const owner = [...this.open.values()].some((r) => r.progressToken !== undefined && idKey(r.progressToken) === tok);
          if (!owner) bad("progress for a token of no open request of this client (foreign, or after its response)");
        }
      }
      return out;
    }
    // a response
    const k = idKey(msg.id);
    const req = this.open.get(k);
    if (req === undefined) {
      if (this.cancelled.has(k)) {
        this.lateResponses.push(msg);
        this.cancelled.delete(k);
      } else bad(`response to id ${k}, which this client did not send or already got an answer for`);
      return out;
    }
    this.open.delete(k);
    if ("result" in msg) {
      if (req.method === "initialize") this.version = msg.result?.protocolVersion;
      // A `task` from a session whose version predates tasks is no task request: the call is answered itself.
      const taskRequest = req.task && (this.version === undefined || supports(this.version, "tasks"));
      const schema = req.method === "tools/call" && taskRequest ? CreateTaskResultSchema : RESULT_SCHEMAS[req.method];
      if (schema) {
        const e = schemaError(schema, msg.result);
        if (e !== null) bad(`result of ${req.method} fails its schema (${e})`);
      }
    }
    return out;
  }
}

// ---- global registry ------------------------------------------------------------------------------------------

const violations: string[] = [];

/** Violations recorded since the last call, and clears them. */
export function takeWireViolations(): string[] {
  return violations.splice(0);
}

/** Fail the current test if any message received so far broke the rules. */
export function expectWireClean(): void {
  expect(takeWireViolations()).toEqual([]);
}

// ---- the transport wrapper ------------------------------------------------------------------------------------

interface MsgWaiter {
  pred: (m: any) => boolean;
  resolve: (m: any) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A Transport that forwards to an inner one and checks every incoming message before the Client sees it. */
export class WireCheckedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** everything received, in order */
  readonly received: any[] = [];
  readonly state: WireState;
  closed = false;
  /** set before killing the proxy on purpose: errors of a dead pipe are then expected */
  dying = false;
  private waiters: MsgWaiter[] = [];

  constructor(
    readonly name: string,
    readonly inner: StdioClientTransport,
  ) {
    this.state = new WireState(name);
    inner.onmessage = (m: JSONRPCMessage) => {
      for (const v of this.state.inspect(m)) violations.push(v);
      this.received.push(m);
      if (VERBOSE) console.error(`[${name} <<] ${JSON.stringify(m).slice(0, 300)}`);
      this.wake(m);
      this.onmessage?.(m);
    };
    inner.onerror = (e) => {
      if (!this.dying) violations.push(`${name}: transport error (unparseable or invalid line?): ${e.message}`);
      this.onerror?.(e);
    };
    inner.onclose = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`${name}: transport closed while waiting`));
      }
      this.onclose?.();
    };
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    this.state.noteOutgoing(message);
    if (VERBOSE) console.error(`[${this.name} >>] ${JSON.stringify(message).slice(0, 300)}`);
    return this.inner.send(message); // stdio has no use for the send options (they steer HTTP streams)
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  get pid(): number | null {
    return this.inner.pid;
  }

  private wake(m: any): void {
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      let ok = false;
      try {
        ok = w.pred(m);
      } catch {
        ok = false;
      }
      if (ok) {
        this.waiters.splice(i--, 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  }

  /** The first received message (already received, or future) matching `pred`. Nothing is consumed. */
  waitFor(pred: (m: any) => boolean, timeoutMs = 5000, what = "message"): Promise<any> {
    const hit = this.received.find((m) => {
      try {
        return pred(m);
      } catch {
        return false;
      }
    });
    if (hit !== undefined) return Promise.resolve(hit);
    if (this.closed) return Promise.reject(new Error(`${this.name}: closed, no ${what}`));
    return new Promise((resolve, reject) => {
      const w: MsgWaiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(
            new Error(
              `${this.name}: no ${what} within ${timeoutMs} ms; last received: ${this.received
                .slice(-5)
                .map((r) => JSON.stringify(r).slice(0, 200))
                .join(" | ")}`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Received messages with that method (notifications and server requests). */
  withMethod(method: string): any[] {
    return this.received.filter((m) => m.method === method);
  }
}

// ---- SDK clients through the proxy ----------------------------------------------------------------------------

export interface SdkClientOptions {
  /** declare `sampling` and answer with this text (default: no sampling capability) */
  sampling?: string | ((req: CreateMessageRequest) => CreateMessageResult | Promise<CreateMessageResult>);
  /** declare `elicitation` and answer with this */
  elicitation?: (req: ElicitRequest) => ElicitResult | Promise<ElicitResult>;
  /** declare `roots` (listChanged) and answer roots/list with the current value of this */
  roots?: () => Root[];
  /** the folder the proxy runs in (what its hello tells the daemon); default: the repository */
  cwd?: string;
}

export interface SdkClient {
  name: string;
  client: Client;
  tap: WireCheckedTransport;
  stderr: string[];
  /** requests the handlers received, in order */
  calls: { sampling: CreateMessageRequest[]; elicitation: ElicitRequest[]; roots: number };
  /** resolves once the handler of `kind` has been called at least `n` times in all (at once if it already was) */
  waitCalls(kind: "sampling" | "elicitation" | "roots", n: number, timeoutMs?: number): Promise<void>;
  /** SIGKILL the proxy process (a host that vanishes) and wait for the transport to close */
  kill(): Promise<void>;
}

const liveSdkClients = new Set<SdkClient>();

/** Connect the official SDK Client through `bun src/proxy/main.ts --socket <socket>`. */
export async function connectSdkClient(socket: string, name: string, opts: SdkClientOptions = {}): Promise<SdkClient> {
  const inner = new StdioClientTransport({
    command: BUN,
    args: [PROXY, "--socket", socket],
    cwd: opts.cwd ?? REPO,
    stderr: "pipe",
    env: { ...(process.env as Record<string, string>) },
  });
  const stderr: string[] = [];
  inner.stderr?.on("data", (b: Buffer) => {
    stderr.push(b.toString());
    if (VERBOSE) console.error(`[proxy ${name}] ${b.toString().trimEnd()}`);
  });
  const tap = new WireCheckedTransport(name, inner);
  const capabilities: Record<string, object> = {};
  if (opts.sampling !== undefined) capabilities.sampling = {};
  if (opts.elicitation !== undefined) capabilities.elicitation = {};
  if (opts.roots !== undefined) capabilities.roots = { listChanged: true };
  const client = new Client({ name, version: "0.0.1" }, { capabilities });

  const calls: SdkClient["calls"] = { sampling: [], elicitation: [], roots: 0 };
  const count = (kind: string) => (kind === "roots" ? calls.roots : (calls as any)[kind].length);
  let callWaiters: Array<() => boolean> = [];
  const called = (_kind: string, _v: unknown) => {
    callWaiters = callWaiters.filter((w) => !w());
  };
  if (opts.sampling !== undefined) {
    const s = opts.sampling;
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      calls.sampling.push(req);
      called("sampling", req);
      if (typeof s === "function") return s(req);
      return { role: "assistant", content: { type: "text", text: s }, model: `model-of-${name}` };
    });
  }
  if (opts.elicitation !== undefined) {
    const e = opts.elicitation;
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      calls.elicitation.push(req);
      called("elicitation", req);
      return e(req);
    });
  }
  if (opts.roots !== undefined) {
    const r = opts.roots;
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      calls.roots++;
      called("roots", calls.roots);
      return { roots: r() };
    });
  }
  // log messages are checked on the wire; a handler keeps the Client from treating them as unknown
  client.setNotificationHandler(LoggingMessageNotificationSchema, () => {});

  const entry: SdkClient = {
    name,
    client,
    tap,
    stderr,
    calls,
    waitCalls(kind, n, timeoutMs = 5000) {
      if (count(kind) >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: ${kind} handler called ${count(kind)} times, not ${n}, within ${timeoutMs} ms`)),
          timeoutMs,
        );
        callWaiters.push(() => {
          if (count(kind) < n) return false;
          clearTimeout(timer);
          resolve();
          return true;
        });
      });
    },
    async kill() {
      tap.dying = true;
      const pid = tap.pid;
      if (pid === null || tap.closed) return;
      const closed = new Promise<void>((r) => {
        const prev = tap.onclose;
        tap.onclose = () => {
          prev?.();
          r();
        };
      });
      process.kill(pid, "SIGKILL");
      await Promise.race([closed, Bun.sleep(5000)]);
    },
  };
  liveSdkClients.add(entry);
  try {
    await client.connect(tap, { timeout: 15_000 });
  } catch (e) {
    throw new Error(`SDK client ${name} failed to connect: ${String(e)}; proxy stderr:\n${stderr.join("")}`);
  }
  return entry;
}

/**
 * Close every SDK client (in parallel). A proxy that still has requests open is killed instead of waiting for the
 * SDK's 2 s grace: what these suites test is the daemon, not a polite proxy shutdown.
 */
export async function closeSdkClients(): Promise<void> {
  const all = [...liveSdkClients];
  liveSdkClients.clear();
  await Promise.all(
    all.map(async (c) => {
      if (c.tap.closed) return;
      if (c.tap.state.open.size > 0 || c.tap.state.cancelled.size > 0) return c.kill();
      c.tap.dying = true;
      await c.client.close().catch(() => {});
    }),
  );
}

// ---- raw clients ----------------------------------------------------------------------------------------------

/**
 * Put a RawClient under the same checks, from now on: what it sends is noted (so answers can be matched to their
 * requests) and every line it receives is checked as it arrives; violations go to the same registry
 * (`expectWireClean()`). A line that is not JSON is a violation. Returns the connection's bookkeeping.
 */
export function wireCheckRaw(name: string, raw: RawClient): WireState {
  const st = new WireState(name);
  const send = raw.send.bind(raw);
  raw.send = (msg: object | string) => {
    try {
      st.noteOutgoing(typeof msg === "string" ? JSON.parse(msg) : msg);
    } catch {
      // deliberately broken input: nothing to match answers against
    }
    send(msg);
  };
  const history = raw.history;
  history.push = (...items: Received[]) => {
    for (const r of items) {
      if (r.parseError) violations.push(`${name}: a line that is not JSON: ${r.raw.slice(0, 300)}`);
      else for (const v of st.inspect(r.msg)) violations.push(v);
    }
    return Array.prototype.push.apply(history, items);
  };
  return st;
}

// ---- the reference backend --------------------------------------------------------------------------------------

export const EVERYTHING = `${REPO}/node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

/** The `[servers.everything]` table these suites use: server-everything under bun, room for many clients. */
export const EVERYTHING_SERVER: ServerSpec = {
  cmd: BUN,
  args: [EVERYTHING],
  request_timeout_ms: 15_000,
  max_active_clients: 20,
};

/** Text of every content item of a tools/call result, joined. */
export function allText(r: any): string {
  return (r?.content ?? []).map((c: any) => (c?.type === "text" ? c.text : "")).join("\n");
}

/** The hooks every SDK suite shares: no wire violation after each test, clients closed, everything cleaned up. */
export function useSdkSuite(): void {
  afterEach(async () => {
    const v = takeWireViolations();
    await closeSdkClients();
    expect(v).toEqual([]);
  });
  afterAll(async () => {
    await closeSdkClients();
    await cleanup();
  });
}
