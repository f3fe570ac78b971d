/**
 * The daemon's log: one line per event on stderr, which is where service managers collect it.
 * `RMCP_MUX_LOG=debug|info|warn|error|off` sets the floor (default info). A program that embeds the library
 * can send the lines elsewhere, or nowhere, with `setLogWriter`.
 */
import type { LogLevelName } from "../router/types.ts";

const RANK: Record<LogLevelName | "off", number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };

export type Logger = (level: LogLevelName, message: string) => void;
export type LogWriter = (line: string) => void;

const toStderr: LogWriter = (l) => void process.stderr.write(l);
let writer: LogWriter | null = toStderr;

/**
 * Where every logger without a writer of its own sends its lines from now on: a function gets each line
 * (newline included), `null` silences them, `undefined` restores stderr. Loggers already created follow too.
 */
export function setLogWriter(write: LogWriter | null | undefined): void {
  writer = write === undefined ? toStderr : write;
}

function floor(): number {
  const v = process.env.RMCP_MUX_LOG as LogLevelName | "off" | undefined;
  return v !== undefined && v in RANK ? RANK[v] : RANK.info;
}

export function createLogger(scope: string, write?: LogWriter): Logger {
  const min = floor();
  return (level, message) => {
    if (RANK[level] < min) return;
    const out = write ?? writer;
    if (out !== null) out(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}\n`);
  };
}
