/** The pure part of config reload: which servers a new config adds, removes, changes or leaves alone. */
import { describe, expect, test } from "bun:test";
import type { ServerConfig } from "../../src/config/schema.ts";
import { deepEqual, describeReload, diffConfigs, ReloadError } from "../../src/runtime/reload.ts";

/** A resolved server config, as the `check` child hands it to the daemon (every default filled in). */
function server(name: string, over: Partial<ServerConfig> = {}): ServerConfig {
  return {
    name,
    socket: `/tmp/rl/${name}.sock`,
    cmd: "bun",
    args: ["fixture.ts"],
    env: {},
    max_active_clients: 5,
    lazy_start: false,
    max_request_bytes: 1048576,
    request_timeout_ms: 30000,
    restart_backoff_ms: 1000,
    restart_backoff_max_ms: 30000,
    max_restarts: 5,
    tray: false,
    max_response_bytes: 67108864,
    max_client_buffer_bytes: 33554432,
    stable_run_ms: 10000,
    shutdown_grace_ms: 2000,
    heartbeat: false,
    heartbeat_interval_ms: 30000,
    heartbeat_timeout_ms: 5000,
    heartbeat_max_failures: 3,
    launch: "resolve",
    ...over,
  };
}

/** The JSON round trip the config takes from the check child: equal data, fresh objects, keys maybe reordered. */
const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const names = (cs: ServerConfig[]) => cs.map((c) => c.name);

describe("diffConfigs", () => {
  test("added, removed, changed and unchanged, by name", () => {
    const cur = [server("a"), server("b"), server("d")];
    const next = [server("a"), server("c"), server("d", { request_timeout_ms: 5000 })];
    const plan = diffConfigs(cur, next);
    expect(names(plan.added)).toEqual(["c"]);
    expect(plan.removed).toEqual(["b"]);
    expect(names(plan.changed)).toEqual(["d"]);
    expect(plan.changed[0]!.request_timeout_ms).toBe(5000); // the new config, not the old one
    expect(plan.unchanged).toEqual(["a"]);
  });

  test("the same config (a fresh copy, keys in another order) is unchanged", () => {
    const cur = [server("a", { env: { X: "1", Y: "2" } }), server("b", { cwd: "/srv" })];
    const reordered = cur.map((c) => Object.fromEntries(Object.entries(viaJson(c)).reverse()) as ServerConfig);
    reordered[0]!.env = { Y: "2", X: "1" };
    const plan = diffConfigs(cur, reordered);
    expect(plan).toEqual({ added: [], removed: [], changed: [], unchanged: ["a", "b"] });
  });

  test.each([
    ["socket", { socket: "/tmp/rl/elsewhere.sock" }],
    ["cmd", { cmd: "node" }],
    ["args (one more)", { args: ["fixture.ts", "--x"] }],
    ["args (same items, other order)", { args: ["b", "a"] }],
    ["env value", { env: { X: "2" } }],
    ["env key added", { env: { X: "1", Y: "" } }],
    ["cwd added", { cwd: "/srv" }],
    ["status_file added", { status_file: "/tmp/rl/a.json" }],
    ["max_active_clients", { max_active_clients: 6 }],
    ["lazy_start", { lazy_start: true }],
    ["heartbeat", { heartbeat: true }],
    ["shutdown_grace_ms", { shutdown_grace_ms: 0 }],
  ] as [string, Partial<ServerConfig>][])("a change of %s is a change", (_what, over) => {
    const base = server("a", { env: { X: "1" }, args: ["a", "b"] });
    const plan = diffConfigs([base], [{ ...viaJson(base), ...over }]);
    expect(names(plan.changed)).toEqual(["a"]);
    expect(plan.unchanged).toEqual([]);
  });

  test("a key removed (cwd back to the default) is a change", () => {
    const plan = diffConfigs([server("a", { cwd: "/srv" })], [server("a")]);
    expect(names(plan.changed)).toEqual(["a"]);
  });

  test("order: added/changed/unchanged follow the new config, removed the running one", () => {
    const cur = [server("z"), server("y"), server("m"), server("k")];
    const next = [server("n"), server("k", { max_restarts: 0 }), server("b"), server("m", { tray: true }), server("z")];
    const plan = diffConfigs(cur, next);
    expect(names(plan.added)).toEqual(["n", "b"]);
    expect(names(plan.changed)).toEqual(["k", "m"]);
    expect(plan.unchanged).toEqual(["z"]);
    expect(plan.removed).toEqual(["y"]);
  });

  test("from nothing, to nothing, and a rename (= one removed, one added)", () => {
    expect(names(diffConfigs([], [server("a"), server("b")]).added)).toEqual(["a", "b"]);
    expect(diffConfigs([server("a"), server("b")], []).removed).toEqual(["a", "b"]);
    const renamed = diffConfigs([server("old", { socket: "/tmp/rl/s.sock" })], [server("new", { socket: "/tmp/rl/s.sock" })]);
    expect(renamed.removed).toEqual(["old"]);
    expect(names(renamed.added)).toEqual(["new"]);
    expect(renamed.changed).toEqual([]);
  });

  test("two servers trading sockets are both changed", () => {
    const cur = [server("a", { socket: "/tmp/rl/1.sock" }), server("b", { socket: "/tmp/rl/2.sock" })];
    const next = [server("a", { socket: "/tmp/rl/2.sock" }), server("b", { socket: "/tmp/rl/1.sock" })];
    expect(names(diffConfigs(cur, next).changed)).toEqual(["a", "b"]);
  });

  test("a new config naming a server twice, or two servers on one socket, is refused", () => {
    expect(() => diffConfigs([], [server("a"), server("a", { socket: "/tmp/rl/x.sock" })])).toThrow(ReloadError);
    expect(() => diffConfigs([], [server("a"), server("a", { socket: "/tmp/rl/x.sock" })])).toThrow("appears twice");
    const clash = () => diffConfigs([], [server("a"), server("b", { socket: "/tmp/rl/a.sock" })]);
    expect(clash).toThrow(ReloadError);
    expect(clash).toThrow("servers a and b are on the same socket /tmp/rl/a.sock");
  });

  test("the inputs are not modified", () => {
    const cur = [server("a"), server("b")];
    const next = [server("a", { max_restarts: 1 }), server("c")];
    const before = viaJson({ cur, next });
    diffConfigs(cur, next);
    expect({ cur, next }).toEqual(before);
  });
});

describe("deepEqual", () => {
  test.each([
    [1, 1, true],
    [1, 2, false],
    ["a", "a", true],
    [null, null, true],
    [null, {}, false],
    [undefined, null, false],
    [[], {}, false],
    [[1, 2], [1, 2], true],
    [[1, 2], [2, 1], false],
    [[1, 2], [1, 2, 3], false],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: undefined }, { b: undefined }, true],
    [{ a: { b: [1, { c: "x" }] } }, { a: { b: [1, { c: "x" }] } }, true],
    [{ a: { b: [1, { c: "x" }] } }, { a: { b: [1, { c: "y" }] } }, false],
    [{ a: "1" }, { a: 1 }, false],
    [{ a: false }, { a: 0 }, false],
  ] as [unknown, unknown, boolean][])("%p vs %p -> %p", (a, b, want) => {
    expect(deepEqual(a, b)).toBe(want);
    expect(deepEqual(b, a)).toBe(want);
  });
});

describe("describeReload", () => {
  test("names each group, leaves out empty ones, and reports failures", () => {
    expect(describeReload({ added: ["c"], removed: ["b"], changed: [], unchanged: ["a", "d"], failed: [] })).toBe(
      "added c; removed b; unchanged a, d",
    );
    expect(
      describeReload({ added: ["c"], removed: [], changed: [], unchanged: [], failed: [{ name: "c", error: "busy" }] }),
    ).toBe("added c; FAILED to start c: busy");
    expect(describeReload({ added: [], removed: [], changed: [], unchanged: [], failed: [] })).toBe("no servers");
  });
});
