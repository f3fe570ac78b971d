/**
 * The daemon's log: one line per event on stderr, which is where service managers collect it.
 * `RMCP_MUX_LOG=debug|info|warn|error` sets the floor (default info).
 */
import type { LogLevelName } from "../router/types.ts";

const RANK: Record<LogLevelName, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type Logger = (level: LogLevelName, message: string) => void;

function floor(): number {
  const v = process.env.RMCP_MUX_LOG as LogLevelName | undefined;
  return v !== undefined && v in RANK ? RANK[v] : RANK.info;
}

export function createLogger(scope: string, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = floor();
  return (level, message) => {
    if (RANK[level] < min) return;
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}\n`);
  };
}
