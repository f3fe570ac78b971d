/**
 * The HTTP front under the accept gate: paused near the open-files limit, it takes no new connections while its
 * sessions and open streams go on; resumed, it listens on the same port again. A real Bun.serve and real
 * connections; the server behind it answers every request at once, and the gate is the test's hand.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Pausable } from "../../src/runtime/accept-gate.ts";
import { HttpFront, type HttpTarget } from "../../src/runtime/links/http-front.ts";
import type { ClientLink } from "../../src/runtime/links/link.ts";

const dirs: string[] = [];
const fronts: HttpFront[] = [];
afterEach(() => {
  for (const f of fronts.splice(0)) f.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Answers each request with an empty result; `links` are the sessions it has, to speak first. */
function echoTarget(): HttpTarget & { links: ClientLink[] } {
  const links: ClientLink[] = [];
  return {
    links,
    config: { max_request_bytes: 1 << 20, max_client_buffer_bytes: 1 << 20 },
    attach(link) {
      links.push(link);
      return {
        onLine(line) {
          const m = JSON.parse(line) as { id?: unknown };
          if (m.id !== undefined) link.send(`{"jsonrpc":"2.0","id":${JSON.stringify(m.id)},"result":{}}`);
        },
        onOversize() {},
        onEnd() {},
        onClose() {},
        onOverflow() {},
      };
    },
  };
}

const canConnect = (port: number) =>
  Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
    (s) => (s.end(), true),
    () => false,
  );

test("paused, it refuses new connections and keeps its session and GET stream; resumed, the same port serves again", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mux-http-gate-"));
  dirs.push(dir);
  const registered: Pausable[] = [];
  const target = echoTarget();
  const front = new HttpFront(
    { hostname: "127.0.0.1", port: 0, tokenFile: path.join(dir, "token"), allowedOrigins: [], sessionIdleMs: 60_000, allowRemote: false },
    { lookup: () => target, log: () => {}, gate: { register: (p) => void registered.push(p), unregister: () => {} } },
  );
  fronts.push(front);
  expect(registered).toEqual([front]);
  const port = Number(new URL(front.url).port);
  const token = (await Bun.file(path.join(dir, "token")).text()).trim();
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  const url = `${front.url}/mcp/fx`;

  const init = await fetch(url, { method: "POST", headers, body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' });
  expect(init.status).toBe(200);
  const sid = init.headers.get("mcp-session-id") as string;
  await init.text();
  const stream = await fetch(url, { headers: { ...headers, "Mcp-Session-Id": sid } });
  expect(stream.headers.get("content-type")).toBe("text/event-stream");
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();

  front.pause();
  expect(await canConnect(port)).toBe(false);
  // The open stream still carries what the server says to the session.
  target.links[0]!.send('{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"while paused"}}');
  let text = "";
  while (!text.includes("while paused")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  expect(text).toContain("while paused");

  expect(await front.resume()).toBe(true);
  expect(await canConnect(port)).toBe(true);
  const ping = await fetch(url, {
    method: "POST",
    headers: { ...headers, "Mcp-Session-Id": sid, Connection: "close" },
    body: '{"jsonrpc":"2.0","id":2,"method":"ping"}',
  });
  expect(await ping.json()).toEqual({ jsonrpc: "2.0", id: 2, result: {} });
  await reader.cancel();
});
