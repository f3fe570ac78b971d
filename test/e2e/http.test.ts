/**
 * The Streamable HTTP front with the official SDK 1.x client (StreamableHTTPClientTransport) against a
 * real daemon and the fixture server: answers, progress per session, a socket client and an HTTP session
 * on one backend process, DELETE, auth, /health.
 */
import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { cleanup, daemonStatus, RawClient, readPids, resultText, waitFor } from "./harness.ts";
import { closeHttpClients, httpClient, INIT, post, startHttpDaemon } from "./http-harness.ts";

afterEach(async () => {
  await closeHttpClients();
  await cleanup();
});

const textOf = (r: any): string => r.content?.[0]?.text;

describe("Streamable HTTP, 2025 era, SDK 1.x client", () => {
  test("tools/list and tools/call answered on the POST", async () => {
    const d = await startHttpDaemon({ fx: {} });
    const { client, transport } = await httpClient(d, "fx", "sdk-http");
    expect(transport.sessionId).toBeString();
    expect(client.getServerVersion()?.name).toBe("fixture");
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("echo");
    const r = await client.callTool({ name: "echo", arguments: { text: "over http" } });
    expect(textOf(r)).toBe("over http");
  });

  test("two sessions at once: each gets its own answers and only its own progress", async () => {
    const d = await startHttpDaemon({ fx: { max_active_clients: 4 } });
    const [a, b] = await Promise.all([httpClient(d, "fx", "A"), httpClient(d, "fx", "B")]);
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
    const seen = { a: [] as number[], b: [] as number[] };
    const [ra, rb, ea, eb] = await Promise.all([
      a.client.callTool({ name: "progress", arguments: { steps: 3 } }, undefined, { onprogress: (p) => void seen.a.push(p.progress) }),
      b.client.callTool({ name: "progress", arguments: { steps: 5 } }, undefined, { onprogress: (p) => void seen.b.push(p.progress) }),
      a.client.callTool({ name: "slow", arguments: { ms: 50, text: "from A" } }),
      b.client.callTool({ name: "echo", arguments: { text: "from B" } }),
    ]);
    expect(textOf(ra)).toBe("done");
    expect(textOf(rb)).toBe("done");
    expect(seen.a).toEqual([1, 2, 3]);
    expect(seen.b).toEqual([1, 2, 3, 4, 5]);
    expect(textOf(ea)).toBe("from A");
    expect(textOf(eb)).toBe("from B");
  });

  test("an HTTP session and a socket client share one backend process", async () => {
    const pidfile = path.join("/tmp", `mx-pids-${process.pid}-${Date.now()}`);
    const d = await startHttpDaemon({ fx: { env: { FIXTURE_PIDFILE: pidfile } } });
    const raw = await RawClient.connect(d.cfg.sockets.fx!);
    await raw.initialize();
    const { client } = await httpClient(d, "fx", "http-one");
    const viaSocket = await raw.request("tools/call", { name: "stats", arguments: {} });
    const viaHttp = await client.callTool({ name: "stats", arguments: {} });
    const s1 = JSON.parse(resultText(viaSocket));
    const s2 = JSON.parse(textOf(viaHttp));
    expect(s1.pid).toBe(s2.pid);
    expect(readPids(pidfile)).toEqual([s1.pid]);
    // one handshake reached the backend, for both clients
    expect(s2.initializeCount).toBe(1);
    const st = await daemonStatus(d.ctl);
    expect(st.servers[0]!.clients.connected).toBe(2);
  });

  test("after DELETE the session id gets 404 on POST, GET and DELETE", async () => {
    const d = await startHttpDaemon({ fx: {} });
    const { transport } = await httpClient(d, "fx", "short-lived");
    const sid = transport.sessionId!;
    await transport.terminateSession();
    const ping = { jsonrpc: "2.0", id: 9, method: "ping" };
    expect((await post(d, "fx", ping, { "Mcp-Session-Id": sid })).status).toBe(404);
    const auth = { Authorization: `Bearer ${d.token}`, "Mcp-Session-Id": sid };
    expect((await fetch(d.url("fx"), { headers: { ...auth, Accept: "text/event-stream" } })).status).toBe(404);
    expect((await fetch(d.url("fx"), { method: "DELETE", headers: auth })).status).toBe(404);
    // the router let the client go
    const st = await daemonStatus(d.ctl);
    expect(st.servers[0]!.clients.connected).toBe(0);
  });

  test("a session id of another server, or none, is refused", async () => {
    const d = await startHttpDaemon({ fx: {}, gx: {} });
    const init = await post(d, "fx", INIT());
    const sid = init.headers.get("mcp-session-id")!;
    expect(sid).toBeString();
    await init.text();
    expect((await post(d, "gx", { jsonrpc: "2.0", id: 2, method: "ping" }, { "Mcp-Session-Id": sid })).status).toBe(404);
    expect((await post(d, "fx", { jsonrpc: "2.0", id: 2, method: "ping" })).status).toBe(400);
    expect((await post(d, "nope", INIT())).status).toBe(404);
  });
});

describe("Streamable HTTP auth", () => {
  test("401 with WWW-Authenticate: Bearer without the token or with a wrong one; 403 for an unlisted Origin", async () => {
    const d = await startHttpDaemon({ fx: {} }, { allowed_origins: ["http://ok.example"] });
    const body = JSON.stringify(INIT());
    const h = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    const none = await fetch(d.url("fx"), { method: "POST", headers: h, body });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toStartWith("Bearer");
    const wrong = await fetch(d.url("fx"), { method: "POST", headers: { ...h, Authorization: `Bearer ${d.token}x` }, body });
    expect(wrong.status).toBe(401);
    const evil = await post(d, "fx", INIT(), { Origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    const ok = await post(d, "fx", INIT(), { Origin: "http://ok.example" });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).result.serverInfo.name).toBe("fixture");
    // the GET stream and DELETE are guarded too
    expect((await fetch(d.url("fx"), { headers: { Accept: "text/event-stream" } })).status).toBe(401);
    expect((await fetch(d.url("fx"), { method: "DELETE" })).status).toBe(401);
    // no request got through to the router
    const st = await daemonStatus(d.ctl);
    expect(st.servers[0]!.clients.connected).toBe(1);
  });

  test("a page of an allowed origin gets the CORS preflight without a token, and answers it can read", async () => {
    const d = await startHttpDaemon({ fx: {} }, { allowed_origins: ["http://ok.example"] });
    const pre = await fetch(d.url("fx"), {
      method: "OPTIONS",
      headers: { Origin: "http://ok.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, mcp-session-id" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://ok.example");
    expect(pre.headers.get("access-control-allow-headers")).toContain("Mcp-Session-Id");
    const r = await post(d, "fx", INIT(), { Origin: "http://ok.example" });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("http://ok.example");
    expect(r.headers.get("access-control-expose-headers")).toContain("Mcp-Session-Id");
    await r.text();
    // another origin: no preflight, 403
    const evil = await fetch(d.url("fx"), { method: "OPTIONS", headers: { Origin: "http://evil.example" } });
    expect(evil.status).toBe(403);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("GET /health answers 200 without auth and without details", async () => {
    const d = await startHttpDaemon({ fx: {} });
    const r = await fetch(`${d.base}/health`);
    expect(r.status).toBe(200);
    expect((await r.text()).trim()).toBe("ok");
  });
});

describe("Streamable HTTP limits", () => {
  test("a body over max_request_bytes gets 413 and the session stays usable", async () => {
    const d = await startHttpDaemon({ fx: { max_request_bytes: 2000 } });
    const init = await post(d, "fx", INIT());
    const sid = init.headers.get("mcp-session-id")!;
    await init.text();
    const big = { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "x".repeat(5000) } } };
    const r = await post(d, "fx", big, { "Mcp-Session-Id": sid });
    expect(r.status).toBe(413);
    expect(((await r.json()) as any).error.message).toContain("max_request_bytes (2000 bytes)");
    const ok = await post(d, "fx", { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "echo", arguments: { text: "small" } } }, { "Mcp-Session-Id": sid });
    expect(((await ok.json()) as any).result.content[0].text).toBe("small");
  });

  test("a pretty-printed body is one message: a request nested between its newlines never reaches the server alone", async () => {
    const d = await startHttpDaemon({ fx: {} });
    const init = await post(d, "fx", INIT());
    const sid = init.headers.get("mcp-session-id")!;
    await init.text();
    // Valid JSON whose second line is, on its own, a complete request of its own.
    const nested = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"outer"},"x":\n{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"echo","arguments":{"text":"smuggled"}}}\n}}`;
    const r = await post(d, "fx", nested, { "Mcp-Session-Id": sid });
    expect(((await r.json()) as any).result.content[0].text).toBe("outer");
    const stats = await post(d, "fx", { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "stats", arguments: {} } }, { "Mcp-Session-Id": sid });
    const seen = JSON.parse(((await stats.json()) as any).result.content[0].text);
    expect(seen.parseErrors).toBe(0);
    expect(seen.methodCounts["tools/call"]).toBe(2); // the outer call and this one: nothing smuggled
  });

  test("an id still waiting in the session is refused with 409; the first POST still gets its answer", async () => {
    const d = await startHttpDaemon({ fx: {} });
    const init = await post(d, "fx", INIT());
    const sid = init.headers.get("mcp-session-id")!;
    await init.text();
    const first = post(d, "fx", { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "slow", arguments: { ms: 500, text: "first" } } }, { "Mcp-Session-Id": sid });
    await waitFor(async () => ((await daemonStatus(d.ctl)).servers[0]!.pending > 0 ? true : null), 5000, "the slow call in flight");
    const again = await post(d, "fx", { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "echo", arguments: { text: "second" } } }, { "Mcp-Session-Id": sid });
    expect(again.status).toBe(409);
    expect(((await (await first).json()) as any).result.content[0].text).toBe("first");
  });

  test("past max_connections an initialize gets 503 with the connection_limit error; a DELETE frees the place", async () => {
    const d = await startHttpDaemon({ fx: { max_connections: 2 } });
    const sids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await post(d, "fx", INIT(i));
      expect(r.status).toBe(200);
      await r.text();
      sids.push(r.headers.get("mcp-session-id")!);
    }
    const third = await post(d, "fx", INIT(3));
    expect(third.status).toBe(503);
    const body = (await third.json()) as any;
    expect(body.id).toBeNull();
    expect(body.error.message).toContain("max_connections");
    expect(body.error.data.reason).toBe("connection_limit");
    expect((await fetch(d.url("fx"), { method: "DELETE", headers: { Authorization: `Bearer ${d.token}`, "Mcp-Session-Id": sids[0]! } })).status).toBe(200);
    await waitFor(async () => (await daemonStatus(d.ctl)).servers[0]!.clients.connected === 1 || undefined, 5000, "one session left");
    const again = await post(d, "fx", INIT(4));
    expect(again.status).toBe(200);
    await again.text();
  });
});
