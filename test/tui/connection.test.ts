/** The dashboard's link: backoff while nothing answers, then the subscription of a real daemon. */
import { afterEach, expect, test } from "bun:test";
import path from "node:path";
import { openLink, retryDelay } from "../../src/tui/connection.ts";
import type { DaemonStatus } from "../../src/runtime/status.ts";
import { cleanup, startDaemon, waitFor, writeConfig } from "../e2e/harness.ts";

// Bun 1.4.5 ignores bunfig.toml's [test] timeout (the default stays 5 s); real daemons under load need more.

afterEach(cleanup);

test("retry delays double from the first and stop at the cap", () => {
  const b = { initialMs: 250, maxMs: 2000 };
  expect([1, 2, 3, 4, 5, 9].map((n) => retryDelay(n, b))).toEqual([250, 500, 1000, 2000, 2000, 2000]);
});

test("with no daemon it keeps retrying with growing delays; when one starts it subscribes; send reaches it", async () => {
  const cfg = writeConfig(undefined, { mem: {} });
  const control = path.join(cfg.dir, "daemon.sock");
  const lost: Array<[string, number, number]> = [];
  const statuses: DaemonStatus[] = [];
  let connected = 0;
  const link = openLink(
    control,
    { lost: (e, ms, n) => lost.push([e, ms, n]), connected: () => connected++, status: (s) => statuses.push(s) },
    { initialMs: 20, maxMs: 80 },
  );
  try {
    await waitFor(() => lost.length >= 4, 5000, "four failed attempts");
    expect(lost.slice(0, 4)).toEqual([
      ["nothing answers on the control socket", 20, 1],
      ["nothing answers on the control socket", 40, 2],
      ["nothing answers on the control socket", 80, 3],
      ["nothing answers on the control socket", 80, 4],
    ]);
    expect(await link.send("restart", "mem")).toMatchObject({ ok: false });
    const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [control, cfg.sockets.mem!] });
    await waitFor(() => connected === 1 && statuses.length >= 2, 5000, "the subscription and a status event");
    expect(statuses[0]!.pid).toBe(daemon.proc.pid);
    const answer = await link.send("restart", "mem");
    expect(answer.ok && answer.server?.restarts).toBe(1);
    await daemon.stop("SIGTERM");
    await waitFor(() => lost.some(([e]) => e === "the daemon closed the connection"), 5000, "the loss");
  } finally {
    link.close();
  }
});
