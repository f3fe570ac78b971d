/**
 * Clients of both eras for the era suites: the official SDK 2.x Client (`@modelcontextprotocol/client`), pinned
 * to 2026-07-28 or in `auto` mode, and the SDK 1.x Client, each over its stdio transport running our proxy.
 * Every message a client receives is kept (`received`) so tests can prove what did NOT arrive.
 */
import { Client as ModernClient } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as LegacyStdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { BUN, PROXY, REPO, VERBOSE } from "./harness.ts";

export const ERA_SERVER = `${REPO}/test/fixtures/era-server.ts`;
export const STRICT_LEGACY = `${REPO}/test/fixtures/strict-legacy.ts`;

export interface EraClient {
  name: string;
  /** The SDK client (2.x or 1.x); typed loosely so one test body can drive both. */
  client: any;
  /** Every JSON-RPC message this client received, in order. */
  received: any[];
  /** Questions its elicitation handler was asked. */
  asked: string[];
  /** Log messages it got (params). */
  logs: any[];
  /** URIs of `notifications/resources/updated` it got. */
  updated: string[];
  close(): Promise<void>;
}

const live = new Set<EraClient>();

function proxyParams() {
  return { command: BUN, args: [PROXY, "--socket", ""], cwd: REPO, stderr: "pipe" as const, env: { ...(process.env as Record<string, string>) } };
}

/** Wraps a transport's onmessage so every received message is recorded first. */
function tapped<T extends { onmessage?: (m: any, extra?: any) => void; start(): Promise<void> }>(t: T, name: string, into: any[]): T {
  const start = t.start.bind(t);
  t.start = async () => {
    const inner = t.onmessage;
    t.onmessage = (m: any, extra?: any) => {
      into.push(m);
      if (VERBOSE) console.error(`[${name} <<] ${JSON.stringify(m).slice(0, 300)}`);
      inner?.(m, extra);
    };
    return start();
  };
  return t;
}

/**
 * The SDK 2.x client. `mode`: "pin" (2026-07-28) or "auto". It answers elicitations with `answer`
 * (when given), and records logs and resource updates.
 */
export async function connectModern(socket: string, name: string, mode: "pin" | "auto", answer?: string, timeoutMs = 15_000): Promise<EraClient> {
  const params = proxyParams();
  params.args[2] = socket;
  const transport = new ModernStdio(params);
  const received: any[] = [];
  const entry: EraClient = { name, client: null, received, asked: [], logs: [], updated: [], close: async () => {} };
  const client = new ModernClient(
    { name, version: "2.0.0" },
    {
      capabilities: answer === undefined ? {} : { elicitation: {} },
      versionNegotiation: { mode: mode === "pin" ? { pin: "2026-07-28" } : "auto", probe: { timeoutMs } },
    },
  );
  if (answer !== undefined) {
    client.setRequestHandler("elicitation/create", async (req: any) => {
      entry.asked.push(String(req.params?.message));
      return { action: "accept", content: { answer, name: answer } };
    });
  }
  client.setNotificationHandler("notifications/message", (n: any) => void entry.logs.push(n.params));
  client.setNotificationHandler("notifications/resources/updated", (n: any) => void entry.updated.push(String(n.params?.uri)));
  // The probe of `auto` runs on a sibling proxy; the session's own transport is the tapped one.
  await client.connect(tapped(transport as any, name, received), { timeout: timeoutMs });
  entry.client = client;
  entry.close = async () => {
    await client.close().catch(() => {});
  };
  live.add(entry);
  return entry;
}

/** The SDK 1.x client (2025 era), asking for `version` when given. */
export async function connectLegacy(socket: string, name: string, answer?: string): Promise<EraClient> {
  const params = proxyParams();
  params.args[2] = socket;
  const transport = new LegacyStdio(params);
  const received: any[] = [];
  const client = new LegacyClient({ name, version: "1.0.0" }, { capabilities: answer === undefined ? {} : { elicitation: {} } });
  const entry: EraClient = { name, client, received, asked: [], logs: [], updated: [], close: async () => {} };
  if (answer !== undefined) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      entry.asked.push(String(req.params.message));
      return { action: "accept", content: { answer, name: answer } };
    });
  }
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void entry.logs.push(n.params));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void entry.updated.push(n.params.uri));
  await client.connect(tapped(transport, name, received), { timeout: 15_000 });
  entry.close = async () => {
    await client.close().catch(() => {});
  };
  live.add(entry);
  return entry;
}

export async function closeEraClients(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((c) => c.close()));
}

export const text = (r: any): string => (r?.content ?? []).map((c: any) => c?.text ?? "").join("\n");
