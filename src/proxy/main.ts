#!/usr/bin/env bun
/**
 * rmcp-mux-proxy: the stdio command an MCP host runs. Deliberately free of citty, arktype and
 * everything else the daemon uses: hosts spawn one per session, so start-up is the cost that matters.
 */
import path from "node:path";
import { COMMIT, VERSION } from "../version.ts";
import { runProxy } from "./proxy.ts";

const USAGE = `rmcp-mux-proxy — bridge stdio to an rmcp-mux socket

Usage: rmcp-mux-proxy --socket PATH [--config PATH] [--retry-ms N] [--drain-ms N]
       rmcp-mux-proxy --version

  --socket PATH   the server's socket from mux.toml (~ is expanded)
  --config PATH   the mux.toml serving it: when nothing answers, start \`rmcp-mux --config PATH\` (detached)
  --retry-ms N    keep trying to connect for N ms (default 5000)
  --drain-ms N    after stdin ends, wait up to N ms for open requests (default 30000)
`;

export async function proxyMain(argv: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "-h" || a === "--help") {
      process.stdout.write(USAGE);
      return 0;
    }
    if (a === "-v" || a === "--version") {
      process.stdout.write(`rmcp-mux-proxy ${VERSION} (${COMMIT})\n`);
      return 0;
    }
    const eq = a.indexOf("=");
    const [key, value] = a.startsWith("--") && eq > 0 ? [a.slice(2, eq), a.slice(eq + 1)] : [a.replace(/^--/, ""), argv[++i]];
    if (!["socket", "config", "retry-ms", "drain-ms"].includes(key) || value === undefined) {
      process.stderr.write(`rmcp-mux-proxy: unknown or incomplete option ${a}\n\n${USAGE}`);
      return 2;
    }
    opts[key] = value;
  }
  if (!opts.socket) {
    process.stderr.write(`rmcp-mux-proxy: --socket PATH is required\n\n${USAGE}`);
    return 2;
  }
  const home = process.env.HOME ?? "";
  const socket = opts.socket.replace(/^~(?=$|\/)/, home);
  const config = opts.config ? path.resolve(opts.config.replace(/^~(?=$|\/)/, home)) : undefined;
  const writer = Bun.stdout.writer();
  const retryMs = Number(opts["retry-ms"] ?? 5000);
  const stderr = (l: string) => void process.stderr.write(`${l}\n`);
  const code = await runProxy({
    socket,
    retryMs,
    drainMs: Number(opts["drain-ms"] ?? 30000),
    stdin: Bun.stdin.stream(),
    stdout: { write: (s) => writer.write(s), flush: () => writer.flush() },
    stderr,
    cwd: process.cwd(),
    ...(config && {
      startDaemon: async (connectNow: () => Promise<boolean>) => {
        const { daemonCommand, ensureDaemon } = await import("./autostart.ts");
        // The daemon checks its config in a child first (~0.3 s, more on a busy machine): allow it more than --retry-ms.
        return ensureDaemon({ config, command: daemonCommand(), answers: connectNow, timeoutMs: Math.max(retryMs, 15_000), stderr });
      },
    }),
  });
  await writer.flush();
  return code;
}

if (import.meta.main) process.exit(await proxyMain(process.argv.slice(2)));
