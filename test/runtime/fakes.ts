/**
 * Stand-ins for a server's child process and front, for unit tests of the wiring above them (the server,
 * the daemon's sequencing). Integration tests use real processes and sockets; these never do.
 */
import type { ServerConfig } from "../../src/config/schema.ts";
import type { ChildEvents, ChildSpec } from "../../src/runtime/child.ts";
import type { ClientLink, LinkEvents } from "../../src/runtime/links/link.ts";
import type { ChildHandle, Front, ServerDeps } from "../../src/runtime/server.ts";
import { ManualClock } from "../router/harness.ts";

/** A resolved server config, as the `check` child hands it to the daemon (every default filled in). */
export function serverConfig(name: string, over: Partial<ServerConfig> = {}): ServerConfig {
  return {
    name,
    socket: `/tmp/rl/${name}.sock`,
    cmd: "bun",
    args: ["fixture.ts"],
    env: {},
    max_active_clients: 5,
    max_connections: 256,
    lazy_start: false,
    max_request_bytes: 1048576,
    request_timeout_ms: 30000,
    restart_backoff_ms: 1000,
    restart_backoff_max_ms: 30000,
    max_restarts: 5,
    tray: false,
    max_response_bytes: 67108864,
    max_client_buffer_bytes: 33554432,
    stable_run_ms: 10000,
    shutdown_grace_ms: 2000,
    heartbeat: false,
    heartbeat_interval_ms: 30000,
    heartbeat_timeout_ms: 5000,
    heartbeat_max_failures: 3,
    launch: "resolve",
    share: "shared",
    max_instances: 8,
    ...over,
  };
}

export class FakeChild implements ChildHandle {
  readonly received: any[] = [];
  exited = false;
  constructor(
    readonly pid: number,
    readonly spec: ChildSpec,
    private readonly events: ChildEvents,
  ) {}
  send(line: string): void {
    this.received.push(JSON.parse(line));
  }
  /** The child writes one message on stdout. */
  write(msg: unknown): void {
    this.events.onLine(JSON.stringify(msg));
  }
  /** The child ends (on its own, or because it was asked to). */
  exit(how = "exit code 0"): void {
    if (this.exited) return;
    this.exited = true;
    this.events.onExit(how);
  }
  async stop(): Promise<void> {
    this.exit();
  }
  kill(): void {
    this.exit("killed by SIGKILL");
  }
  /** Answers every request received so far that has not been answered (initialize with a result). */
  answerAll(): void {
    for (const m of this.received.splice(0)) {
      if (m.id === undefined || m.method === undefined) continue;
      const result =
        m.method === "initialize" ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "fake", version: "1" } } : { echoed: m.method };
      this.write({ jsonrpc: "2.0", id: m.id, result });
    }
  }
}

export class FakeLink implements ClientLink {
  readonly got: any[] = [];
  ended: "now" | "when-written" | null = null;
  events: LinkEvents | null = null;
  send(line: string): void {
    this.got.push(JSON.parse(line));
  }
  end(): void {
    this.ended = "now";
    this.events?.onClose();
  }
  endWhenWritten(): void {
    this.ended = "when-written";
    this.events?.onClose();
  }
  /** The client sends one message. */
  say(msg: unknown): void {
    this.events?.onLine(JSON.stringify(msg));
  }
}

export class FakeFront implements Front {
  accept: ((link: ClientLink) => LinkEvents | null) | null = null;
  stopped: boolean[] = [];
  serve(accept: (link: ClientLink) => LinkEvents | null): void {
    this.accept = accept;
  }
  stop(closeAll: boolean): void {
    this.stopped.push(closeAll);
  }
  /** A client connects; null when the server refused it. */
  connect(): FakeLink | null {
    const link = new FakeLink();
    const events = this.accept?.(link) ?? null;
    if (events === null) return null;
    link.events = events;
    return link;
  }
}

/** Deps whose children and fronts are fakes, on a hand-moved clock; `bindFails` names servers whose front cannot bind. */
export function fakeDeps(bindFails: string[] = []) {
  const clock = new ManualClock();
  const children: FakeChild[] = [];
  const fronts = new Map<string, FakeFront>();
  let pid = 1000;
  const deps: ServerDeps = {
    spawnChild: (spec, events) => {
      const c = new FakeChild(pid++, spec, events);
      children.push(c);
      return c;
    },
    bindFront: async (config) => {
      if (bindFails.includes(config.name)) throw new Error(`${config.socket}: in use`);
      const f = new FakeFront();
      fronts.set(config.name, f);
      return f;
    },
    timers: clock,
    leftovers: false,
  };
  return { deps, clock, children, fronts };
}

export const initialize = (id: unknown, protocolVersion = "2025-06-18") => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion, capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
