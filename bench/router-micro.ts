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
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const batch = 256;
for (let i = 0; i < pairs; i += batch) {
  for (let j = 0; j < batch && i + j < pairs; j++) {
    const c = ((i + j) % clients) + 1;
    router.clientLine(c, `{"jsonrpc":"2.0","id":${i + j},"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello world"}}}`);
  }
  for (const line of toBackend) {
    const idStart = line.indexOf('"id":') + 5;
    const id = line.slice(idStart, line.indexOf(",", idStart));
    router.backendLine(`{"result":${payload},"jsonrpc":"2.0","id":${id}}`);
  }
  toBackend = [];
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (delivered !== pairs) throw new Error(`delivered ${delivered} of ${pairs}`);
console.log(`${pairs} request/response pairs through the router in ${ms.toFixed(0)} ms`);
console.log(`${((pairs / ms) * 1000).toFixed(0)} pairs/s, ${((ms * 1000) / pairs).toFixed(2)} µs per pair, cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
