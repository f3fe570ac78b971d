/**
 * Issue 8, part 3 — load. 500 concurrent connections on one socket exchanging 10,000 requests (and as many
 * progress notifications routed back) without a lost, duplicated or misrouted message; then 10,000 short clients
 * connecting and disconnecting without growth of the daemon's memory or descriptors.
 *
 * Sizes scale with MUX_RELIABILITY_SCALE (default 1).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import {
  cleanupAll,
  controlSocketOf,
  daemonStatus,
  fdCount,
  fdTargets,
  RawClient,
  rssKb,
  scaled,
  startDaemon,
  waitFor,
  writeConfig,
  type Received,
} from "./helpers.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

describe("load", () => {
  test("500 concurrent connections, 10,000 requests and 10,000 progress notifications: none lost, duplicated or misrouted", async () => {
    const conns = scaled(500);
    const perConn = 20;
    const cfg = writeConfig(undefined, { l: { max_active_clients: conns + 10, max_connections: conns + 10, request_timeout_ms: 60_000 } });
    const d = await startDaemon(cfg.configPath);
    const clients: RawClient[] = [];
    // connect in waves of 100 so the listen backlog is not the thing under test
    for (let i = 0; i < conns; i += 100) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(100, conns - i) }, () => RawClient.connect(cfg.sockets.l!)))));
    }
    await Promise.all(clients.map((c, i) => c.initialize({ clientName: `c${i}`, timeoutMs: 60_000 })));
    const st0 = await daemonStatus(controlSocketOf(cfg.dir));
    expect(st0.servers[0].clients.connected).toBe(conns);
    // connected and initialized, nothing in flight: no client holds a slot
    expect(st0.servers[0].clients.active).toBe(0);

    // every client sends all its requests at once; ids and tokens are unique per client and name their owner
    const all = clients.map((c, ci) => {
      const lines: string[] = [];
      for (let k = 0; k < perConn; k++) {
        const id = k % 2 === 0 ? `c${ci}-r${k}` : ci * 1000 + k; // string and number ids mixed
        lines.push(
          JSON.stringify({
            jsonrpc: "2.0",
            id,
            method: "tools/call",
            params: { name: "progress", arguments: { steps: 1 }, _meta: { progressToken: `tok-${ci}-${k}` } },
          }),
        );
      }
      const start = c.history.length;
      c.sendRaw(`${lines.join("\n")}\n`);
      return { c, ci, start };
    });
    await Promise.all(
      all.map(({ c, start }) =>
        waitFor(() => c.history.length - start >= 2 * perConn, 120_000, "all answers and notifications", 50),
      ),
    );
    // nothing more arrives after a final barrier (the mux answers ping after anything queued before it)
    await Promise.all(all.map(({ c, ci }) => c.request("ping", undefined, `barrier-${ci}`, 30_000)));

    let responses = 0;
    let notifications = 0;
    for (const { c, ci, start } of all) {
      const got: Received[] = c.history.slice(start).filter((h) => h.msg.id !== `barrier-${ci}`);
      expect(got.length).toBe(2 * perConn);
      const seenIds = new Map<string, number>();
      const seenTokens = new Map<string, number>();
      const tokenIndex = new Map<string, number>();
      got.forEach((h, idx) => {
        expect(h.parseError).toBeUndefined();
        if (h.msg.method === "notifications/progress") {
          const tok = String(h.msg.params.progressToken);
          seenTokens.set(tok, (seenTokens.get(tok) ?? 0) + 1);
          tokenIndex.set(tok, idx);
          notifications++;
        } else {
          const key = JSON.stringify(h.msg.id);
          seenIds.set(key, (seenIds.get(key) ?? 0) + 1);
          expect(h.msg.error).toBeUndefined();
          expect(h.msg.result?.content?.[0]?.text).toBe("done");
          // the progress for this request arrived before its response
          const k = typeof h.msg.id === "number" ? h.msg.id - ci * 1000 : Number(String(h.msg.id).split("-r")[1]);
          expect(tokenIndex.get(`tok-${ci}-${k}`) ?? Infinity).toBeLessThan(idx);
          responses++;
        }
      });
      for (let k = 0; k < perConn; k++) {
        const id = k % 2 === 0 ? `c${ci}-r${k}` : ci * 1000 + k;
        expect(seenIds.get(JSON.stringify(id))).toBe(1);
        expect(seenTokens.get(`tok-${ci}-${k}`)).toBe(1);
      }
      expect(seenIds.size).toBe(perConn); // no id this client never sent
      expect(seenTokens.size).toBe(perConn);
    }
    expect(responses).toBe(conns * perConn);
    expect(notifications).toBe(conns * perConn);
    const st = await clients[0]!.stats(30_000);
    expect(st.initializeCount).toBe(1);
    expect(st.methodCounts["tools/call"]).toBe(conns * perConn + 1);
    expect(d.proc.exitCode).toBeNull();
  }, 120_000);

  test("10,000 short clients connect, call and leave: descriptors back to baseline, memory flat", async () => {
    const total = scaled(10_000);
    const warm = scaled(2_000);
    const parallel = 25;
    const cfg = writeConfig(undefined, { l: { max_active_clients: 100, request_timeout_ms: 30_000 } });
    const d = await startDaemon(cfg.configPath);
    const ctl = controlSocketOf(cfg.dir);
    const init = JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "churn", version: "0" } },
    });
    const one = async (n: number) => {
      const c = await RawClient.connect(cfg.sockets.l!);
      const w = c.response(1, 30_000);
      // everything in one write: handshake, initialized, a call
      c.sendRaw(
        `${init}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n` +
          `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: `n${n}` } } })}\n`,
      );
      const r = await w;
      if (r.msg.result?.content?.[0]?.text !== `n${n}`) throw new Error(`client ${n}: wrong answer ${r.raw}`);
      // half of them leave politely, half slam the door
      if (n % 2) await c.close();
      else c.destroy();
    };
    const run = async (from: number, count: number) => {
      let next = from;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < from + count) await one(next++);
        }),
      );
    };
    const settle = async (what: string) =>
      waitFor(async () => (await daemonStatus(ctl)).servers[0].clients.connected === 0, 20_000, what);

    await run(0, warm);
    await settle("warm-up clients gone");
    const fd0 = fdCount(d.proc.pid);
    const rss0 = rssKb(d.proc.pid);
    await run(warm, total);
    await settle("churn clients gone");
    // descriptors: exactly back (a few ms may pass before the last closes are processed)
    const fd1 = await waitFor(() => {
      const n = fdCount(d.proc.pid);
      return n <= fd0 ? n : undefined;
    }, 20_000, `fd count back to ${fd0}`).catch(() => fdCount(d.proc.pid));
    expect({ fd1, extra: fd1 > fd0 ? fdTargets(d.proc.pid) : [] }).toEqual({ fd1, extra: [] });
    // memory: a leak of even 2 kB per client would be ~20 MB; GC timing gets a generous allowance
    const rss1 = rssKb(d.proc.pid);
    expect({ rss0, rss1, grewKb: rss1 - rss0 < 24 * 1024 }).toEqual({ rss0, rss1, grewKb: true });
    const st = await daemonStatus(ctl);
    expect(st.servers[0].pending).toBe(0);
    expect(st.servers[0].served).toBe(warm + total);
  }, 120_000);
});
