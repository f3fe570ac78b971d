/**
 * What one extra process hop costs on this machine, next to what rmcp-mux costs: sequential round trips
 * (one request in flight) of the same echo request through
 *
 *   1. the fixture's stdio, directly                         (what an MCP host does today)
 *   2. a minimal relay: Bun.listen + Bun.spawn, bytes copied  (the floor of any socket multiplexer in Bun)
 *   3. the rmcp-mux daemon on its raw socket                  (routing included)
 *
 * If 3 is close to 2, routing costs nothing measurable and the remaining overhead is the hop itself.
 *
 *   bun bench/hop-floor.ts [--requests 3000] [--rounds 3]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg("requests", 3000);
const ROUNDS = arg("rounds", 3);
const REPO = join(import.meta.dir, "..");
const FIXTURE = join(REPO, "test/fixtures/fixture-server.ts");
const INIT = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}\n';
const req = (i: number) => `{"jsonrpc":"2.0","id":${i},"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}\n`;

type Link = { send(s: string): void; nextLine(): Promise<string>; close(): void };

function lineReader(): { push(s: string): void; nextLine(): Promise<string> } {
  let buf = "";
  let waiter: (() => void) | null = null;
  return {
    push(s) {
      buf += s;
      waiter?.();
    },
    async nextLine() {
      for (;;) {
        const i = buf.indexOf("\n");
        if (i >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 1);
          return l;
        }
        await new Promise<void>((r) => (waiter = r));
        waiter = null;
      }
    },
  };
}

async function stdioLink(): Promise<Link> {
  const p = Bun.spawn([process.execPath, FIXTURE], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  const lr = lineReader();
  void (async () => {
    for await (const c of p.stdout) lr.push(Buffer.from(c).toString());
  })();
  return { send: (s) => void p.stdin.write(s), nextLine: lr.nextLine, close: () => p.kill() };
}

async function socketLink(path: string): Promise<Link> {
  const lr = lineReader();
  const s = await Bun.connect({ unix: path, socket: { data: (_s, d) => lr.push(d.toString()) } });
  return { send: (x) => void s.write(x), nextLine: lr.nextLine, close: () => s.end() };
}

async function measure(link: Link): Promise<number[]> {
  link.send(INIT);
  await link.nextLine();
  const t: number[] = [];
  for (let i = 1; i <= N; i++) {
    const t0 = performance.now();
    link.send(req(i));
    const line = await link.nextLine();
    t.push(performance.now() - t0);
    if (!line.includes(`"id":${i}`)) throw new Error(`unexpected answer to ${i}: ${line}`);
  }
  link.close();
  return t.sort((a, b) => a - b);
}

const dir = mkdtempSync("/tmp/mx-hop-");
const relayScript = join(dir, "relay.ts");
writeFileSync(
  relayScript,
  `const p = Bun.spawn([process.execPath, ${JSON.stringify(FIXTURE)}], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
let client: any = null;
void (async () => { for await (const c of p.stdout) client?.write(c); })();
Bun.listen({ unix: ${JSON.stringify(join(dir, "relay.sock"))}, socket: { open(s) { client = s; }, data(_s, d) { p.stdin.write(d); } } });
console.log("ready");`,
);
writeFileSync(
  join(dir, "mux.toml"),
  `[servers.fx]\nsocket = ${JSON.stringify(join(dir, "fx.sock"))}\ncmd = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(FIXTURE)}]\n`,
);

async function started(cmd: string[], socket: string): Promise<Bun.Subprocess> {
  const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      (await Bun.connect({ unix: socket, socket: { data() {} } })).end();
      return p;
    } catch {
      if (performance.now() > deadline) throw new Error(`${cmd.join(" ")} did not listen on ${socket}`);
      await Bun.sleep(20); // start-up polling, not synchronisation of the measurement
    }
  }
}

const fmt = (t: number[]) => `p50 ${(t[t.length >> 1]! * 1000).toFixed(1)} µs  p99 ${(t[Math.floor(t.length * 0.99)]! * 1000).toFixed(1)} µs`;
const relay = await started([process.execPath, relayScript], join(dir, "relay.sock"));
const daemon = await started([process.execPath, join(REPO, "src/cli/main.ts"), "--config", join(dir, "mux.toml")], join(dir, "fx.sock"));
try {
  console.log(`hop floor: ${N} sequential echo round trips per path, ${ROUNDS} rounds (bun ${Bun.version})`);
  for (let r = 1; r <= ROUNDS; r++) {
    const direct = await measure(await stdioLink());
    const minimal = await measure(await socketLink(join(dir, "relay.sock")));
    const mux = await measure(await socketLink(join(dir, "fx.sock")));
    console.log(`round ${r}`);
    console.log(`  direct stdio           ${fmt(direct)}`);
    console.log(`  minimal relay (no mux) ${fmt(minimal)}`);
    console.log(`  rmcp-mux raw socket    ${fmt(mux)}   (${(mux[mux.length >> 1]! / minimal[minimal.length >> 1]!).toFixed(2)}x the minimal relay)`);
  }
} finally {
  relay.kill();
  daemon.kill("SIGTERM");
  await daemon.exited;
  rmSync(dir, { recursive: true, force: true });
}
