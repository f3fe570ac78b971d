/** HttpSession and Exchange without a socket: where each line the router sends for a session goes. */
import { describe, expect, test } from "bun:test";
import { Exchange } from "../../src/runtime/links/http-exchange.ts";
import { HttpSession } from "../../src/runtime/links/http-session.ts";
import type { LinkEvents } from "../../src/runtime/links/link.ts";

const both = { json: true, sse: true };

function session(cap = 1 << 20) {
  const got = { lines: [] as string[], overflow: [] as number[], closed: 0 };
  const events: LinkEvents = {
    onLine: (l) => void got.lines.push(l),
    onOversize: () => {},
    onEnd: () => {},
    onClose: () => void got.closed++,
    onOverflow: (n) => void got.overflow.push(n),
  };
  const gone: HttpSession[] = [];
  const s = new HttpSession("sid", "fx", { maxQueuedBytes: cap }, () => 0, (x) => void gone.push(x));
  s.events = events;
  return { s, got, gone };
}

const post = (s: HttpSession, ids: string[], tokens: string[] = [], accepts = both) => {
  const ex = new Exchange(new Request("http://x/"), ids, accepts, { "Mcp-Session-Id": "sid" }, 1 << 20, () => {});
  s.begin(ex, tokens);
  return ex;
};

async function sseText(r: Response, events: number): Promise<string[]> {
  const reader = r.body!.getReader();
  let text = "";
  const dec = new TextDecoder();
  while ((text.match(/event: message[^\n]*\ndata: [^\n]*\n\n/g) ?? []).length < events) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  return text.split("\n\n").filter((e) => e.startsWith("event: message")).map((e) => e.slice(e.indexOf("data: ") + 6));
}

describe("HttpSession", () => {
  test("an answer alone goes back as JSON on the POST that asked, by raw id", async () => {
    const { s } = session();
    const a = post(s, ["1"]);
    const b = post(s, ['"b"']);
    s.send('{"jsonrpc":"2.0","id":"b","result":{"x":2}}');
    s.send('{"jsonrpc":"2.0","result":{"x":1},"id":1}');
    const [ra, rb] = await Promise.all([a.response, b.response]);
    expect(ra.headers.get("content-type")).toBe("application/json");
    expect(ra.headers.get("mcp-session-id")).toBe("sid");
    expect(await ra.json()).toEqual({ jsonrpc: "2.0", result: { x: 1 }, id: 1 });
    expect(((await rb.json()) as any).result.x).toBe(2);
    expect(s.idle).toBe(true);
  });

  test("progress rides the stream of the request it is about; the answer closes that stream", async () => {
    const { s } = session();
    const a = post(s, ["1"], ['"tok-a"']);
    const b = post(s, ["2"]);
    s.send('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok-a","progress":1}}');
    s.send('{"jsonrpc":"2.0","id":1,"result":{}}');
    const r = await a.response;
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const events = await sseText(r, 2);
    expect(events).toEqual(['{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok-a","progress":1}}', '{"jsonrpc":"2.0","id":1,"result":{}}']);
    expect(b.done).toBe(false);
    s.send('{"jsonrpc":"2.0","id":2,"result":{}}');
    expect(((await (await b.response).json()) as any).id).toBe(2);
  });

  test("a server request goes on the newest POST still open; without one on the GET stream; without that into the backlog", async () => {
    const { s, got } = session(200);
    const sampling = '{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}}';
    // no POST, no GET: queued, then drained into the GET stream when it opens
    s.send(sampling);
    const get = s.openStream({});
    expect(await sseText(get, 1)).toEqual([sampling]);
    // a POST open: it takes it
    const a = post(s, ["5"]);
    s.send(sampling.replace('"id":0', '"id":1'));
    s.send('{"jsonrpc":"2.0","id":5,"result":{}}');
    expect((await sseText(await a.response, 2)).length).toBe(2);
    expect(got.overflow).toEqual([]);
  });

  test("a backlog past max_client_buffer_bytes is an overflow; close answers waiting POSTs 404 and tells the router once", async () => {
    const { s, got, gone } = session(100);
    for (let i = 0; i < 3; i++) s.send(`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${"x".repeat(40)}"}}`);
    expect(got.overflow.length).toBeGreaterThan(0);
    const a = post(s, ["9"]);
    s.close();
    s.close();
    expect((await a.response).status).toBe(404);
    await Promise.resolve();
    expect(got.closed).toBe(1);
    expect(gone).toEqual([s]);
  });

  test("a POST whose client went away stops holding the session (the idle sweep reads its signal)", async () => {
    const { s } = session();
    const ac = new AbortController();
    const ex = new Exchange(new Request("http://x/", { signal: ac.signal }), ["1"], both, {}, 1 << 20, () => {});
    s.begin(ex, []);
    expect(s.idle).toBe(false);
    s.pruneAborted();
    expect(s.idle).toBe(false);
    ac.abort();
    s.pruneAborted();
    await ex.finished;
    await Promise.resolve();
    expect(s.idle).toBe(true);
  });
});
