import { describe, expect, test } from "bun:test";
import path from "node:path";
import { parseConfigText } from "../../src/config/load.ts";
import { hostContext } from "../../src/hosts/context.ts";
import { discover } from "../../src/hosts/discover.ts";
import { readEntry } from "../../src/hosts/entry.ts";
import { appendServers, renderManifest, SHARE_COMMENT } from "../../src/onboard/manifest.ts";
import { planServers } from "../../src/onboard/merge.ts";
import { FIXTURE_HOME } from "./fixture-home.ts";

async function fixturePlan(socketDir: string) {
  const results = await discover(hostContext({ home: FIXTURE_HOME, workspace: path.join(FIXTURE_HOME, "src/webapp"), platform: "linux" }));
  return planServers(results.flatMap((r) => r.entries), socketDir);
}

describe("manifest text", () => {
  test("the manifest for the whole fixture home is valid for our own config loader", async () => {
    const planned = await fixturePlan("/tmp/socks");
    const text = renderManifest(planned, "/tmp/cfg/mux.toml", FIXTURE_HOME, "test");
    const cfg = await parseConfigText(text, "/tmp/cfg/mux.toml", "toml");
    expect(cfg.servers.map((s) => s.name)).toEqual(planned.map((s) => s.name));
    expect(cfg.servers.map((s) => s.name)).toEqual([
      "filesystem", "memory", "brave-search", "github", "postgres", "memory-claude-code",
      "context7", "playwright", "fetch", "pythonTools", "puppeteer", "time",
    ]);
    const byName = Object.fromEntries(cfg.servers.map((s) => [s.name, s]));
    expect(byName.github!.env).toEqual({ GITHUB_PERSONAL_ACCESS_TOKEN: "FIXTURE-SECRET-ghp-456" });
    expect(byName.github!.args).toEqual(["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"]);
    expect(byName.pythonTools!.cwd).toBe("/home/user/mcp-servers/python");
    expect(byName.memory!.socket).toBe("/tmp/socks/memory.sock");
    // Disabled in every host that lists it: present, but not started until a client asks.
    expect(byName.context7!.lazy_start).toBe(true);
    expect(byName.puppeteer!.lazy_start).toBe(true);
    expect(byName.memory!.lazy_start).toBe(false);
    expect(text).toContain("# from: claude-code ~/.claude.json; codex ~/.codex/config.toml; windsurf ~/.codeium/windsurf/mcp_config.json\n[servers.github]");
  });

  test('every server gets share = "auto", with the comment that says what the values mean', async () => {
    const planned = await fixturePlan("/tmp/socks");
    const text = renderManifest(planned, "/tmp/cfg/mux.toml", FIXTURE_HOME, "test");
    const cfg = await parseConfigText(text, "/tmp/cfg/mux.toml", "toml");
    expect(cfg.servers.map((s) => s.share)).toEqual(planned.map(() => "auto"));
    const block = `${SHARE_COMMENT.join("\n")}\nshare = "auto"\n`;
    expect(text.split(block).length - 1).toBe(planned.length);
    for (const word of ['"auto"', '"shared"', '"per-workspace"', '"per-client"', "x-mux", "browser_*", "roots"]) expect(SHARE_COMMENT.join(" ")).toContain(word);
    // appended tables get it too
    const appended = appendServers("[servers.x]\nsocket = \"/s/x.sock\"\ncmd = \"x\"\n", planned.slice(0, 2), "/h");
    expect(appended.split(block).length - 1).toBe(2);
  });

  test("names that are not bare TOML keys are quoted", async () => {
    const e = readEntry({ host: "cursor", file: "/f", scope: "user", container: ["mcpServers"] }, "a.b", { command: "x", env: { "WEIRD KEY": 'q"uote' } });
    const text = renderManifest(planServers([e], "/s"), "/c/mux.toml", "/h", "test");
    expect(text).toContain('[servers."a.b"]');
    const cfg = await parseConfigText(text, "/c/mux.toml", "toml");
    expect(cfg.servers[0]!.env).toEqual({ "WEIRD KEY": 'q"uote' });
  });

  test("appending keeps the existing text byte for byte", async () => {
    const existing = `# tuned by hand\n[servers.memory]\nsocket = "/s/memory.sock"\ncmd = "npx"\nargs = ["-y", "@modelcontextprotocol/server-memory"]\nrequest_timeout_ms = 90000`;
    const planned = await fixturePlan("/s");
    const old = [{ name: "memory", cmd: "npx", args: ["-y", "@modelcontextprotocol/server-memory"], env: {}, socket: "/s/memory.sock" }];
    const replanned = planServers(planned.flatMap((p) => p.sources), "/s", old);
    const text = appendServers(existing, replanned.filter((s) => !s.existing), "/h");
    expect(text.startsWith(`${existing}\n`)).toBe(true);
    const cfg = await parseConfigText(text, "/c/mux.toml", "toml");
    expect(cfg.servers).toHaveLength(12);
    expect(cfg.servers.filter((s) => s.name === "memory")).toHaveLength(1);
    expect(cfg.servers[0]!.request_timeout_ms).toBe(90000);
    expect(appendServers(existing, [], "/h")).toBe(existing);
  });
});
