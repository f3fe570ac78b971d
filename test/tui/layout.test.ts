/** The dashboard's text for a given model and width: exact strings, no terminal. */
import { describe, expect, test } from "bun:test";
import { detail, fit, header, latency, rate, statusLine, table } from "../../src/tui/layout.ts";
import { initialModel, type Model, type Msg, update } from "../../src/tui/model.ts";
import { daemon, server } from "./fixtures.ts";

const run = (m: Model, ...msgs: Msg[]) => msgs.reduce((acc, msg) => update(acc, msg)[0], m);

const busy = server("mem", {
  pid: 4242,
  clients: { connected: 4, active: 4, waiting: 2, max: 4 },
  pending: 3,
  served: 120,
  restarts: 2,
  lastRestartReason: "child exited with code 3",
  uptimeMs: 65_000,
  heartbeat: { enabled: true, latencyMs: 12.4, failures: 0 },
  command: ["bun", "my server.ts", "--flag"],
  stderrTail: ["one", "two", "three", "four"],
});
const lazy = server("files", { state: "lazy", pid: null, uptimeMs: null });

function model(): Model {
  return run(
    initialModel("/tmp/mx/daemon.sock"),
    { type: "status", status: daemon([busy, lazy], { uptimeMs: 1000 }) },
    { type: "status", status: daemon([{ ...busy, served: 150 }, lazy], { uptimeMs: 3000 }) },
  );
}

describe("table", () => {
  test("one row per server with every column of the issue", () => {
    const t = table(model(), 200);
    expect(t.header.trimEnd()).toBe(
      "SERVER  STATE      PID   CLIENTS      PENDING  REQ/S  RESTARTS  UPTIME  HEARTBEAT  LAST RESTART",
    );
    expect(t.rows.map((r) => r.text.trimEnd())).toEqual([
      "mem     ● running  4242  4 (4/4) +2w  3        15.0   2         1m05s   12ms       child exited with code 3",
      "files   ● lazy     -     0 (0/4)      0        0.0    0         -       off        -",
    ]);
    expect(t.rows.map((r) => [r.name, r.state, r.selected])).toEqual([
      ["mem", "running", true],
      ["files", "lazy", false],
    ]);
    expect(t.rows[0]!.text.slice(t.rows[0]!.stateAt).startsWith("● running")).toBe(true);
  });

  test("every line is exactly the width: padded, or cut with an ellipsis", () => {
    for (const w of [20, 57, 120]) {
      const t = table(model(), w);
      for (const line of [t.header, ...t.rows.map((r) => r.text)]) expect([...line].length).toBe(w);
    }
    expect(table(model(), 20).rows[0]!.text).toBe("mem     ● running  …");
  });
});

describe("header, detail, status line", () => {
  test("the header names the daemon; without it, it says the daemon is gone and when it retries", () => {
    const m = model();
    expect(header(m, 100).trimEnd()).toBe(" rmcp-mux 9.9.9 · daemon pid 42 · up 3s · 2 server(s) · /tmp/mx/daemon.sock");
    const lost = run(m, { type: "lost", error: "nothing answers on the control socket", retryMs: 1000, attempt: 3 });
    expect(header(lost, 200)).toContain("DAEMON GONE: nothing answers on the control socket; reconnecting in 1.0s (attempt 3)");
    expect(statusLine(lost, 200)).toContain("daemon gone: nothing answers");
    expect(statusLine(m, 40).trimEnd()).toBe(" ? help · q quit");
  });

  test("the detail pane: command line (quoted), socket, limits, state, and the last stderr lines that fit", () => {
    const lines = detail(model(), 100, 7).map((l) => l.trimEnd());
    expect(lines).toEqual([
      "command   bun 'my server.ts' --flag",
      "socket    /tmp/mx/mem.sock",
      "limits    max 4 active clients · 256 connections · requests ≤ 1 MiB · timeout 30000 ms",
      "state     running · served 150 · timeouts 0 · heartbeat failures 0",
      "stderr",
      "  three",
      "  four",
    ]);
    expect(detail(model(), 100, 3)).toHaveLength(3);
  });

  test("an npx server's detail says how it was launched, under the command that runs", () => {
    const npx = { ...busy, command: ["/usr/bin/node", "/c/.bin/mcp"], launch: "npx resolved to mem 1.0.0; started without npm" };
    const m = run(initialModel("/tmp/mx/daemon.sock"), { type: "status", status: daemon([npx], { uptimeMs: 1000 }) });
    expect(detail(m, 100, 3).map((l) => l.trimEnd())).toEqual([
      "command   /usr/bin/node /c/.bin/mcp",
      "launch    npx resolved to mem 1.0.0; started without npm",
      "socket    /tmp/mx/mem.sock",
    ]);
  });

  test("the detail pane shows who shares the server, and why", () => {
    const sharing = { share: "auto" as const, policy: "per-client" as const, reason: "stateful tool names", maxInstances: 8, instances: [{ key: "client:1", pid: 7, cwd: null, clients: 1 }] };
    const m = run(initialModel("/tmp/mx/daemon.sock"), { type: "status", status: daemon([{ ...busy, sharing }], { uptimeMs: 1000 }) });
    expect(detail(m, 100, 6)[4]!.trimEnd()).toBe("sharing   per-client: stateful tool names · 1/8 instance(s)");
  });

  test("small formatters", () => {
    expect(fit("abcdef", 4)).toBe("abc…");
    expect(fit("ab", 4)).toBe("ab  ");
    expect([rate(null), rate(0.25), rate(1234.5)]).toEqual(["-", "0.3", "1235"]);
    expect(latency({ enabled: true, latencyMs: 0.55, failures: 0 })).toBe("0.6ms");
    expect(latency({ enabled: true, latencyMs: null, failures: 0 })).toBe("…");
    expect(latency({ enabled: false, latencyMs: 3, failures: 0 })).toBe("off");
  });
});
