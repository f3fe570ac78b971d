/**
 * stdio ⇄ Unix socket bridge: what an MCP host runs as its "server command".
 *
 * It frames both directions so it knows which requests are still open: when stdin ends it waits
 * for their answers before exiting, and when the daemon goes away it answers them with errors
 * (never a hang), reconnects within its retry window and replays the host's `initialize`, so the
 * host's session carries on. Nothing that may have reached a server is ever resent.
 *
 * Keep this file's imports light: hosts start a proxy for every session.
 */
import { dialUnix, type DialedLink } from "../runtime/links/unix-dial.ts";
import { LineDecoder } from "../wire/framing.ts";
import { helloLine } from "../wire/hello.ts";
import { errorLine, INTERNAL_ERROR, NULL_ID } from "../wire/jsonrpc.ts";
import { emptySpans, methodOf, quickRequestSpan, quickResponseId, scanTopLevel, type Spans } from "../wire/scan.ts";

export interface ProxyOptions {
  socket: string;
  /** How long to keep trying to reach the socket, at start and after the daemon went away. */
  retryMs: number;
  /** How long to wait for open requests once stdin has ended. */
  drainMs: number;
  stdin: ReadableStream<Uint8Array>;
  stdout: { write(s: string): unknown; flush?(): unknown };
  stderr: (line: string) => void;
  maxLineBytes?: number;
  /** The folder the host started the proxy in: told to the daemon first on each connection (its workspace). */
  cwd?: string;
  /**
   * With `--config`: start the daemon when nothing answers at first. Gets a function that connects (true once
   * connected); resolves to undefined when connected, else to why the daemon could not be reached.
   */
  startDaemon?: (connectNow: () => Promise<boolean>) => Promise<string | undefined>;
}

/** With no daemon, how long to wait for the host's first request (to answer it) before exiting. */
const UNREACHABLE_WAIT_MS = 10_000;

/**
 * The daemon's refusal of a connection (past `max_connections`): an error with id null whose `data.reason`
 * says so. Returns its message, or null for any other line.
 */
export function refusalOf(line: string): string | null {
  if (!line.includes('"connection_limit"')) return null;
  try {
    const m = JSON.parse(line) as { id?: unknown; error?: { message?: unknown; data?: { reason?: unknown } } };
    if (m.id !== null || m.error?.data?.reason !== "connection_limit") return null;
    return typeof m.error.message === "string" ? m.error.message : "too many connections (max_connections)";
  } catch {
    return null;
  }
}

const REPLAY_ID = '"rmcp-mux-proxy:replayed-initialize"';

export async function runProxy(o: ProxyOptions): Promise<number> {
  const spans = emptySpans();
  /** Raw id text of each host request the daemon has not answered yet. */
  const open = new Set<string>();
  /**
   * The host's open `subscriptions/listen` streams (2026-07-28): answered only when someone ends them, so
   * stdin's end does not wait for them; a lost daemon connection still ends them with an error.
   */
  const streams = new Set<string>();
  let initLine: string | null = null;
  let stdinDone = false;
  let link: DialedLink | null = null;
  let settle!: (code: number) => void;
  const finished = new Promise<number>((r) => (settle = r));

  const toHost = (line: string) => {
    o.stdout.write(`${line}\n`);
  };
  const flushHost = () => void o.stdout.flush?.();

  /** Set when the daemon refused this connection: nothing is retried, the host is told why. */
  let refused: string | null = null;
  /** No line has come on this connection yet: only the first one can be a refusal (the rest is not scanned). */
  let first = true;

  const fromDaemon = (line: string) => {
    // A refusal comes first and alone, with id null: it is for the proxy, not for the host.
    if (first) {
      first = false;
      if ((refused = refusalOf(line)) !== null) return;
    }
    // Answers are most of the traffic: find their id without a full scan when it stands where SDKs put it.
    const isAnswer = quickResponseId(line, spans) || (scanTopLevel(line, spans) && spans.idStart >= 0 && spans.methodStart < 0);
    if (isAnswer) {
      const rawId = line.slice(spans.idStart, spans.idEnd);
      if (rawId === REPLAY_ID) return; // the answer to our own replayed handshake
      if (!open.delete(rawId)) streams.delete(rawId);
    }
    toHost(line);
    if (stdinDone) finishIfDrained();
  };

  let lastError = "";
  const connect = async (windowMs = o.retryMs, quiet = false): Promise<boolean> => {
    const deadline = performance.now() + windowMs;
    for (let attempt = 0; ; attempt++) {
      try {
        // Each connection frames its own bytes: a line cut off by a dead daemon never joins the next one's.
        first = true;
        link = await dialUnix(o.socket, {
          maxLineBytes: o.maxLineBytes ?? 256 * 1024 * 1024,
          maxQueuedBytes: 64 * 1024 * 1024,
          onLine: fromDaemon,
          onOversize: (n) => o.stderr(`rmcp-mux-proxy: dropped a ${n}-byte message from the daemon`),
          afterChunk: flushHost,
          onClose: () => onDaemonGone(),
          onError: (m) => {
            lastError = m;
          },
        });
        // Before anything of the host's, so the daemon knows the workspace before it places this client.
        if (o.cwd !== undefined) link.send(helloLine(o.cwd));
        return true;
      } catch (e) {
        lastError = (e as Error).message;
      }
      if (performance.now() >= deadline) {
        if (!quiet) o.stderr(`rmcp-mux-proxy: cannot connect to ${o.socket}: ${lastError} (is the rmcp-mux daemon running?)`);
        return false;
      }
      await Bun.sleep(Math.min(25 * 2 ** attempt, 250)); // retry pacing while the daemon starts, not synchronisation
    }
  };

  const finishIfDrained = () => {
    if (stdinDone && open.size === 0) {
      flushHost();
      settle(0);
    }
  };

  let reconnecting = false;
  const onDaemonGone = () => {
    link = null;
    if (refused !== null) return onRefused(refused);
    // Requests that may have reached a server are answered, never resent.
    for (const rawId of [...open, ...streams]) {
      toHost(errorLine(rawId, INTERNAL_ERROR, "rmcp-mux daemon connection lost before the answer arrived", "backend_unavailable"));
    }
    open.clear();
    streams.clear();
    flushHost();
    if (stdinDone) return settle(0);
    if (reconnecting) return;
    reconnecting = true;
    void connect().then((ok) => {
      reconnecting = false;
      if (!ok) return settle(1);
      o.stderr("rmcp-mux-proxy: reconnected to the daemon");
      if (initLine !== null) {
        scanTopLevel(initLine, spans);
        link?.send(initLine.slice(0, spans.idStart) + REPLAY_ID + initLine.slice(spans.idEnd));
        link?.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
      }
    });
  };

  // A refusal is not a lost connection: retrying would be refused again, so the host's next request is
  // answered with the reason and the proxy ends (a host shows that error instead of a hang).
  let refusalTimer: ReturnType<typeof setTimeout> | undefined;
  const refusalLine = (rawId: string, why: string) => errorLine(rawId, INTERNAL_ERROR, `rmcp-mux refused this session: ${why}`, "connection_limit");
  const onRefused = (why: string) => {
    o.stderr(`rmcp-mux-proxy: the daemon refused this session, not retrying: ${why}`);
    // The refusal came before anything was served: what the host asked already gets it as its answer.
    for (const rawId of open) toHost(refusalLine(rawId, why));
    const answered = open.size > 0;
    open.clear();
    flushHost();
    if (answered || stdinDone) return settle(1);
    refusalTimer = setTimeout(() => settle(1), UNREACHABLE_WAIT_MS);
  };
  const answerRefused = (rawId: string, why: string) => {
    toHost(refusalLine(rawId, why));
    flushHost();
    clearTimeout(refusalTimer);
    settle(1);
  };

  const fromHost = new LineDecoder(o.maxLineBytes ?? 256 * 1024 * 1024, {
    onLine(line) {
      // Until the host's initialize has been seen every line is scanned (its method is needed then).
      const isRequest =
        (initLine !== null && quickRequestSpan(line, spans)) ||
        (scanTopLevel(line, spans) && spans.idStart >= 0 && spans.methodStart >= 0);
      if (isRequest) {
        const rawId = line.slice(spans.idStart, spans.idEnd);
        if (link === null && refused !== null) return answerRefused(rawId, refused);
        if (link === null) {
          toHost(errorLine(rawId, INTERNAL_ERROR, "rmcp-mux daemon is not reachable right now; retry shortly", "backend_unavailable"));
          return flushHost();
        }
        if (isListen(line, spans)) streams.add(rawId);
        else open.add(rawId);
        if (initLine === null && methodOf(line, spans) === "initialize") initLine = line;
      } else if (spans.idStart < 0 && spans.methodStart >= 0 && methodOf(line, spans) === "notifications/cancelled") {
        // A cancelled request gets no answer: stop waiting for it, or stdin's end would wait --drain-ms.
        try {
          const rid = (JSON.parse(line) as { params?: { requestId?: unknown } }).params?.requestId;
          if (rid !== undefined && !open.delete(JSON.stringify(rid))) streams.delete(JSON.stringify(rid));
        } catch {
          // the daemon answers malformed JSON itself
        }
      }
      link?.send(line);
    },
    onOversize: (n) => {
      toHost(errorLine(NULL_ID, -32600, `Request too large (${n} bytes) for rmcp-mux-proxy`, "too_large"));
      flushHost();
    },
  });

  let connected = await connect(o.startDaemon ? 0 : o.retryMs, Boolean(o.startDaemon));
  let why: string | undefined;
  if (!connected && o.startDaemon) {
    why = await o.startDaemon(() => connect(0, true));
    connected = why === undefined;
    if (why) o.stderr(`rmcp-mux-proxy: ${why}`);
  }
  if (!connected) {
    const message = why
      ? `rmcp-mux daemon could not be started: ${why}`
      : `rmcp-mux daemon is not running (nothing answers on ${o.socket}: ${lastError}). Start it with \`rmcp-mux --config <your mux.toml>\`, ` +
        "or add `--config <your mux.toml>` to this server's args so rmcp-mux-proxy starts it";
    return answerUnreachable(o, message);
  }

  void (async () => {
    try {
      for await (const chunk of o.stdin) fromHost.push(chunk);
    } catch (e) {
      o.stderr(`rmcp-mux-proxy: stdin failed: ${(e as Error).message}`);
    }
    stdinDone = true;
    if (refused !== null && link === null) return settle(1);
    finishIfDrained();
    if (open.size > 0) setTimeout(() => settle(0), o.drainMs).unref();
  })();

  const code = await finished;
  (link as DialedLink | null)?.end();
  return code;
}

const LISTEN = '"method":"subscriptions/listen"';

/** A request line for `subscriptions/listen`: its method where SDKs put it (first, or right after the id), or found by a scan. */
function isListen(line: string, spans: Spans): boolean {
  if (line.startsWith('{"method":')) return line.startsWith(LISTEN, 1);
  if (line.startsWith(',"method":', spans.idEnd)) return line.startsWith(LISTEN, spans.idEnd + 1);
  return line.includes(LISTEN) && scanTopLevel(line, spans) && methodOf(line, spans) === "subscriptions/listen";
}

/** No daemon: the host's first request (its `initialize`) gets an error saying what to do, never silence. */
async function answerUnreachable(o: ProxyOptions, message: string): Promise<number> {
  const spans = emptySpans();
  let answered = false;
  const decoder = new LineDecoder(o.maxLineBytes ?? 256 * 1024 * 1024, {
    onLine(line) {
      if (!scanTopLevel(line, spans) || spans.idStart < 0 || spans.methodStart < 0) return;
      o.stdout.write(`${errorLine(line.slice(spans.idStart, spans.idEnd), INTERNAL_ERROR, message, "backend_unavailable")}\n`);
      answered = true;
    },
    onOversize: () => {},
  });
  const reader = o.stdin.getReader();
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), UNREACHABLE_WAIT_MS);
  try {
    while (!answered) {
      const { done, value } = await reader.read();
      if (done) break;
      decoder.push(value);
    }
  } catch {
    // stdin failed or was cancelled by the timer: nothing left to answer
  } finally {
    clearTimeout(timer);
  }
  await o.stdout.flush?.();
  return 1;
}
