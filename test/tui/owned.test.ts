/** How `--tui` runs the daemon again as its own child: the command line, compiled or not. */
import { describe, expect, test } from "bun:test";
import { isCompiled, selfCommand } from "../../src/cli/self.ts";
import { daemonFlags } from "../../src/tui/owned.ts";

describe("the daemon's command line under --tui", () => {
  test("a compiled binary (entry point in Bun's /$bunfs) runs itself; bun runs the script again", () => {
    expect(isCompiled(["bun", "/$bunfs/root/rmcp-mux", "--tui"])).toBe(true);
    expect(isCompiled(["bun", "B:/~BUN/root/rmcp-mux.exe"])).toBe(true);
    expect(isCompiled(["/usr/bin/bun", "/repo/src/cli/main.ts"])).toBe(false);
    expect(selfCommand(["--config", "m.toml"], ["bun", "/$bunfs/root/rmcp-mux"], "/opt/rmcp-mux")).toEqual(["/opt/rmcp-mux", "--config", "m.toml"]);
    expect(selfCommand(["--config", "m.toml"], ["/usr/bin/bun", "/repo/src/cli/main.ts"], "/usr/bin/bun")).toEqual([
      "/usr/bin/bun",
      "/repo/src/cli/main.ts",
      "--config",
      "m.toml",
    ]);
  });

  test("the daemon gets the user's flags, never --tui", () => {
    expect(daemonFlags({ config: "m.toml", only: "a,b", "status-socket": "/tmp/d.sock", tui: true } as never)).toEqual([
      "--config",
      "m.toml",
      "--only",
      "a,b",
      "--status-socket",
      "/tmp/d.sock",
    ]);
    expect(daemonFlags({ config: "m.toml", except: "c" })).toEqual(["--config", "m.toml", "--except", "c"]);
  });
});
