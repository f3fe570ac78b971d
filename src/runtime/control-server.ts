/**
 * The daemon's control socket (protocol in src/control/protocol.ts). Each control client has its
 * own framing and capped outbox: a bad or slow one is answered or dropped without touching the rest.
 */
import type { Socket, UnixSocketListener } from "bun";
import { chmodSync } from "node:fs";
import { CONTROL_COMMANDS, type ControlAnswer, type ControlRequest } from "../control/protocol.ts";
import { LineDecoder } from "../router/framing.ts";
import type { Logger } from "./log.ts";
import { Outbox } from "./outbox.ts";
import type { ReloadSummary } from "./reload.ts";
import type { MuxServer } from "./server.ts";
import { prepareSocketPath, removeSocketFile } from "./socket-path.ts";
import type { DaemonStatus } from "./status.ts";

export interface ControlTarget {
  servers: ReadonlyMap<string, MuxServer>;
  status(): DaemonStatus;
  /** Registers a listener for changes of any server (or of the set); returns its removal. */
  onChange(fn: () => void): () => void;
  /** Re-reads the config and applies it (the daemon logs the outcome); absent: `reload` is refused. */
  reload?(): Promise<{ ok: true; reload: ReloadSummary } | { ok: false; error: string }>;
}

interface Conn {
  decoder: LineDecoder;
  outbox: Outbox;
  unsubscribe: (() => void) | null;
}

const MAX_REQUEST = 64 * 1024;
const MAX_QUEUED = 8 * 1024 * 1024;
/** Subscribers get at most one snapshot per this many ms, and one at least every second. */
const COALESCE_MS = 50;
const TICK_MS = 1000;

export class ControlServer {
  private listener: UnixSocketListener<Conn> | null = null;

  constructor(
    private readonly path: string,
    private readonly target: ControlTarget,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await prepareSocketPath(this.path);
    const umask = process.umask(0o177);
    try {
      this.listener = Bun.listen<Conn>({
        unix: this.path,
        socket: {
          open: (s) => {
            s.data = {
              decoder: new LineDecoder(MAX_REQUEST, {
                onLine: (l) => void this.handle(s, l),
                onOversize: () => this.reply(s, { ok: false, error: `request over ${MAX_REQUEST} bytes` }),
              }),
              outbox: new Outbox(s, MAX_QUEUED, () => s.end()),
              unsubscribe: null,
            };
          },
          data: (s, chunk) => s.data.decoder.push(chunk),
          drain: (s) => s.data.outbox.drain(),
          close: (s) => s.data?.unsubscribe?.(),
          error: () => {},
        },
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(this.path, 0o600);
    this.log("info", `control socket on ${this.path}`);
  }

  stop(): void {
    if (this.listener === null) return; // never bound: the path may be a live daemon's
    this.listener.stop(true);
    removeSocketFile(this.path);
  }

  private reply(s: Socket<Conn>, answer: ControlAnswer): void {
    s.data.outbox.push(JSON.stringify(answer));
  }

  private async handle(s: Socket<Conn>, line: string): Promise<void> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return this.reply(s, { ok: false, error: "invalid JSON" });
    }
    const id = typeof req?.id === "string" || typeof req?.id === "number" ? req.id : undefined;
    const fail = (error: string) => this.reply(s, { ok: false, ...(id === undefined ? {} : { id }), error });
    if (typeof req !== "object" || req === null || !CONTROL_COMMANDS.includes(req.cmd)) {
      return fail(`unknown command; expected one of: ${CONTROL_COMMANDS.join(", ")}`);
    }
    const ok = (extra: Omit<Extract<ControlAnswer, { ok: true }>, "ok" | "id">) =>
      this.reply(s, { ok: true, ...(id === undefined ? {} : { id }), ...extra });
    if (req.cmd === "status") return ok({ status: this.target.status() });
    if (req.cmd === "subscribe") return this.subscribe(s, () => ok({ status: this.target.status() }));
    if (req.cmd === "reload") {
      if (this.target.reload === undefined) return fail("this daemon cannot reload: it was not started from a config file");
      this.log("info", "control: reload");
      const outcome = await this.target.reload();
      return outcome.ok ? ok({ reload: outcome.reload }) : fail(outcome.error);
    }
    const server = typeof req.name === "string" ? this.target.servers.get(req.name) : undefined;
    if (server === undefined) {
      return fail(`unknown server ${JSON.stringify(req.name)}; servers: ${[...this.target.servers.keys()].join(", ")}`);
    }
    this.log("info", `control: ${req.cmd} ${req.name}`);
    if (req.cmd === "restart") {
      // Resolved before the old child stops, so it keeps serving while npm answers.
      if (req.refresh === true) await server.refreshLaunch();
      await server.restart("restarted by an operator");
    } else if (req.cmd === "stop") await server.stopChild();
    else server.startChild();
    ok({ server: server.status() });
  }

  private subscribe(s: Socket<Conn>, first: () => void): void {
    if (s.data.unsubscribe !== null) return first();
    first();
    let pending: ReturnType<typeof setTimeout> | null = null;
    const send = () => {
      pending = null;
      s.data.outbox.push(JSON.stringify({ event: "status", status: this.target.status() }));
    };
    const off = this.target.onChange(() => {
      pending ??= setTimeout(send, COALESCE_MS);
    });
    // Counters (served, uptime) move without a state change: tick so dashboards stay live.
    const tick = setInterval(send, TICK_MS);
    s.data.unsubscribe = () => {
      off();
      clearInterval(tick);
      if (pending !== null) clearTimeout(pending);
    };
  }
}
