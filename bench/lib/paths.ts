/**
 * The measured paths. Each `setup` starts the server side and connects the clients (not measured), and returns a
 * `run(windowStart, windowEnd)` that drives the load, plus how the processes it started are attributed.
 */
import { handshake, runPipelined, socketLink, stdioLink, type Link } from "../pipelined.ts";
import type { BackendSpec } from "./backends.ts";
import type { Attribution } from "./proc.ts";
import { closeClients, connectClients, findTool, runClosedLoop, smokeCall, type SdkClient, type TransportSpec } from "./sdk-load.ts";
import { startDaemon, startGateway, type GatewayKind, type MuxBinaries, type PeerInfo, type PeerName } from "./servers.ts";
import type { LoadResult } from "./stats.ts";

export type PathId =
  | "stdio-direct"
  | "mux-proxy"
  | "mux-raw"
  | "mux-http"
  | "supergateway-sse"
  | "supergateway-http"
  | "mcp-proxy"
  | "mcp-hub"
  | "mux-raw-pipelined"
  | "stdio-pipelined";

export interface PathDef {
  id: PathId;
  label: string;
  describe: string;
  peer?: PeerName;
  /** requests kept in flight per client (1 = closed loop) */
  depth: number;
}

export const PIPELINE_DEPTH = 32;

export const PATHS: PathDef[] = [
  { id: "stdio-direct", label: "direct stdio", describe: "SDK StdioClientTransport, one backend process per client (what hosts do today)", depth: 1 },
  { id: "mux-proxy", label: "rmcp-mux via proxy", describe: "SDK StdioClientTransport → rmcp-mux-proxy → daemon socket → one shared backend", depth: 1 },
  { id: "mux-raw", label: "rmcp-mux raw socket", describe: "SDK client on the daemon's Unix socket (newline-delimited JSON-RPC transport)", depth: 1 },
  { id: "mux-http", label: "rmcp-mux HTTP", describe: "SDK StreamableHTTPClientTransport → the daemon's [http] front (one session per client) → one shared backend", depth: 1 },
  { id: "supergateway-sse", label: "supergateway SSE", peer: "supergateway", describe: "supergateway --outputTransport sse (one shared child), SDK SSEClientTransport", depth: 1 },
  { id: "supergateway-http", label: "supergateway HTTP", peer: "supergateway", describe: "supergateway --outputTransport streamableHttp --stateful (a child per session), SDK StreamableHTTPClientTransport", depth: 1 },
  { id: "mcp-proxy", label: "mcp-proxy /mcp", peer: "mcp-proxy", describe: "mcp-proxy (punkpeye) streamable HTTP /mcp, one shared child, SDK StreamableHTTPClientTransport", depth: 1 },
  { id: "mcp-hub", label: "mcp-hub /mcp", peer: "mcp-hub", describe: "mcp-hub unified /mcp endpoint (HTTP+SSE: GET /mcp, POST /messages; tools namespaced server__tool), SDK SSEClientTransport", depth: 1 },
  { id: "mux-raw-pipelined", label: "rmcp-mux raw ×32", describe: `raw client on the daemon socket, ${PIPELINE_DEPTH} requests in flight per client`, depth: PIPELINE_DEPTH },
  { id: "stdio-pipelined", label: "one backend stdio ×32", describe: `the same pipelined load written straight into ONE backend's stdin (${PIPELINE_DEPTH} in flight per client)`, depth: PIPELINE_DEPTH },
];

export const PATH_IDS = PATHS.map((p) => p.id);

export interface Setup {
  attribution: Attribution;
  run(windowStart: number, windowEnd: number): Promise<LoadResult>;
  teardown(): Promise<void>;
  /** why the server side is gone, if it died during the run */
  died(): string | null;
}

type Proc = { readonly exitCode: number | null; readonly signalCode: NodeJS.Signals | number | null };
const deathOf = (what: string, p: Proc, tail: string[]) => () =>
  p.exitCode !== null || p.signalCode !== null
    ? `${what} exited (${p.exitCode ?? p.signalCode}) during the run: ${tail.slice(-4).join(" | ")}`
    : null;

export interface SetupContext {
  bins: MuxBinaries;
  peers: Map<PeerName, PeerInfo>;
  timeoutMs: number;
}

const GATEWAY: Partial<Record<PathId, GatewayKind>> = {
  "supergateway-sse": "supergateway-sse",
  "supergateway-http": "supergateway-http",
  "mcp-proxy": "mcp-proxy",
  "mcp-hub": "mcp-hub",
};

/** Connect SDK clients, find the tool, prove one call works; on failure everything started is torn down. */
async function sdkSetup(
  n: number,
  backend: BackendSpec,
  spec: (i: number) => TransportSpec,
  attribution: Attribution,
  stopServer: () => Promise<void>,
  timeoutMs: number,
  parallel: number,
  died: () => string | null = () => null,
): Promise<Setup> {
  let clients: SdkClient[] = [];
  try {
    clients = await connectClients(n, spec, { parallel, timeoutMs });
    const tool = await findTool(clients[0]!, backend);
    // one client only: a gateway that sends every answer to every session misroutes even sequential calls, and what
    // it does under load is what the measurement is for
    await smokeCall(clients[0]!, tool, backend);
    return {
      attribution,
      run: (windowStart, windowEnd) => runClosedLoop({ clients, tool, backend, windowStart, windowEnd }),
      died,
      teardown: async () => {
        await closeClients(clients);
        await stopServer();
      },
    };
  } catch (e) {
    await closeClients(clients);
    await stopServer();
    throw e;
  }
}

async function pipelinedSetup(
  links: Link[],
  lanesPerLink: number,
  backend: BackendSpec,
  attribution: Attribution,
  stopServer: () => Promise<void>,
  died: () => string | null = () => null,
): Promise<Setup> {
  return {
    attribution,
    died,
    run: (windowStart, windowEnd) =>
      runPipelined({ links, lanesPerLink, depth: PIPELINE_DEPTH, backend, windowStart, windowEnd }),
    teardown: async () => {
      await Promise.all(links.map((l) => l.close()));
      await stopServer();
    },
  };
}

export async function setupPath(id: PathId, backend: BackendSpec, n: number, ctx: SetupContext): Promise<Setup> {
  const env = process.env as Record<string, string>;
  switch (id) {
    case "stdio-direct":
      return sdkSetup(
        n,
        backend,
        () => ({ kind: "stdio", command: backend.cmd, args: backend.args, env }),
        { otherRole: "backend" },
        async () => {},
        ctx.timeoutMs,
        4,
      );
    case "mux-proxy":
    case "mux-raw": {
      const d = await startDaemon(ctx.bins, [{ name: backend.name, backend }]);
      const sock = d.sockets[backend.name]!;
      const spec = (): TransportSpec =>
        id === "mux-proxy"
          ? { kind: "stdio", command: ctx.bins.proxy[0]!, args: [...ctx.bins.proxy.slice(1), "--socket", sock], env }
          : { kind: "unix", path: sock };
      return sdkSetup(n, backend, spec, { muxPid: d.pid, otherRole: "proxy" }, d.stop, ctx.timeoutMs, 8, deathOf("rmcp-mux", d.proc, d.stderrTail));
    }
    case "mux-http": {
      const d = await startDaemon(ctx.bins, [{ name: backend.name, backend }], { http: true });
      const h = d.http!;
      const spec = (): TransportSpec => ({ kind: "http", url: `${h.base}/mcp/${backend.name}`, headers: { Authorization: `Bearer ${h.token}` } });
      return sdkSetup(n, backend, spec, { muxPid: d.pid, otherRole: "proxy" }, d.stop, ctx.timeoutMs, 8, deathOf("rmcp-mux", d.proc, d.stderrTail));
    }
    case "mux-raw-pipelined": {
      const d = await startDaemon(ctx.bins, [{ name: backend.name, backend }]);
      const links: Link[] = [];
      try {
        for (let i = 0; i < n; i++) {
          const l = await socketLink(d.sockets[backend.name]!);
          links.push(l);
          await handshake(l, ctx.timeoutMs);
        }
      } catch (e) {
        await Promise.all(links.map((l) => l.close()));
        await d.stop();
        throw e;
      }
      return pipelinedSetup(links, 1, backend, { muxPid: d.pid, otherRole: "proxy" }, d.stop, deathOf("rmcp-mux", d.proc, d.stderrTail));
    }
    case "stdio-pipelined": {
      const l = stdioLink([backend.cmd, ...backend.args]);
      try {
        await handshake(l, ctx.timeoutMs);
      } catch (e) {
        await l.close();
        throw e;
      }
      return pipelinedSetup([l], n, backend, { otherRole: "backend" }, async () => {});
    }
    default: {
      const kind = GATEWAY[id];
      const def = PATHS.find((p) => p.id === id)!;
      const peer = def.peer ? ctx.peers.get(def.peer) : undefined;
      if (!kind || !peer) throw new Error(`unknown path ${id}`);
      if (!peer.bin) throw new Error(`${peer.name} unavailable: ${peer.skip}`);
      const gw = await startGateway(kind, peer, backend, ctx.timeoutMs);
      // mcp-hub 4.x serves the HTTP+SSE transport on /mcp (POST /messages), not streamable HTTP
      const transport = kind === "supergateway-sse" || kind === "mcp-hub" ? "sse" : "http";
      return sdkSetup(
        n,
        backend,
        () => ({ kind: transport, url: gw.url }),
        { muxPid: gw.pid, otherRole: "proxy" },
        gw.stop,
        ctx.timeoutMs,
        kind === "supergateway-http" ? 4 : 8,
        deathOf(kind, gw.proc, gw.tail),
      );
    }
  }
}
