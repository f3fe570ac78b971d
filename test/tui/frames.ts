/** Reading the dashboard off a captured frame, and waiting for a frame (polling with a timeout, never a bare sleep). */

/** Poll `capture` until `pred` holds; the frame is returned, or the last one is shown in the error. */
export async function waitForScreen(
  capture: () => string | Promise<string>,
  pred: (frame: string) => boolean,
  what: string,
  timeoutMs = 8000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = await capture();
    if (pred(frame)) return frame;
    if (Date.now() > deadline) throw new Error(`no frame with ${what} within ${timeoutMs} ms; last frame:\n${frame}`);
    await Bun.sleep(25); // polling interval for a screen, which has no change event
  }
}

export interface Row {
  name: string;
  state: string;
  pid: string;
  clients: string;
  pending: string;
  rps: string;
  restarts: string;
  uptime: string;
  heartbeat: string;
  lastRestart: string;
}

/** The table row of server `name` (cells are separated by two or more spaces), or null. */
export function rowOf(frame: string, name: string): Row | null {
  const line = frame.split("\n").find((l) => l.startsWith(`│${name} `));
  if (line === undefined) return null;
  const c = line.slice(1, line.lastIndexOf("│")).trim().split(/\s{2,}/);
  if (c.length < 10) return null;
  const [n, state, pid, clients, pending, rps, restarts, uptime, heartbeat, lastRestart] = c as [string, ...string[]];
  return { name: n, state: state!, pid: pid!, clients: clients!, pending: pending!, rps: rps!, restarts: restarts!, uptime: uptime!, heartbeat: heartbeat!, lastRestart: lastRestart! };
}

/** The last non-empty line of the frame: the status line. */
export function statusLineOf(frame: string): string {
  return frame.trimEnd().split("\n").pop()?.trim() ?? "";
}
