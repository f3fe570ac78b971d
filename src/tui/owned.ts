/**
 * `rmcp-mux --config mux.toml --tui`: the daemon runs as a child process of this same program
 * (without --tui), the dashboard attaches to its control socket, and quitting the dashboard stops
 * that daemon with SIGTERM and waits until it has exited, its sockets removed.
 *
 * The child gets its own session (setsid), so a Ctrl+C typed into the terminal reaches only the
 * dashboard, which then stops the daemon once, gracefully. Its stdout and stderr are kept (the last
 * lines) instead of being written over the dashboard, and printed if it fails.
 */
import type { Subprocess } from "bun";
import { connectControl } from "../control/client.ts";
import { Tail } from "../runtime/status.ts";
import { streamLines } from "../runtime/text-lines.ts";
import { type Dashboard, startDashboard } from "./app.ts";
import { selfCommand } from "../cli/self.ts";

export interface OwnedDaemonArgs {
  config?: string;
  only?: string;
  except?: string;
  "status-socket"?: string;
}

/** The daemon's own flags: everything the user gave except --tui. */
export function daemonFlags(a: OwnedDaemonArgs): string[] {
  const flags: string[] = [];
  for (const k of ["config", "only", "except", "status-socket"] as const) {
    const v = a[k];
    if (typeof v === "string" && v !== "") flags.push(`--${k}`, v);
  }
  return flags;
}

async function answers(socket: string): Promise<boolean> {
  try {
    (await connectControl(socket)).close();
    return true;
  } catch {
    return false;
  }
}

export async function runOwnedDashboard(args: OwnedDaemonArgs, socket: string, readyTimeoutMs = 60_000): Promise<number> {
  const say = (line: string) => process.stderr.write(`rmcp-mux: ${line}\n`);
  if (await answers(socket)) {
    say(`a daemon is already running on ${socket}; attach to it with: rmcp-mux dashboard --socket ${socket}`);
    return 1;
  }
  const output = new Tail(200);
  const proc = Bun.spawn(selfCommand(daemonFlags(args)), { stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
  void keepLines(proc.stdout, output);
  void keepLines(proc.stderr, output);
  let exited = false;
  const exitedCode = proc.exited.then((code) => {
    exited = true;
    return code;
  });

  // Until the daemon has stopped, a signal means: quit the dashboard (or stop waiting), then stop it.
  let dashboard: Dashboard | null = null;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    void dashboard?.quit();
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) process.on(s, onSignal);
  try {
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await answers(socket))) {
      if (exited || interrupted || Date.now() > deadline) break;
      await Bun.sleep(50); // polling interval: a socket starting to listen sends no event
    }
    if (exited || interrupted || Date.now() > deadline) {
      const why = exited ? `the daemon exited (code ${await exitedCode})` : interrupted ? "interrupted" : `no control socket after ${readyTimeoutMs} ms`;
      say(`${why} before its control socket ${socket} answered${output.toArray().length > 0 ? "; its output:" : ""}`);
      for (const l of output.toArray()) process.stderr.write(`  ${l}\n`);
      await stop(proc, exitedCode);
      return 1;
    }
    let failed = false;
    try {
      dashboard = await startDashboard({ socket });
      if (interrupted) void dashboard.quit();
      await dashboard.done;
    } catch (e) {
      // No terminal to draw on, or the like: still stop the daemon started for it.
      failed = true;
      say(`the dashboard failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    say("stopping the daemon…");
    const code = await stop(proc, exitedCode);
    if (code === 0) {
      say("daemon stopped");
      return failed ? 1 : 0;
    }
    say(`the daemon exited with ${code === null ? `signal ${proc.signalCode}` : `code ${code}`}; its last lines:`);
    for (const l of output.toArray().slice(-20)) process.stderr.write(`  ${l}\n`);
    return 1;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

/** SIGTERM (the daemon's graceful stop: children ended, sockets removed), SIGKILL only if it hangs. */
async function stop(proc: Subprocess, exited: Promise<number | null>, graceMs = 20_000): Promise<number | null> {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), graceMs)));
  const first = await Promise.race([exited, hung]);
  clearTimeout(timer);
  if (first !== "hung") return first;
  proc.kill("SIGKILL");
  return exited;
}

function keepLines(stream: ReadableStream<Uint8Array>, into: Tail): Promise<void> {
  return streamLines(stream, (l) => into.push(l));
}
