/**
 * A real daemon with its HTTP front on a free loopback port, and the official SDK 1.x client over
 * StreamableHTTPClientTransport against it.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type Daemon, type ServerSpec, startDaemon, writeConfig, type WrittenConfig } from "./harness.ts";

export interface HttpDaemon {
  daemon: Daemon;
  cfg: WrittenConfig;
  /** `http://127.0.0.1:PORT` */
  base: string;
  token: string;
  /** The control socket. */
  ctl: string;
  url(server: string): URL;
}

export async function startHttpDaemon(servers: Record<string, ServerSpec>, http: Record<string, unknown> = {}, env?: Record<string, string>): Promise<HttpDaemon> {
  const cfg = writeConfig(undefined, servers);
  const tokenFile = path.join(cfg.dir, "http-token");
  writeConfig(cfg.dir, servers, { http: { listen: "127.0.0.1:0", token_file: tokenFile, ...http } });
  const daemon = await startDaemon(cfg.configPath, [], env ? { env } : {});
  const line = await daemon.waitForStderr(/http: listening on (\S+)\/mcp/);
  const base = /http: listening on (\S+)\/mcp/.exec(line)![1]!;
  const token = readFileSync(tokenFile, "utf8").trim();
  return { daemon, cfg, base, token, ctl: path.join(cfg.dir, "daemon.sock"), url: (s) => new URL(`${base}/mcp/${s}`) };
}

const openClients: Client[] = [];

/** An SDK 1.x client over Streamable HTTP; closed by `closeHttpClients()`. */
export async function httpClient(
  d: HttpDaemon,
  server: string,
  name: string,
  capabilities: Record<string, unknown> = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(d.url(server), {
    requestInit: { headers: { Authorization: `Bearer ${d.token}` } },
  });
  const client = new Client({ name, version: "1.0.0" }, { capabilities });
  await client.connect(transport);
  openClients.push(client);
  return { client, transport };
}

export async function closeHttpClients(): Promise<void> {
  const all = openClients.splice(0);
  await Promise.all(all.map((c) => c.close().catch(() => {})));
}

/** A raw POST with the token (and a session id when given). */
export function post(d: HttpDaemon, server: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(d.url(server), {
    method: "POST",
    headers: {
      Authorization: `Bearer ${d.token}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const INIT = (id: number | string = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});
