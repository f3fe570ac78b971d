/**
 * `rmcp-mux check` shows each server's `share`: the configured value, and the policy in force with its reason
 * when a running daemon reports it (src/cli/share-policy.ts), on fixed input and through the real CLI.
 */
import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { shareLine } from "../../src/cli/share-policy.ts";
import type { SharingStatus } from "../../src/control/protocol.ts";
import { cleanup, runCli, startDaemon, tempDir, writeConfig } from "../e2e/harness.ts";

afterEach(cleanup);

const live = (over: Partial<SharingStatus>): SharingStatus => ({ share: "auto", policy: "shared", reason: "", maxInstances: 8, instances: [], ...over });

describe("shareLine", () => {
  test("without a daemon: a pinned value says what it means, auto says when it is decided", () => {
    expect(shareLine("per-client", undefined, false)).toBe('share = "per-client": one process per client');
    expect(shareLine("shared", undefined, false)).toBe('share = "shared": one process for every client');
    expect(shareLine("auto", undefined, false)).toBe(`share = "auto": decided when the server's first process starts (no daemon is running)`);
    expect(shareLine("auto", undefined, true)).toContain("(the running daemon does not report it)");
  });

  test("with the daemon's report: the decision and its reason, or that there is none yet", () => {
    const decided = live({ policy: "per-client", reason: "tool browser_navigate keeps per-session state", decided: true });
    expect(shareLine("auto", decided, true)).toBe('share = "auto": per-client, one process per client (tool browser_navigate keeps per-session state)');
    const pending = live({ reason: "no sign of state from the server yet", decided: false });
    expect(shareLine("auto", pending, true)).toBe('share = "auto": not decided yet, shared until the server shows something (no sign of state from the server yet)');
    const declared = live({ policy: "session-aware", reason: "declares x-mux sharing=session-aware", decided: true });
    expect(shareLine("auto", declared, true)).toContain("session-aware, one process; each request names its client's session");
  });

  test("a report without `decided` counts a pinned value as decided, and auto as not", () => {
    expect(shareLine("per-workspace", live({ share: "per-workspace", policy: "per-workspace", reason: 'share = "per-workspace" in the config' }), true)).toBe(
      'share = "per-workspace": per-workspace, one process per workspace (share = "per-workspace" in the config)',
    );
    expect(shareLine("auto", live({ reason: "r" }), true)).toStartWith('share = "auto": not decided yet');
  });

  test("a file changed since the daemon loaded it says so", () => {
    const l = shareLine("per-client", live({ share: "shared", reason: 'share = "shared" in the config', decided: true }), true);
    expect(l).toEndWith('(the daemon runs with share = "shared"; reload to apply this file)');
  });
});

describe("rmcp-mux check", () => {
  test("prints each server's share, with no daemon running and with one", async () => {
    const dir = tempDir();
    // b is pinned; a stays at the default, "auto"
    const cfg = writeConfig(dir, { a: {}, b: { share: "per-client" } });
    const offline = await runCli(["check", "--config", cfg.configPath], 20_000);
    expect(offline.code).toBe(0);
    const lines = offline.stdout.split("\n");
    expect(lines.filter((l) => l.includes("share = "))).toEqual([
      `${" ".repeat(19)}share = "auto": decided when the server's first process starts (no daemon is running)`,
      `${" ".repeat(19)}share = "per-client": one process per client`,
    ]);
    await startDaemon(cfg.configPath);
    const online = await runCli(["check", "--config", cfg.configPath], 20_000);
    expect(online.code).toBe(0);
    expect(online.stdout).toContain(path.basename(cfg.configPath));
    // a running daemon answers; whether it reports a decision depends on its version, never on a hang
    expect(online.stdout).not.toContain("no daemon is running");
    expect(online.stdout.split("\n").filter((l) => l.includes("share = "))).toHaveLength(2);
  }, 40_000);
});
