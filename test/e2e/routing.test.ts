/**
 * Id routing through the real daemon: many clients share one child, ids collide across clients (and across
 * types within one client), every response must come back to its own client with its original id, exactly.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { cleanup, type Id, RawClient, type Received, resultText, startDaemon, writeConfig } from "./harness.ts";

afterEach(cleanup);
afterAll(cleanup);

const CLIENTS = 20;
const PER_CLIENT = 200;

/** Client ci uses ids 1..200; odd/even alternate between number and string, shifted per client. */
function idFor(ci: number, i: number): Id {
  return (i + ci) % 2 === 0 ? i : String(i);
}
function textFor(ci: number, id: Id): string {
  return `client-${ci}/${typeof id}/${id}`;
}

describe("routing", () => {
  test(
    `${CLIENTS} clients × ${PER_CLIENT} pipelined requests with colliding ids: zero misrouted`,
    async () => {
      const cfg = writeConfig(undefined, { r: { max_active_clients: CLIENTS + 5 } });
      await startDaemon(cfg.configPath);
      const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(cfg.sockets.r!)));
      await Promise.all(clients.map((c, ci) => c.initialize({ id: `init-${ci}`, clientName: `c${ci}` })));

      const problems: string[] = [];
      let ok = 0;
      await Promise.all(
        clients.map(async (c, ci) => {
          const ids: Id[] = [];
          const lines: string[] = [];
          for (let i = 1; i <= PER_CLIENT; i++) {
            const id = idFor(ci, i);
            ids.push(id);
            // every 7th request is `slow` with a small, varying delay so responses come back out of order
            const params =
              i % 7 === 0
                ? { name: "slow", arguments: { ms: (i * 13 + ci * 5) % 40, text: textFor(ci, id) } }
                : { name: "echo", arguments: { text: textFor(ci, id) } };
            lines.push(JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params }));
          }
          const waits = ids.map((id) => c.response(id, 20_000));
          c.sendRaw(lines.join("\n") + "\n"); // one burst: fully pipelined
          const settled = await Promise.allSettled(waits);
          settled.forEach((s, k) => {
            const id = ids[k]!;
            if (s.status === "rejected") {
              problems.push(`client ${ci} id ${JSON.stringify(id)}: ${String(s.reason).slice(0, 300)}`);
              return;
            }
            const r: Received = s.value;
            const rawId = JSON.stringify(JSON.parse(r.raw).id);
            if (rawId !== JSON.stringify(id)) problems.push(`client ${ci}: id ${rawId} != ${JSON.stringify(id)}`);
            else if (r.msg.error) problems.push(`client ${ci} id ${rawId}: error ${JSON.stringify(r.msg.error)}`);
            else if (r.msg.result?.content?.[0]?.text !== textFor(ci, id))
              problems.push(`client ${ci} id ${rawId}: got text ${JSON.stringify(r.msg.result?.content?.[0]?.text)}`);
            else ok++;
          });
        }),
      );
      // anything still queued that is a response was not asked for on that connection (misrouted / duplicated)
      clients.forEach((c, ci) => {
        for (const r of c.queue) {
          if (r.parseError) problems.push(`client ${ci}: unparseable line ${r.raw.slice(0, 200)}`);
          else if (r.msg.method === undefined) problems.push(`client ${ci}: unexpected response ${r.raw.slice(0, 200)}`);
        }
      });
      expect(problems.slice(0, 20)).toEqual([]);
      expect(ok).toBe(CLIENTS * PER_CLIENT);
    },
    60_000,
  );

  test("1 and \"1\" in flight at once on the same connection stay distinct", async () => {
    const cfg = writeConfig(undefined, { r: {} });
    await startDaemon(cfg.configPath);
    const a = await RawClient.connect(cfg.sockets.r!);
    const b = await RawClient.connect(cfg.sockets.r!);
    await a.initialize();
    await b.initialize();
    // slower one first so the faster one overtakes it in the child
    const aNum = a.callTool("slow", { ms: 120, text: "a-number" }, 1);
    const aStr = a.callTool("slow", { ms: 10, text: "a-string" }, "1");
    const bNum = b.callTool("echo", { text: "b-number" }, 1);
    const bStr = b.callTool("slow", { ms: 60, text: "b-string" }, "1");
    expect(resultText(await aStr)).toBe("a-string");
    expect(resultText(await aNum)).toBe("a-number");
    expect(resultText(await bNum)).toBe("b-number");
    expect(resultText(await bStr)).toBe("b-string");
    const raws = a.history.map((r) => r.raw).filter((l) => l.includes("a-"));
    expect(raws.some((l) => /"id":1[,}]/.test(l) && l.includes("a-number"))).toBe(true);
    expect(raws.some((l) => l.includes('"id":"1"') && l.includes("a-string"))).toBe(true);
  });

  test("unusual ids are restored exactly: 0, negative, quotes and backslashes, unicode, max safe integer", async () => {
    const cfg = writeConfig(undefined, { r: {} });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.r!);
    await c.initialize();
    const ids: Id[] = [0, -5, 'a"b\\c', "", "ü✓ id", Number.MAX_SAFE_INTEGER, "0", " 1"];
    const res = await Promise.all(ids.map((id, k) => c.callTool("echo", { text: `t${k}` }, id)));
    res.forEach((r, k) => {
      expect(r.id).toBe(ids[k]!);
      expect(resultText(r)).toBe(`t${k}`);
    });
  });

  test("an integer id beyond 2^53 comes back with the same digits", async () => {
    const cfg = writeConfig(undefined, { r: {} });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.r!);
    await c.initialize();
    const big = "12345678901234567890123";
    c.sendRaw(`{"jsonrpc":"2.0","id":${big},"method":"tools/call","params":{"name":"echo","arguments":{"text":"big"}}}\n`);
    const r = await c.next((m) => m.msg?.method === undefined && m.raw.includes('"big"'), 5000, "response to the big id");
    expect(r.raw).toContain(`"id":${big}`);
  });

  test("progress notifications go only to the client that asked, with its own token, before its response", async () => {
    const cfg = writeConfig(undefined, { r: {} });
    await startDaemon(cfg.configPath);
    const a = await RawClient.connect(cfg.sockets.r!);
    const b = await RawClient.connect(cfg.sockets.r!);
    await a.initialize();
    await b.initialize();
    // both clients use the same token (clients often use their request id as token)
    const pa = a.request("tools/call", { name: "progress", arguments: { steps: 3 }, _meta: { progressToken: 1 } }, 1);
    const pb = b.request("tools/call", { name: "progress", arguments: { steps: 2 }, _meta: { progressToken: 1 } }, 1);
    expect(resultText(await pa)).toBe("done");
    expect(resultText(await pb)).toBe("done");
    const progressOf = (c: RawClient) =>
      c.history.filter((r) => r.msg?.method === "notifications/progress").map((r) => r.msg.params);
    expect(progressOf(a)).toEqual([
      { progressToken: 1, progress: 1, total: 3 },
      { progressToken: 1, progress: 2, total: 3 },
      { progressToken: 1, progress: 3, total: 3 },
    ]);
    expect(progressOf(b)).toEqual([
      { progressToken: 1, progress: 1, total: 2 },
      { progressToken: 1, progress: 2, total: 2 },
    ]);
    // ordering: every progress notification precedes the response it belongs to
    for (const c of [a, b]) {
      const idxResponse = c.history.findIndex((r) => r.msg?.id === 1 && r.msg.method === undefined);
      const lastProgress = c.history.findLastIndex((r) => r.msg?.method === "notifications/progress");
      expect(lastProgress).toBeLessThan(idxResponse);
    }
  });
});
