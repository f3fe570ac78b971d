/**
 * The dashboard, headless (opentui's test renderer), against a REAL daemon and its control socket:
 * frames are captured and read, keys are pressed, and the daemon is asked what really happened.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createTestRenderer, type TestRendererSetup } from "@opentui/core/testing";
import path from "node:path";
import { controlRequest } from "../../src/control/client.ts";
import { type Dashboard, startDashboard } from "../../src/tui/app.ts";
import { BUN, cleanup, FIXTURE, pidAlive, RawClient, startDaemon, trackPid, writeConfig } from "../e2e/harness.ts";
import { rowOf, statusLineOf, waitForScreen } from "./frames.ts";

// Bun 1.4.5 ignores bunfig.toml's [test] timeout (the default stays 5 s); real daemons under load need more.

let setup: TestRendererSetup | null = null;
let dash: Dashboard | null = null;

afterEach(async () => {
  await dash?.quit();
  setup?.renderer.destroy();
  dash = setup = null;
  await cleanup();
});

async function boot(width = 120, height = 30) {
  const cfg = writeConfig(undefined, {
    mem: { heartbeat: true, heartbeat_interval_ms: 200 },
    files: { lazy_start: true, max_active_clients: 2 },
  });
  const control = path.join(cfg.dir, "daemon.sock");
  const daemon = await startDaemon(cfg.configPath, [], { waitSockets: [...Object.values(cfg.sockets), control] });
  setup = await createTestRenderer({ width, height, exitOnCtrlC: false });
  dash = await startDashboard({ socket: control, renderer: setup.renderer, backoff: { initialMs: 50, maxMs: 200 } });
  const s = setup;
  const screen = (pred: (f: string) => boolean, what: string, timeoutMs?: number) =>
    waitForScreen(async () => (await s.renderOnce(), s.captureCharFrame()), pred, what, timeoutMs);
  const status = async () => {
    const a = await controlRequest(control, { cmd: "status" });
    if (!a.ok || !a.status) throw new Error(`no status: ${JSON.stringify(a)}`);
    return a.status;
  };
  return { cfg, control, daemon, screen, status, keys: s.mockInput };
}

describe("dashboard against a real daemon", () => {
  test("shows each server's state, pid, clients and heartbeat, and the selected server's details", async () => {
    const { cfg, daemon, screen, status } = await boot();
    const pid = (await status()).servers.find((s) => s.name === "mem")!.pid!;
    trackPid(pid);
    const frame = await screen((f) => /^\d+(\.\d)?ms$/.test(rowOf(f, "mem")?.heartbeat ?? ""), "a measured heartbeat");
    expect(frame).toContain(`daemon pid ${daemon.proc.pid}`);
    expect(rowOf(frame, "mem")).toMatchObject({ state: "● running", pid: String(pid), clients: "0 (0/5)", pending: "0", restarts: "0", lastRestart: "-" });
    expect(rowOf(frame, "files")).toMatchObject({ state: "● lazy", pid: "-", clients: "0 (0/2)", uptime: "-", heartbeat: "off" });
    expect(frame).toContain("─ mem ─");
    expect(frame).toContain(`│command   ${BUN} ${FIXTURE}`);
    expect(frame).toContain(`│socket    ${cfg.sockets.mem}`);
    expect(frame).toContain("│limits    max 5 active clients · 256 connections · requests ≤ ");
    await screen((f) => f.includes(`  fixture started pid=${pid}`), "the child's stderr in the detail pane");
  });

  test("r restarts the selected server: the next frame shows the new pid, the count and the reason", async () => {
    const { screen, status, keys } = await boot();
    const before = rowOf(await screen((f) => rowOf(f, "mem")?.state === "● running", "mem running"), "mem")!;
    keys.pressKey("r");
    const frame = await screen((f) => rowOf(f, "mem")?.restarts === "1" && rowOf(f, "mem")?.pid !== before.pid, "the restart");
    const after = rowOf(frame, "mem")!;
    trackPid(Number(after.pid));
    expect(after).toMatchObject({ state: "● running", lastRestart: "restarted by an operator" });
    const mem = (await status()).servers.find((s) => s.name === "mem")!;
    expect([mem.restarts, String(mem.pid)]).toEqual([1, after.pid]);
    expect(pidAlive(Number(before.pid))).toBe(false);
    await screen((f) => statusLineOf(f) === `restarted mem: pid ${before.pid} → ${after.pid}`, "the restart's result");
  });

  test("j selects the next server; S starts it and s stops it, each result in the status line", async () => {
    const { screen, status, keys } = await boot();
    await screen((f) => rowOf(f, "files") !== null, "the table");
    keys.pressKey("j");
    await screen((f) => f.includes("─ files ─"), "files selected");
    keys.pressKey("S");
    const started = await screen((f) => /^started files: running, pid \d+$/.test(statusLineOf(f)), "the start's result");
    const pid = Number(statusLineOf(started).split(" ").pop());
    trackPid(pid);
    await screen((f) => rowOf(f, "files")?.pid === String(pid), "files' pid in the table");
    keys.pressKey("s");
    await screen((f) => statusLineOf(f) === `stopped files (was pid ${pid}); now stopped`, "the stop's result");
    await screen((f) => rowOf(f, "files")?.state === "● stopped", "files stopped in the table");
    expect((await status()).servers.find((s) => s.name === "files")?.state).toBe("stopped");
    keys.pressKey("k");
    await screen((f) => f.includes("─ mem ─"), "mem selected again");
  });

  test("clients and requests per second come from the live event stream", async () => {
    const { cfg, screen } = await boot();
    const client = await RawClient.connect(cfg.sockets.mem!);
    await client.initialize();
    for (let i = 0; i < 40; i++) await client.callTool("echo", { text: `n${i}` });
    const frame = await screen((f) => Number(rowOf(f, "mem")?.rps) > 0 && rowOf(f, "mem")?.clients === "1 (0/5)", "a request rate");
    // one connection, idle once its calls were answered: it holds none of the 5 slots
    expect(Number(rowOf(frame, "mem")!.rps)).toBeLessThan(1000);
  });

  test("when the daemon goes away it says so, sends nothing, and reconnects to the next one", async () => {
    const { cfg, control, daemon, screen, keys } = await boot();
    await screen((f) => f.includes(`daemon pid ${daemon.proc.pid}`), "the first daemon");
    expect(await daemon.stop("SIGTERM")).toBe(0);
    await screen((f) => f.includes("DAEMON GONE") && f.includes("servers (last known)"), "the daemon gone");
    keys.pressKey("r");
    await screen((f) => statusLineOf(f) === "restart: not connected to the daemon, nothing sent", "the refused restart");
    const next = await startDaemon(cfg.configPath, [], { waitSockets: [control] });
    const frame = await screen((f) => f.includes(`daemon pid ${next.proc.pid}`), "the new daemon");
    expect(frame).not.toContain("DAEMON GONE");
  });

  test("a resize re-lays the screen out to the new size", async () => {
    const { screen } = await boot(120, 30);
    await screen((f) => f.includes("LAST RESTART") && rowOf(f, "mem") !== null, "the full table");
    setup!.resize(60, 16);
    const small = await screen((f) => f.split("\n")[1]?.length === 60, "a 60-column frame");
    const lines = small.split("\n");
    expect(lines[1]).toMatch(/^┌─ servers ─+┐$/);
    expect(lines.find((l) => l.startsWith("│mem "))).toMatch(/…│$/);
    expect(small).not.toContain("LAST RESTART");
    setup!.resize(130, 30);
    await screen((f) => f.split("\n")[1]?.length === 130 && f.includes("LAST RESTART"), "the wide table again");
  });

  test("? shows the keys, Esc closes them; q quits and leaves the daemon running", async () => {
    const { daemon, screen, status, keys } = await boot();
    await screen((f) => f.includes("─ mem ─"), "the dashboard");
    keys.pressKey("?");
    await screen((f) => f.includes("─ keys ─") && f.includes("j / ↓     select the next server"), "the help");
    keys.pressEscape();
    await screen((f) => f.includes("─ mem ─") && !f.includes("─ keys ─"), "the help closed");
    keys.pressKey("q");
    await dash!.done;
    expect(daemon.proc.exitCode).toBeNull();
    expect((await status()).pid).toBe(daemon.proc.pid);
  });

  test("Ctrl+C quits too", async () => {
    const { screen, keys } = await boot();
    await screen((f) => f.includes("─ mem ─"), "the dashboard");
    keys.pressCtrlC();
    await dash!.done;
    expect(dash!.model().status?.servers.length).toBe(2);
  });
});
