/**
 * The daemon's control socket (protocol in src/control/protocol.ts). Each control client has its
 * own framing and capped outbox: a bad or slow one is answered or dropped without touching the rest.
 */
import { CONTROL_COMMANDS, type ControlAnswer, type ControlRequest } from "../control/protocol.ts";
import type { Logger } from "./log.ts";
import type { ClientLink } from "./links/link.ts";
import { serveUnix } from "./links/unix-front.ts";
import { Listener } from "./listener.ts";
import type { ReloadSummary } from "./reload.ts";
import type { MuxServer } from "./server.ts";
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
  link: ClientLink;
  unsubscribe: (() => void) | null;
}

const MAX_REQUEST = 64 * 1024;
const MAX_QUEUED = 8 * 1024 * 1024;
/** Subscribers get at most one snapshot per this many ms, and one at least every second. */
const COALESCE_MS = 50;
const TICK_MS = 1000;

export class ControlServer {
  private listener: Listener | null = null;

  constructor(
    private readonly path: string,
    private readonly target: ControlTarget,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const listener = await Listener.bind(this.path, { pausable: false });
    this.listener = listener;
    serveUnix(listener, { maxLineBytes: MAX_REQUEST, maxQueuedBytes: MAX_QUEUED }, (link) => {
      const conn: Conn = { link, unsubscribe: null };
      return {
        onLine: (l) => void this.handle(conn, l),
        onOversize: () => this.reply(conn, { ok: false, error: `request over ${MAX_REQUEST} bytes` }),
        onEnd: () => link.endWhenWritten(),
        onClose: () => conn.unsubscribe?.(),
        onOverflow: () => link.end(),
      };
    });
    this.log("info", `control socket on ${this.path}`);
  }

  stop(): void {
    // Never bound: the path may be a live daemon's.
    this.listener?.stop(true);
  }

  private reply(conn: Conn, answer: ControlAnswer): void {
    conn.link.send(JSON.stringify(answer));
  }

  private async handle(conn: Conn, line: string): Promise<void> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return this.reply(conn, { ok: false, error: "invalid JSON" });
    }
    const id = typeof req?.id === "string" || typeof req?.id === "number" ? req.id : undefined;
    const fail = (error: string) => this.reply(conn, { ok: false, ...(id === undefined ? {} : { id }), error });
    if (typeof req !== "object" || req === null || !CONTROL_COMMANDS.includes(req.cmd)) {
      return fail(`unknown command; expected one of: ${CONTROL_COMMANDS.join(", ")}`);
    }
    const ok = (extra: Omit<Extract<ControlAnswer, { ok: true }>, "ok" | "id">) =>
      this.reply(conn, { ok: true, ...(id === undefined ? {} : { id }), ...extra });
    if (req.cmd === "status") return ok({ status: this.target.status() });
    if (req.cmd === "subscribe") return this.subscribe(conn, req.ticks !== false, () => ok({ status: this.target.status() }));
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

  private subscribe(conn: Conn, ticks: boolean, first: () => void): void {
    if (conn.unsubscribe !== null) return first();
    first();
    let pending: ReturnType<typeof setTimeout> | null = null;
    const send = () => {
      pending = null;
      conn.link.send(JSON.stringify({ event: "status", status: this.target.status() }));
    };
    const off = this.target.onChange(() => {
      pending ??= setTimeout(send, COALESCE_MS);
    });
    // Counters (served, uptime) move without a state change: tick so dashboards stay live.
    // A client waiting for a change only can turn them off.
    const tick = ticks ? setInterval(send, TICK_MS) : null;
    conn.unsubscribe = () => {
      off();
      if (tick !== null) clearInterval(tick);
      if (pending !== null) clearTimeout(pending);
    };
  }
}
