/**
 * The daemon's sequencing (start, stop, reload) over fake children and fronts: which servers start, stop and
 * keep running, in what order, without a process or a socket.
 */
import { describe, expect, test } from "bun:test";
import { startDaemon } from "../../src/runtime/daemon.ts";
import { ReloadError } from "../../src/runtime/reload.ts";
import { fakeDeps, serverConfig } from "./fakes.ts";

const cfg = (name: string, over = {}) => serverConfig(name, { socket: `/nonexistent-mux-test/${name}.sock`, ...over });

describe("daemon sequencing", () => {
  test("start binds every server and starts each child; stop ends them all, removes the fronts and resolves done", async () => {
    const f = fakeDeps();
    const d = await startDaemon([cfg("a"), cfg("b")], { serverDeps: f.deps });
    expect([...f.fronts.keys()]).toEqual(["a", "b"]);
    expect(f.children.map((c) => c.spec.cmd)).toEqual(["bun", "bun"]);
    expect(d.status().servers.map((s) => [s.name, s.state])).toEqual([["a", "running"], ["b", "running"]]);
    let done = false;
    void d.done.then(() => (done = true));
    await d.stop();
    await Promise.resolve();
    expect(done).toBe(true);
    expect(f.children.every((c) => c.exited)).toBe(true);
    for (const front of f.fronts.values()) expect(front.stopped).toEqual([false, true]);
  });

  test("a server that cannot bind fails the start: the error names it, and the servers that did start are stopped", async () => {
    const f = fakeDeps(["b"]);
    const err = await startDaemon([cfg("a"), cfg("b")], { serverDeps: f.deps }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as Error).message).toContain("/nonexistent-mux-test/b.sock: in use");
    expect(f.children.map((c) => c.exited)).toEqual([true]);
    expect(f.fronts.get("a")!.stopped).toEqual([false, true]);
  });

  test("reload: unchanged keeps its child, changed is replaced, removed stops, added starts, in the new order", async () => {
    const f = fakeDeps();
    const d = await startDaemon([cfg("keep"), cfg("change"), cfg("drop")], { serverDeps: f.deps });
    const [keep, change, drop] = f.children;
    const summary = await d.reload([cfg("add"), cfg("change", { args: ["other.ts"] }), cfg("keep")]);
    expect(summary).toEqual({ added: ["add"], removed: ["drop"], changed: ["change"], unchanged: ["keep"], failed: [] });
    expect(keep!.exited).toBe(false);
    expect(change!.exited).toBe(true);
    expect(drop!.exited).toBe(true);
    // added and changed servers start in that order
    expect(f.children.slice(3).map((c) => c.spec.args)).toEqual([["fixture.ts"], ["other.ts"]]);
    expect([...d.servers.keys()]).toEqual(["add", "change", "keep"]);
    expect(d.status().servers.find((s) => s.name === "keep")!.pid).toBe(keep!.pid);
    await d.stop();
  });

  test("reloads run one after the other, and none is applied once the daemon is stopping", async () => {
    const f = fakeDeps();
    const d = await startDaemon([cfg("a")], { serverDeps: f.deps });
    const first = d.reload([cfg("a"), cfg("b")]);
    const second = d.reload([cfg("a")]);
    expect((await first).added).toEqual(["b"]);
    expect((await second).removed).toEqual(["b"]);
    await d.stop();
    expect(await d.reload([cfg("a"), cfg("c")]).catch((e: unknown) => e)).toBeInstanceOf(ReloadError);
    expect([...f.fronts.keys()]).toEqual(["a", "b"]);
  });

  test("reloadConfig without a loader is refused and changes nothing", async () => {
    const f = fakeDeps();
    const d = await startDaemon([cfg("a")], { serverDeps: f.deps });
    const outcome = await d.reloadConfig();
    expect(outcome).toEqual({ ok: false, error: "this daemon was not started from a config file" });
    expect(f.children.map((c) => c.exited)).toEqual([false]);
    await d.stop();
  });
});
