/** The human renderings of daemon status, on fixed input. */
import { describe, expect, test } from "bun:test";
import { duration, renderStatus, statusRow, table } from "../../src/cli/format.ts";
import type { DaemonStatus, ServerStatus } from "../../src/runtime/status.ts";

function server(over: Partial<ServerStatus> & { name: string }): ServerStatus {
  return {
    state: "running",
    reason: null,
    pid: null,
    socket: `/tmp/${over.name}.sock`,
    clients: { connected: 0, active: 0, waiting: 0, max: 5 },
    pending: 0,
    served: 0,
    timeouts: 0,
    restarts: 0,
    lastRestartReason: null,
    uptimeMs: null,
    heartbeat: { enabled: false, latencyMs: null, failures: 0 },
    command: ["bun", "server.ts"],
    limits: { maxActiveClients: 5, maxConnections: 256, maxRequestBytes: 1048576, requestTimeoutMs: 30000, lazyStart: false },
    stderrTail: [],
    ...over,
  };
}

const H = 3_600_000;

describe("duration", () => {
  test.each([
    [null, "-"],
    [0, "0s"],
    [999, "0s"],
    [1000, "1s"],
    [59_999, "59s"],
    [60_000, "1m00s"],
    [61_000, "1m01s"],
    [3_599_999, "59m59s"],
    [H, "1h00m"],
    [H + 2 * 60_000 + 3000, "1h02m"],
    [48 * H - 1, "47h59m"],
    [48 * H, "2d00h"],
    [49.5 * H, "2d01h"],
    [(10 * 24 + 5) * H, "10d05h"],
  ] as const)("%p ms -> %s", (ms, want) => {
    expect(duration(ms)).toBe(want);
  });
});

describe("statusRow", () => {
  test("a running server with clients and a measured heartbeat", () => {
    const row = statusRow(
      server({
        name: "mem",
        pid: 100,
        clients: { connected: 2, active: 2, waiting: 0, max: 5 },
        pending: 1,
        served: 42,
        restarts: 2,
        uptimeMs: 65_000,
        heartbeat: { enabled: true, latencyMs: 12.34, failures: 0 },
      }),
    );
    expect(row).toEqual(["mem", "running", "100", "2 (2/5 active)", "1", "42", "2", "1m05s", "12.34ms"]);
  });

  test("no pid, requests waiting for a slot, heartbeat not yet measured, heartbeat off", () => {
    const waiting = statusRow(
      server({
        name: "gh",
        state: "backoff",
        clients: { connected: 7, active: 5, waiting: 3, max: 5 },
        heartbeat: { enabled: true, latencyMs: null, failures: 1 },
      }),
    );
    expect(waiting).toEqual(["gh", "backoff", "-", "7 (5/5 active, 3 waiting)", "0", "0", "0", "-", "…"]);
    expect(statusRow(server({ name: "x" }))[8]).toBe("off");
  });
});

describe("table", () => {
  test("columns padded to the widest cell, two spaces apart, no trailing spaces", () => {
    expect(table(["A", "BB", "C"], [["long", "x", ""], ["y", "zzz", "w"]])).toBe(
      ["A     BB   C", "long  x", "y     zzz  w"].join("\n"),
    );
  });
});

describe("renderStatus", () => {
  const fixed: DaemonStatus = {
    version: "1.2.3",
    commit: "abc1234",
    pid: 4242,
    uptimeMs: H + 2 * 60_000,
    statusSocket: "/tmp/d.sock",
    servers: [
      server({
        name: "mem",
        pid: 100,
        clients: { connected: 2, active: 2, waiting: 0, max: 5 },
        pending: 1,
        served: 42,
        uptimeMs: 65_000,
        heartbeat: { enabled: true, latencyMs: 1.5, failures: 0 },
      }),
      server({
        name: "github-long-name",
        state: "backoff",
        clients: { connected: 7, active: 5, waiting: 3, max: 5 },
        served: 1234,
        restarts: 3,
        lastRestartReason: "exit code 1",
        reason: "exit code 1; restarting in 400 ms",
        heartbeat: { enabled: true, latencyMs: null, failures: 2 },
      }),
      server({ name: "lazy", state: "lazy", restarts: 1, lastRestartReason: "restarted by an operator" }),
    ],
  };

  test("header line, aligned table, then one note per server with a reason or a past restart", () => {
    expect(renderStatus(fixed)).toBe(
      [
        "rmcp-mux 1.2.3 (abc1234) · pid 4242 · up 1h02m · 3 server(s)",
        "",
        "SERVER            STATE    PID  CLIENTS                    PENDING  SERVED  RESTARTS  UPTIME  HEARTBEAT",
        "mem               running  100  2 (2/5 active)             1        42      0         1m05s   1.5ms",
        "github-long-name  backoff  -    7 (5/5 active, 3 waiting)  0        1234    3         -       …",
        "lazy              lazy     -    0 (0/5 active)             0        0       1         -       off",
        "",
        "  github-long-name: exit code 1; restarting in 400 ms",
        "  lazy: last restart: restarted by an operator",
      ].join("\n"),
    );
  });

  test("clients by protocol version, per server that has any", () => {
    const mixed = server({ name: "mem", clients: { connected: 3, active: 3, waiting: 0, max: 5, versions: { "2026-07-28": 2, "2025-06-18": 1 } } });
    const out = renderStatus({ ...fixed, servers: [mixed] });
    expect(out.split("\n").slice(-2)).toEqual(["clients by protocol version:", "  mem: 2026-07-28 ×2, 2025-06-18 ×1"]);
  });

  test("npx servers: the command that runs and how it was launched", () => {
    const npx = server({
      name: "mem",
      command: ["/usr/bin/node", "/c/_npx/1/node_modules/.bin/mcp-server-memory"],
      launch: "npx resolved to @x/mem 1.0.0; started without npm",
    });
    expect(renderStatus({ ...fixed, servers: [npx] }).split("\n").slice(-2)).toEqual([
      "npx servers:",
      "  mem: /usr/bin/node /c/_npx/1/node_modules/.bin/mcp-server-memory (npx resolved to @x/mem 1.0.0; started without npm)",
    ]);
  });

  test("sharing: each server's policy and why; the instances of a server that runs several", () => {
    const shared = server({ name: "mem", sharing: { share: "auto", policy: "shared", reason: "no sign yet", maxInstances: 8, instances: [] } });
    const fs = server({
      name: "fs",
      sharing: {
        share: "per-workspace",
        policy: "per-workspace",
        reason: 'share = "per-workspace" in the config',
        maxInstances: 8,
        instances: [
          { key: "file:///ws/a", pid: 11, cwd: "/ws/a", clients: 3 },
          { key: "global", pid: null, cwd: null, clients: 0 },
        ],
      },
    });
    expect(renderStatus({ ...fixed, servers: [shared, fs] }).split("\n").slice(-5)).toEqual([
      "sharing:",
      "  mem: shared (auto): no sign yet",
      '  fs: per-workspace: share = "per-workspace" in the config; 2/8 instance(s)',
      "    file:///ws/a  pid 11  3 client(s)  in /ws/a",
      "    global  pid -  0 client(s)",
    ]);
  });

  test("no notes section when nothing has a reason or a restart; no servers still renders the header", () => {
    const quiet = renderStatus({ ...fixed, servers: [fixed.servers[0]!] });
    expect(quiet.split("\n")).toHaveLength(4);
    expect(quiet.endsWith("1.5ms")).toBe(true);
    const empty = renderStatus({ ...fixed, uptimeMs: 5_000, servers: [] });
    expect(empty).toBe(
      ["rmcp-mux 1.2.3 (abc1234) · pid 4242 · up 5s · 0 server(s)", "", "SERVER  STATE  PID  CLIENTS  PENDING  SERVED  RESTARTS  UPTIME  HEARTBEAT"].join("\n"),
    );
  });
});
