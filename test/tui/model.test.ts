/** The dashboard's reducer, without a terminal: status events and keys in, model and effects out. */
import { describe, expect, test } from "bun:test";
import { initialModel, type Key, keyOf, type Model, type Msg, update } from "../../src/tui/model.ts";
import { daemon, server } from "./fixtures.ts";

const run = (m: Model, ...msgs: Msg[]) => msgs.reduce((acc, msg) => update(acc, msg)[0], m);
const status = (...args: Parameters<typeof daemon>): Msg => ({ type: "status", status: daemon(...args) });
const key = (k: Key): Msg => ({ type: "key", key: k });
const two = status([server("mem", { pid: 11 }), server("files", { pid: 22 })]);

describe("keys", () => {
  test("the issue's key map, by typed character first, then key name", () => {
    expect(keyOf("j", "j", false)).toBe("down");
    expect(keyOf("down", "\x1b[B", false)).toBe("down");
    expect(keyOf("k", "k", false)).toBe("up");
    expect(keyOf("up", "\x1b[A", false)).toBe("up");
    expect(keyOf("r", "r", false)).toBe("restart");
    expect(keyOf("s", "s", false)).toBe("stop");
    expect(keyOf("s", "S", false)).toBe("start");
    expect(keyOf("q", "q", false)).toBe("quit");
    expect(keyOf("escape", "\x1b", false)).toBe("escape");
    expect(keyOf("?", "?", false)).toBe("help");
    expect(keyOf("c", "\x03", true)).toBe("quit");
    expect(keyOf("x", "x", false)).toBeNull();
    expect(keyOf("r", "\x12", true)).toBeNull();
  });
});

describe("selection", () => {
  test("the first server is selected; j/k move and stop at the ends", () => {
    let m = run(initialModel("/s"), two);
    expect(m.selected).toBe("mem");
    m = run(m, key("down"), key("down"));
    expect(m.selected).toBe("files");
    m = run(m, key("up"), key("up"), key("up"));
    expect(m.selected).toBe("mem");
  });

  test("the selection follows the server's name, and falls back to the first when it disappears", () => {
    let m = run(initialModel("/s"), two, key("down"));
    m = run(m, status([server("files"), server("mem")]));
    expect(m.selected).toBe("files");
    m = run(m, status([server("mem")]));
    expect(m.selected).toBe("mem");
  });
});

describe("requests per second", () => {
  test("computed from served deltas on the daemon's clock, unknown until 0.9 s of readings", () => {
    let m = run(initialModel("/s"), status([server("mem", { served: 10 })], { uptimeMs: 1000 }));
    expect(m.rps.mem).toBeNull();
    m = run(m, status([server("mem", { served: 12 })], { uptimeMs: 1500 }));
    expect(m.rps.mem).toBeNull();
    m = run(m, status([server("mem", { served: 30 })], { uptimeMs: 3000 }));
    expect(m.rps.mem).toBeCloseTo(10, 5); // 20 requests over 2 s
  });

  test("old readings leave the 5 s window (the newest old one stays); a counter reset or another daemon starts over", () => {
    let m = run(
      initialModel("/s"),
      status([server("mem", { served: 0 })], { uptimeMs: 0 }),
      status([server("mem", { served: 100 })], { uptimeMs: 1000 }),
      status([server("mem", { served: 100 })], { uptimeMs: 7000 }),
    );
    expect(m.samples.mem).toEqual([{ t: 1000, served: 100 }, { t: 7000, served: 100 }]);
    expect(m.rps.mem).toBe(0);
    m = run(m, status([server("mem", { served: 40 })], { uptimeMs: 8000 }));
    expect(m.samples.mem).toEqual([{ t: 8000, served: 40 }]);
    expect(m.rps.mem).toBeNull();
    m = run(m, status([server("mem", { served: 50 })], { pid: 99, uptimeMs: 9000 }));
    expect(m.samples.mem).toEqual([{ t: 9000, served: 50 }]);
  });
});

describe("actions", () => {
  test("r sends a restart for the selected server with its pid; the answer becomes the status line", () => {
    const m = run(initialModel("/s"), { type: "connected" }, two, key("down"));
    const [, effect] = update(m, { type: "key", key: "restart" });
    expect(effect).toEqual({ type: "send", cmd: "restart", name: "files", pidBefore: 22 });
    const sent = run(m, { type: "sent", cmd: "restart", name: "files" });
    expect(sent.message).toEqual({ text: "restarting files…", tone: "info" });
    const done = run(sent, { type: "result", cmd: "restart", name: "files", pidBefore: 22, answer: { ok: true, server: server("files", { pid: 33 }) } });
    expect(done.message).toEqual({ text: "restarted files: pid 22 → 33", tone: "ok" });
  });

  test("s and S send stop and start; the daemon's error is shown as an error", () => {
    const m = run(initialModel("/s"), two);
    expect(update(m, { type: "key", key: "stop" })[1]).toMatchObject({ cmd: "stop", name: "mem" });
    expect(update(m, { type: "key", key: "start" })[1]).toMatchObject({ cmd: "start", name: "mem" });
    const failed = run(m, { type: "result", cmd: "stop", name: "mem", pidBefore: 11, answer: { ok: false, error: "unknown server" } });
    expect(failed.message).toEqual({ text: "stop mem failed: unknown server", tone: "error" });
    const stopped = run(m, { type: "result", cmd: "stop", name: "mem", pidBefore: 11, answer: { ok: true, server: server("mem", { state: "stopped", pid: null }) } });
    expect(stopped.message?.text).toBe("stopped mem (was pid 11); now stopped");
  });

  test("without a daemon nothing is sent and the status line says so", () => {
    const m = run(initialModel("/s"), two, { type: "lost", error: "nothing answers", retryMs: 500, attempt: 2 });
    expect(m.link).toEqual({ state: "lost", detail: "nothing answers; reconnecting in 0.5s (attempt 2)" });
    const [after, effect] = update(m, { type: "key", key: "restart" });
    expect(effect).toBeNull();
    expect(after.message).toEqual({ text: "restart: not connected to the daemon, nothing sent", tone: "error" });
    expect(run(after, two).link.state).toBe("connected");
  });

  test("q quits; ? toggles help; Esc closes help first, then quits", () => {
    const m = run(initialModel("/s"), two);
    expect(update(m, { type: "key", key: "quit" })[1]).toEqual({ type: "quit" });
    const help = run(m, key("help"));
    expect(help.help).toBe(true);
    const [closed, none] = update(help, { type: "key", key: "escape" });
    expect([closed.help, none]).toEqual([false, null]);
    expect(update(closed, { type: "key", key: "escape" })[1]).toEqual({ type: "quit" });
  });
});
