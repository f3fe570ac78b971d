/** A recording RouterHost and a hand-driven clock: the router's whole world, in memory. */
import { Router } from "../../src/router/router.ts";
import type { Clock, RouterHost, RouterOptions } from "../../src/router/types.ts";

export class ManualClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

export interface Sent {
  toClient: Array<[number, unknown]>;
  toBackend: unknown[];
  closed: Array<[number, string]>;
  logs: string[];
}

export function setup(opts: Partial<RouterOptions> = {}) {
  const clock = new ManualClock();
  const sent: Sent = { toClient: [], toBackend: [], closed: [], logs: [] };
  let wants = 0;
  let restarts: string[] = [];
  const host: RouterHost = {
    toClient: (cid, line) => sent.toClient.push([cid, JSON.parse(line)]),
    toBackend: (line) => sent.toBackend.push(JSON.parse(line)),
    closeClient: (cid, reason) => sent.closed.push([cid, reason]),
    wantBackend: () => void wants++,
    restartBackend: (reason) => void restarts.push(reason),
    log: (level, m) => void sent.logs.push(`${level} ${m}`),
  };
  const router = new Router(host, { maxActiveClients: 5, requestTimeoutMs: 1000, clock, ...opts });
  const api = {
    router,
    clock,
    sent,
    get wants() {
      return wants;
    },
    get restarts() {
      return restarts;
    },
    /** Messages a client got, and forget them. */
    takeClient(cid: number): any[] {
      const mine = sent.toClient.filter(([c]) => c === cid).map(([, m]) => m);
      sent.toClient = sent.toClient.filter(([c]) => c !== cid);
      return mine;
    },
    takeBackend(): any[] {
      const all = sent.toBackend;
      sent.toBackend = [];
      return all;
    },
    send(cid: number, msg: unknown): void {
      router.clientLine(cid, typeof msg === "string" ? msg : JSON.stringify(msg));
    },
    backend(msg: unknown): void {
      router.backendLine(typeof msg === "string" ? msg : JSON.stringify(msg));
    },
    /**
     * Start the backend and complete the handshake for client `cid` (connecting it first), the client asking
     * `version`. The backend accepts the version the mux greets it with, unless `backendVersion` says otherwise.
     */
    ready(cid = 1, caps: Record<string, unknown> = {}, version = "2025-06-18", backendVersion?: string): void {
      router.clientConnected(cid);
      router.backendStarted();
      api.send(cid, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: version, capabilities: caps, clientInfo: { name: "t", version: "1" } } });
      const init = api.takeBackend().find((m) => m.method === "initialize");
      const protocolVersion = backendVersion ?? init.params.protocolVersion;
      api.backend({ jsonrpc: "2.0", id: init.id, result: { protocolVersion, capabilities: { tools: {}, logging: {}, resources: { subscribe: true } }, serverInfo: { name: "s", version: "1" } } });
      api.send(cid, { jsonrpc: "2.0", method: "notifications/initialized" });
      api.takeBackend();
      api.takeClient(cid);
    },
    /** Connect and handshake a further client against the cached result. */
    join(cid: number, caps: Record<string, unknown> = {}, version = "2025-06-18"): void {
      router.clientConnected(cid);
      api.send(cid, { jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: version, capabilities: caps } });
      api.send(cid, { jsonrpc: "2.0", method: "notifications/initialized" });
      api.takeClient(cid);
    },
  };
  return api;
}
