/**
 * The router alone, no I/O: how many request/response pairs per second the pure routing core
 * handles, and what one pair costs. Run: bun bench/router-micro.ts [pairs]
 */
import { Router } from "../src/router/router.ts";
import type { RouterHost } from "../src/router/types.ts";

const pairs = Number(process.argv[2] ?? 500_000);
const clients = 64;
let toBackend: string[] = [];
let delivered = 0;
const host: RouterHost = {
  toClient: () => void delivered++,
  toBackend: (l) => void toBackend.push(l),
  closeClient() {},
  wantBackend() {},
  restartBackend() {},
  log() {},
};
const router = new Router(host, { maxActiveClients: clients, requestTimeoutMs: 60_000 });
router.backendStarted();
for (let c = 1; c <= clients; c++) router.clientConnected(c);
router.clientLine(1, '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}');
const init = JSON.parse(toBackend[0] as string);
router.backendLine(`{"jsonrpc":"2.0","id":${init.id},"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"b","version":"1"}}}`);
for (let c = 2; c <= clients; c++) router.clientLine(c, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}`);
toBackend = [];
delivered = 0;

const payload = '{"content":[{"type":"text","text":"Echo: hello world, this is a typical small tool result"}]}';
// Lines reach the router as flat strings decoded from socket bytes. Template literals would be ropes, and
// flattening them inside the router would be charged to it, so each batch's lines are made flat first, off the clock.
const flat = (s: string) => Buffer.from(s).toString();
const batch = 256;
let ms = 0;
let cpuUs = 0;
for (let i = 0; i < pairs; i += batch) {
  const n = Math.min(batch, pairs - i);
  const reqs: string[] = [];
  for (let j = 0; j < n; j++) {
    reqs.push(flat(`{"jsonrpc":"2.0","id":${i + j},"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello world"}}}`));
  }
  let t = performance.now();
  let c0 = process.cpuUsage();
  for (let j = 0; j < n; j++) router.clientLine(((i + j) % clients) + 1, reqs[j] as string);
  let c1 = process.cpuUsage(c0);
  ms += performance.now() - t;
  cpuUs += c1.user + c1.system;
  const answers = toBackend.map((line) => {
    const idStart = line.indexOf('"id":') + 5;
    return flat(`{"result":${payload},"jsonrpc":"2.0","id":${line.slice(idStart, line.indexOf(",", idStart))}}`);
  });
  toBackend = [];
  t = performance.now();
  c0 = process.cpuUsage();
  for (const a of answers) router.backendLine(a);
  c1 = process.cpuUsage(c0);
  ms += performance.now() - t;
  cpuUs += c1.user + c1.system;
}
if (delivered !== pairs) throw new Error(`delivered ${delivered} of ${pairs}`);
console.log(`${pairs} request/response pairs through the router in ${ms.toFixed(0)} ms`);
console.log(`${((pairs / ms) * 1000).toFixed(0)} pairs/s, ${((ms * 1000) / pairs).toFixed(2)} µs per pair, cpu ${(cpuUs / 1000).toFixed(0)} ms`);
console.log(`(time spent inside the router only; building the lines is not counted)`);
