/**
 * The 2026-07-28 stateless mode: the SDK 2.x client pinned to 2026-07-28 over Streamable HTTP. Each POST
 * carries MCP-Protocol-Version, Mcp-Method and Mcp-Name and no session; the front makes each request a
 * client of the router for the length of that request.
 */
import { afterEach, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { cleanup, daemonStatus, waitFor } from "./harness.ts";
import { INIT, post, startHttpDaemon } from "./http-harness.ts";

afterEach(cleanup);

test("a stateless 2026-07-28 POST is answered on itself, with no session, and leaves no client behind", async () => {
  const d = await startHttpDaemon({ fx: {} });
  // A 2025-era session is connected too: it stays while the 2026 requesters come and go.
  const init = await post(d, "fx", INIT());
  const sid = init.headers.get("mcp-session-id")!;
  await init.text();
  const h = { "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo" };
  const calls = await Promise.all(
    ["one", "two", "three"].map((t, i) => post(d, "fx", { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: `${t}${i}` } } }, h)),
  );
  for (const [i, r] of calls.entries()) {
    expect(r.status).toBe(200);
    expect(r.headers.get("mcp-session-id")).toBeNull();
    const body = (await r.json()) as any;
    expect(body.id).toBe(1);
    expect(body.result.content[0].text).toBe(`${["one", "two", "three"][i]}${i}`);
  }
  // a notification alone: 202, nothing to answer
  const note = await post(d, "fx", { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 99 } }, h);
  expect(note.status).toBe(202);
  // the three requesters came and went; the 2025 session stays
  await waitFor(async () => (await daemonStatus(d.ctl)).servers[0]!.clients.connected === 1 || undefined, 5000, "only the session left");
  expect(sid).toBeString();
});

test("SDK 2.x client pinned to 2026-07-28: discover, tools/list and tools/call, stateless", async () => {
  const d = await startHttpDaemon({ fx: {} });
  const seen: Array<{ method: string | null; version: string | null; session: string | null }> = [];
  const transport = new StreamableHTTPClientTransport(d.url("fx"), {
    requestInit: { headers: { Authorization: `Bearer ${d.token}` } },
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      if (init?.method === "POST")
        seen.push({ method: h.get("mcp-method"), version: h.get("mcp-protocol-version"), session: h.get("mcp-session-id") });
      return fetch(input, init);
    },
  } as any);
  const client = new Client({ name: "modern", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } } as any);
  await client.connect(transport);
  const tools = await client.listTools();
  expect(tools.tools.map((t: { name: string }) => t.name)).toContain("echo");
  const r: any = await client.callTool({ name: "echo", arguments: { text: "stateless" } });
  expect(r.content[0].text).toBe("stateless");
  const call = seen.find((s) => s.method === "tools/call")!;
  expect(call.version).toBe("2026-07-28");
  expect(call.session).toBeNull();
  await client.close();
  // every requester was a client only for its request
  await waitFor(async () => (await daemonStatus(d.ctl)).servers[0]!.clients.connected === 0 || undefined, 5000, "no clients left");
});

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

test("a stateless request whose client goes away is ended: its client leaves the router, its call is cancelled", async () => {
  const d = await startHttpDaemon({ fx: {} }, { session_idle_ms: 400 });
  const h = { "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "hang", Accept: "application/json" };
  const abort = new AbortController();
  const call = fetch(d.url("fx"), {
    method: "POST",
    headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json", ...h },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "hang", arguments: {}, _meta: ENVELOPE } }),
    signal: abort.signal,
  }).catch((e: Error) => e);
  await waitFor(async () => ((await daemonStatus(d.ctl)).servers[0]!.pending === 1 ? true : undefined), 5000, "the call in flight");
  abort.abort();
  await call;
  // Nothing else would end it: a stateless requester has no idle clock, and `hang` is never answered.
  await waitFor(async () => ((await daemonStatus(d.ctl)).servers[0]!.clients.connected === 0 ? true : undefined), 5000, "the requester gone");
  expect((await daemonStatus(d.ctl)).servers[0]!.pending).toBe(0);
});
