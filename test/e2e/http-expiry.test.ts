/**
 * Abandoned HTTP sessions never pile up: 200 sessions that initialize and go quiet are closed after
 * session_idle_ms, the router forgets them (status back to the live ones), a request left running by an
 * abandoned session is cancelled at the backend, and a session holding its GET stream open is kept.
 */
import { afterEach, expect, test } from "bun:test";
import { cleanup, daemonStatus, waitFor } from "./harness.ts";
import { INIT, post, startHttpDaemon } from "./http-harness.ts";

afterEach(cleanup);

const IDLE_MS = 400;

test("200 abandoned sessions are expired; a pending request of one is cancelled; a listening session stays", async () => {
  const d = await startHttpDaemon({ fx: { max_active_clients: 500 } }, { session_idle_ms: IDLE_MS });
  const open = async (): Promise<string> => {
    const r = await post(d, "fx", INIT());
    expect(r.status).toBe(200);
    await r.text();
    return r.headers.get("mcp-session-id")!;
  };
  const auth = { Authorization: `Bearer ${d.token}` };

  // A session that listens on its GET stream: open streams keep it.
  const keeper = await open();
  const stream = await fetch(d.url("fx"), { headers: { ...auth, Accept: "text/event-stream", "Mcp-Session-Id": keeper } });
  expect(stream.status).toBe(200);

  // A session whose client gave up on a call that never answers.
  const quitter = await open();
  const abort = new AbortController();
  for (const id of [5, 6]) {
    void fetch(d.url("fx"), {
      method: "POST",
      signal: abort.signal,
      headers: { ...auth, "Content-Type": "application/json", Accept: "application/json, text/event-stream", "Mcp-Session-Id": quitter },
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "hang", arguments: {} } }),
    }).catch(() => null);
  }

  for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 20 }, open));

  const expired = () =>
    d.daemon.stderrLines.reduce((n, l) => n + Number(/http: closed (\d+) session/.exec(l)?.[1] ?? 0), 0);
  // The quitter is not idle while its POSTs are open; abandon them now.
  abort.abort();
  await waitFor(() => expired() >= 201, 20_000, "201 sessions expired");
  await waitFor(async () => (await daemonStatus(d.ctl)).servers[0]!.clients.connected === 1 || undefined, 10_000, "only the listener left");
  expect(expired()).toBe(201);
  // the listener still works
  const ping = await post(d, "fx", { jsonrpc: "2.0", id: 7, method: "ping" }, { "Mcp-Session-Id": keeper });
  expect(ping.status).toBe(200);
  expect(((await ping.json()) as any).result).toEqual({});
  // the abandoned calls were cancelled at the backend (the fixture records each cancellation)
  const statsSid = keeper;
  const r = await post(d, "fx", { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "stats", arguments: {} } }, { "Mcp-Session-Id": statsSid });
  const stats = JSON.parse(((await r.json()) as any).result.content[0].text);
  expect(stats.hung).toHaveLength(2);
  expect(stats.cancelled).toHaveLength(2);
  await stream.body?.cancel();
}, 60_000);
