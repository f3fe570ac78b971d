import { describe, expect, test } from "bun:test";
import path from "node:path";
import { hostContext } from "../../src/hosts/context.ts";
import { discover } from "../../src/hosts/discover.ts";
import { isProxyCommand, proxyEntry, readEntry } from "../../src/hosts/entry.ts";
import { HOSTS, hostById } from "../../src/hosts/index.ts";
import { FIXTURE_HOME } from "../onboard/fixture-home.ts";

const ctx = (platform: "linux" | "darwin", env: Record<string, string> = {}) => ({
  home: "/h",
  platform,
  workspace: "/w",
  env,
});
const files = (id: string, c = ctx("linux")) => hostById(id)!.files(c).map((f) => `${f.scope}:${f.path}`);

describe("host location tables", () => {
  test("Linux paths", () => {
    expect(files("claude-desktop")).toEqual(["user:/h/.config/Claude/claude_desktop_config.json"]);
    expect(files("claude-code")).toEqual(["user:/h/.claude.json"]);
    expect(files("codex")).toEqual(["user:/h/.codex/config.toml"]);
    expect(files("cursor")).toEqual(["user:/h/.cursor/mcp.json"]);
    expect(files("vscode")).toEqual([
      "user:/h/.config/Code/User/mcp.json",
      "user:/h/.config/Code - Insiders/User/mcp.json",
      "workspace:/w/.vscode/mcp.json",
    ]);
    expect(files("gemini")).toEqual(["user:/h/.gemini/settings.json", "workspace:/w/.gemini/settings.json"]);
    expect(files("windsurf")).toEqual(["user:/h/.codeium/windsurf/mcp_config.json"]);
    expect(files("junie")).toEqual(["user:/h/.junie/mcp/mcp.json", "workspace:/w/.junie/mcp/mcp.json"]);
  });

  test("macOS paths differ for Claude Desktop and VS Code only", () => {
    const mac = ctx("darwin");
    expect(files("claude-desktop", mac)).toEqual(["user:/h/Library/Application Support/Claude/claude_desktop_config.json"]);
    expect(files("vscode", mac)[0]).toBe("user:/h/Library/Application Support/Code/User/mcp.json");
    for (const id of ["claude-code", "codex", "cursor", "gemini", "windsurf", "junie"]) expect(files(id, mac)).toEqual(files(id));
  });

  test("CODEX_HOME and CLAUDE_CONFIG_DIR move those files, but --home ignores the real environment", () => {
    const moved = ctx("linux", { CODEX_HOME: "/c", CLAUDE_CONFIG_DIR: "/cc" });
    expect(files("codex", moved)).toEqual(["user:/c/config.toml"]);
    expect(files("claude-code", moved)).toEqual(["user:/cc/.claude.json"]);
    expect(hostContext({ home: "/x" }).env).toEqual({});
  });

  test("every host has a unique id and a format", () => {
    expect(new Set(HOSTS.map((h) => h.id)).size).toBe(HOSTS.length);
    for (const h of HOSTS) expect(["json", "toml"]).toContain(h.format);
  });
});

describe("reading entries", () => {
  const base = { host: "t", file: "/f", scope: "user", container: ["mcpServers"] };
  test.each([
    [{ url: "https://x" }, "remote"],
    [{ httpUrl: "https://x" }, "remote"],
    [{ serverUrl: "https://x" }, "remote"],
    [{ type: "http", url: "https://x" }, "remote"],
    [{ type: "sse", command: "odd" }, "remote"],
    [{ command: "npx", args: ["x"] }, "stdio"],
    [{ type: "stdio", command: "npx" }, "stdio"],
    [{ command: "/usr/local/bin/rmcp-mux-proxy", args: ["--socket", "/s"] }, "proxy"],
    [{ command: "rmcp-mux", args: ["proxy", "--socket", "/s"] }, "proxy"],
    [{ command: "npx", env: { K: "${input:k}" } }, "templated"],
    [{ command: "${workspaceFolder}/run" }, "templated"],
    [{ command: "python", cwd: "./sub" }, "relative"],
    [{ command: "node", args: ["./dist/index.js"] }, "relative"],
    [{ command: "bin/server" }, "relative"],
    [{ command: "python", cwd: "/abs" }, "stdio"],
    ["not an object", "invalid"],
  ])("%j is %s", (raw, kind) => {
    expect(readEntry(base, "n", raw).kind).toBe(kind as any);
  });

  test("disabled is read from `disabled: true` and from Codex's `enabled = false`", () => {
    expect(readEntry(base, "n", { command: "x", disabled: true }).disabled).toBe(true);
    expect(readEntry(base, "n", { command: "x", enabled: false }).disabled).toBe(true);
    expect(readEntry(base, "n", { command: "x" }).disabled).toBe(false);
  });

  test("isProxyCommand only matches the proxy itself", () => {
    expect(isProxyCommand("rmcp-mux-proxy", [])).toBe(true);
    expect(isProxyCommand("/opt/rmcp-mux", ["proxy"])).toBe(true);
    expect(isProxyCommand("/opt/rmcp-mux", ["--config", "x"])).toBe(false);
    expect(isProxyCommand("npx", ["rmcp-mux-proxy"])).toBe(false);
  });

  test("proxy entries keep host keys in place, drop launch keys, and take the host's shape", () => {
    const raw = { type: "stdio", command: "npx", args: ["x"], env: { K: "v" }, cwd: "/a", timeout: 5, trust: true };
    const e = proxyEntry(hostById("gemini")!, raw, "/p", "/s.sock");
    expect(Object.keys(e)).toEqual(["type", "command", "args", "timeout", "trust"]);
    expect(e).toEqual({ type: "stdio", command: "/p", args: ["--socket", "/s.sock"], timeout: 5, trust: true });
    const vs = proxyEntry(hostById("vscode")!, { command: "npx" }, "/p", "/s.sock");
    expect(Object.keys(vs)).toEqual(["type", "command", "args"]);
    expect(vs.type).toBe("stdio");
  });
});

describe("discovery in the fixture home", () => {
  const fixture = { home: FIXTURE_HOME, workspace: path.join(FIXTURE_HOME, "src/webapp") };

  test("Linux: one file per host (two for VS Code), each entry classified", async () => {
    const results = await discover(hostContext({ ...fixture, platform: "linux" }));
    const summary = results.map((r) => ({
      host: r.host.id,
      file: path.relative(FIXTURE_HOME, r.spec.path),
      kinds: Object.fromEntries(r.entries.map((e) => [`${e.scope === r.spec.scope ? "" : `${e.scope} `}${e.name}`, e.kind])),
    }));
    expect(summary).toEqual([
      { host: "claude-desktop", file: ".config/Claude/claude_desktop_config.json", kinds: { filesystem: "stdio", memory: "stdio", "brave-search": "stdio" } },
      {
        host: "claude-code",
        file: ".claude.json",
        kinds: {
          memory: "stdio",
          github: "stdio",
          sentry: "remote",
          linear: "remote",
          "project /home/user/src/webapp postgres": "stdio",
          "project /home/user/src/webapp memory": "stdio",
        },
      },
      { host: "codex", file: ".codex/config.toml", kinds: { memory: "stdio", github: "stdio", "openai-docs": "remote", context7: "stdio" } },
      { host: "cursor", file: ".cursor/mcp.json", kinds: { memory: "stdio", playwright: "stdio", figma: "remote", stripe: "remote" } },
      { host: "vscode", file: ".config/Code/User/mcp.json", kinds: { memory: "stdio", perplexity: "templated", fetch: "stdio", "github-remote": "remote" } },
      { host: "vscode", file: "src/webapp/.vscode/mcp.json", kinds: { "webapp-db": "stdio" } },
      { host: "gemini", file: ".gemini/settings.json", kinds: { filesystem: "stdio", pythonTools: "stdio", deepwiki: "remote" } },
      { host: "windsurf", file: ".codeium/windsurf/mcp_config.json", kinds: { github: "stdio", puppeteer: "stdio", "remote-docs": "remote" } },
      { host: "junie", file: ".junie/mcp/mcp.json", kinds: { memory: "stdio", time: "stdio" } },
    ]);
    const codex = results.find((r) => r.host.id === "codex")!;
    const github = codex.entries.find((e) => e.name === "github")!;
    expect(Object.keys(github.env)).toEqual(["GITHUB_PERSONAL_ACCESS_TOKEN"]);
    expect(codex.entries.find((e) => e.name === "context7")!.disabled).toBe(true);
    const gemini = results.find((r) => r.host.id === "gemini")!;
    expect(gemini.entries.find((e) => e.name === "pythonTools")!.cwd).toBe("/home/user/mcp-servers/python");
  });

  test("macOS: the Library locations are read instead", async () => {
    const results = await discover(hostContext({ ...fixture, platform: "darwin" }));
    const desk = results.find((r) => r.host.id === "claude-desktop")!;
    expect(desk.spec.path).toContain("Library/Application Support/Claude");
    expect(desk.entries.map((e) => e.name)).toEqual(["memory", "sqlite"]);
    expect(results.filter((r) => r.host.id === "vscode").map((r) => r.entries.map((e) => e.name))).toEqual([["time"], ["webapp-db"]]);
  });
});
