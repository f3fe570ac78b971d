/**
 * Issue 8, part 6 — long run. Many clients keep a window of requests in flight against one server while the child
 * is restarted through the control socket; every request must get exactly one answer, from the right client's
 * point of view (its own id, its own text) — the only errors allowed are "backend exited" for requests that were
 * inside the child at a restart. The daemon's memory must stay flat and its descriptors return to baseline.
 *
 * Default: 20,000 requests, 1 restart. MUX_SOAK=1: 1,000,000 requests, a restart every 100,000.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { TextLines } from "../../src/runtime/text-lines.ts";
import {
  cleanupAll,
  control,
  controlSocketOf,
  daemonStatus,
  fdCount,
  fdTargets,
  registerSocket,
  rssKb,
  startDaemon,
  waitFor,
  writeConfig,
} from "./helpers.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const SOAK = process.env.MUX_SOAK === "1";

interface Tally {
  ok: number;
  exited: number;
  problems: string[];
}

/** A lean client for long runs: no history, one pending map, writes queued across partial writes. */
class LeanClient {
  private sock!: Socket<undefined>;
  private out: Uint8Array[] = [];
  private readonly lines = new TextLines((l) => this.onLine(l));
  readonly pending = new Map<string, { text: string; resolve: () => void }>();
  closed = false;

  constructor(
    readonly n: number,
    private readonly tally: Tally,
  ) {}

  async connect(path: string): Promise<void> {
    this.sock = await Bun.connect<undefined>({
      unix: path,
      socket: {
        binaryType: "uint8array",
        data: (_s, chunk: Uint8Array) => this.onData(chunk),
        drain: () => this.pump(),
        close: () => this.onClose(),
        error: () => this.onClose(),
      },
    });
    registerSocket(this.sock);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      this.tally.problems.push(`client ${this.n}: connection closed with ${id} pending`);
      p.resolve();
    }
    this.pending.clear();
  }

  private pump(): void {
    while (this.out.length > 0) {
      const head = this.out[0]!;
      const n = this.sock.write(head);
      if (n < 0) return this.onClose();
      if (n < head.length) {
        this.out[0] = head.subarray(n);
        return;
      }
      this.out.shift();
    }
  }

  send(line: string): void {
    this.out.push(Buffer.from(`${line}\n`));
    if (this.out.length === 1) this.pump();
  }

  private onData(chunk: Uint8Array): void {
    this.lines.push(chunk);
  }

  private onLine(line: string): void {
    let m: any;
    try {
      m = JSON.parse(line);
    } catch {
      this.tally.problems.push(`client ${this.n}: unparsable line ${line.slice(0, 100)}`);
      return;
    }
    if (m.method !== undefined) return; // list_changed after a restart: expected, not an answer
    const key = JSON.stringify(m.id);
    const p = this.pending.get(key);
    if (p === undefined) {
      this.tally.problems.push(`client ${this.n}: answer for an id it has no pending request for: ${line.slice(0, 160)}`);
      return;
    }
    this.pending.delete(key);
    if (m.result !== undefined) {
      const text = m.result?.content?.[0]?.text;
      if (text === p.text) this.tally.ok++;
      else if (m.result?.serverInfo === undefined) this.tally.problems.push(`client ${this.n}: ${key} got text ${JSON.stringify(text)} instead of ${JSON.stringify(p.text)}`);
    } else if (m.error?.data?.reason === "backend_exited") {
      this.tally.exited++;
    } else {
      this.tally.problems.push(`client ${this.n}: ${key} got error ${JSON.stringify(m.error)}`);
    }
    p.resolve();
  }

  request(id: string | number, method: string, params: unknown, expectText: string): Promise<void> {
    return new Promise((resolve) => {
      this.pending.set(JSON.stringify(id), { text: expectText, resolve });
      this.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  end(): void {
    this.sock.end();
  }
}

async function soak(opts: { total: number; clients: number; window: number; restartEvery: number; timeoutMs: number }) {
  const cfg = writeConfig(undefined, {
    s: { max_active_clients: opts.clients + 5, request_timeout_ms: 60_000, max_client_buffer_bytes: 64 << 20 },
  });
  const d = await startDaemon(cfg.configPath);
  const ctl = controlSocketOf(cfg.dir);
  const tally: Tally = { ok: 0, exited: 0, problems: [] };
  const fd0 = fdCount(d.proc.pid); // before any client: they must all be gone again at the end
  const clients = Array.from({ length: opts.clients }, (_, i) => new LeanClient(i, tally));
  await Promise.all(clients.map((c) => c.connect(cfg.sockets.s!)));
  await Promise.all(
    clients.map((c) =>
      c.request(`init-${c.n}`, "initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: `soak${c.n}`, version: "0" } }, ""),
    ),
  );
  for (const c of clients) c.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
  const perClient = Math.ceil(opts.total / opts.clients);
  let answered = 0;
  let nextRestart = opts.restartEvery;
  let restarts = 0;
  let restarting: Promise<void> = Promise.resolve();
  const pidsSeen = new Set<number>();
  const rss: number[] = [];
  const sampleEvery = Math.max(1, Math.floor(opts.total / 10));
  let nextSample = sampleEvery;

  const onAnswered = () => {
    answered++;
    if (answered >= nextSample) {
      nextSample += sampleEvery;
      rss.push(rssKb(d.proc.pid));
    }
    if (answered >= nextRestart) {
      nextRestart += opts.restartEvery;
      restarts++;
      // injected while every client has its window in flight
      restarting = restarting.then(async () => {
        const a = await control(ctl, { cmd: "restart", name: "s" }, 60_000);
        if (!a.ok) tally.problems.push(`restart failed: ${JSON.stringify(a)}`);
        else pidsSeen.add(a.server.pid);
      });
    }
  };

  await Promise.all(
    clients.map(async (c) => {
      let k = 0;
      const lane = async () => {
        while (k < perClient && !c.closed) {
          const i = k++;
          // ids alternate between numbers and strings; the text names the client and the request
          const id = i % 2 === 0 ? c.n * 10_000_000 + i : `c${c.n}:${i}`;
          const text = `soak ${c.n}/${i}`;
          await c.request(id, "tools/call", { name: "echo", arguments: { text } }, text);
          onAnswered();
        }
      };
      await Promise.all(Array.from({ length: opts.window }, lane));
    }),
  );
  await restarting;
  const st = await daemonStatus(ctl);
  for (const c of clients) c.end();
  await waitFor(async () => (await daemonStatus(ctl)).servers[0].clients.connected === 0, 20_000, "soak clients gone");
  const fd1 = await waitFor(() => {
    const n = fdCount(d.proc.pid);
    return n <= fd0 ? n : undefined;
  }, 20_000, "fds back").catch(() => fdCount(d.proc.pid));
  return { tally, answered, restarts, st, rss, fd0, fd1, fdList: fd1 > fd0 ? fdTargets(d.proc.pid) : [], pidsSeen, perClient };
}

function check(r: Awaited<ReturnType<typeof soak>>, opts: { total: number; clients: number; window: number }) {
  if (process.env.MUX_TEST_VERBOSE === "1") console.error("soak:", { ok: r.tally.ok, exited: r.tally.exited, restarts: r.restarts, rss: r.rss, fd0: r.fd0, fd1: r.fd1 });
  expect(r.tally.problems.slice(0, 10)).toEqual([]);
  // every request answered exactly once: results plus "backend exited" errors
  expect(r.tally.ok + r.tally.exited).toBe(r.perClient * opts.clients);
  expect(r.answered).toBe(r.perClient * opts.clients);
  // errors only for what was inside the child at a restart: at most the windows in flight, per restart
  expect(r.tally.exited).toBeLessThanOrEqual(r.restarts * opts.clients * opts.window);
  expect(r.st.servers[0].restarts).toBe(r.restarts);
  expect(r.st.servers[0].pending).toBe(0);
  expect(r.pidsSeen.size).toBe(r.restarts);
  expect({ fd1: r.fd1, extra: r.fdList }).toEqual({ fd1: r.fd1, extra: [] });
  // flat memory: after the first tenth (warm-up), the resident size never grows by more than the allowance
  const warm = r.rss[1] ?? r.rss[0]!;
  const peak = Math.max(...r.rss.slice(1));
  expect({ rss: r.rss, flat: peak - warm < 40 * 1024 }).toEqual({ rss: r.rss, flat: true });
}

describe("soak", () => {
  test.if(!SOAK)("20,000 requests from 20 clients with a restart injected through the control socket: nothing lost or misrouted", async () => {
    const opts = { total: 20_000, clients: 20, window: 16, restartEvery: 7_000, timeoutMs: 60_000 };
    const r = await soak(opts);
    expect(r.restarts).toBe(2); // at 7,000 and 14,000 answers, with every window full
    check(r, opts);
  }, 180_000);

  test.if(SOAK)("MUX_SOAK: 1,000,000 requests from 50 clients with a restart every 90,000: nothing lost or misrouted, memory flat", async () => {
    const opts = { total: 1_000_000, clients: 50, window: 16, restartEvery: 90_000, timeoutMs: 1_800_000 };
    const r = await soak(opts);
    expect(r.restarts).toBe(11);
    check(r, opts);
  }, 1_800_000);
});
