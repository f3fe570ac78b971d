/** `rmcp-mux scan` run as a real process on a copy of the fixture home. */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { copyHome, HOST_FILES, mux, removeHomes, SECRETS, where } from "./fixture-home.ts";

afterAll(removeHomes);

const noSecrets = (s: string) => {
  for (const v of SECRETS) expect(s).not.toContain(v);
};

describe("rmcp-mux scan", () => {
  test("--json lists every host file and server with env keys, never env values", async () => {
    const h = copyHome();
    const r = await mux(["scan", "--json", ...where(h)]);
    expect(r.code).toBe(0);
    noSecrets(r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    expect(out.files.map((f: any) => f.host)).toEqual([
      "claude-desktop", "claude-code", "codex", "cursor", "vscode", "vscode", "gemini", "windsurf", "junie",
    ]);
    const codex = out.files.find((f: any) => f.host === "codex");
    expect(codex.servers.find((s: any) => s.name === "github")).toEqual({
      name: "github",
      scope: "user",
      kind: "stdio",
      disabled: false,
      command: "docker",
      args: ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      envKeys: ["GITHUB_PERSONAL_ACCESS_TOKEN"],
      server: "github",
    });
    // Remote entries are listed by name and kind only (URLs can carry tokens).
    expect(codex.servers.find((s: any) => s.name === "openai-docs")).toEqual({ name: "openai-docs", scope: "user", kind: "remote", disabled: false });
    expect(out.servers).toHaveLength(12);
    const memory = out.servers.find((s: any) => s.name === "memory");
    expect(memory.hosts.map((x: any) => x.host)).toEqual(["claude-desktop", "claude-code", "codex", "cursor", "vscode", "junie"]);
    expect(memory.socket).toBe(path.join(h.home, ".rmcp-servers/rmcp-mux/sockets/memory.sock"));
    const dup = out.servers.find((s: any) => s.name === "memory-claude-code");
    expect(dup.command).toBe("uvx");
    expect(dup.hosts).toEqual([{ host: "claude-code", name: "memory", file: path.join(h.home, ".claude.json"), scope: "project /home/user/src/webapp" }]);
    expect(out.servers.find((s: any) => s.name === "postgres").hosts.map((x: any) => x.name)).toEqual(["postgres", "webapp-db"]);
  }, 30_000);

  test("text output names hosts, servers and env keys only", async () => {
    const h = copyHome();
    const r = await mux(["scan", ...where(h)]);
    expect(r.code).toBe(0);
    noSecrets(r.stdout);
    expect(r.stdout).toContain("Host configs found (9):");
    expect(r.stdout).toContain("stdio servers for rmcp-mux (12, the same command, args, cwd and env merged):");
    expect(r.stdout).toContain("github: docker run -i --rm -e GITHUB_PERSONAL_ACCESS_TOKEN ghcr.io/github/github-mcp-server  [env: GITHUB_PERSONAL_ACCESS_TOKEN]");
    expect(r.stdout).toContain("stripe: remote (URL) server, left as is");
  }, 30_000);

  test("--manifest writes a 0600 mux.toml our loader accepts; a second scan leaves it alone", async () => {
    const h = copyHome();
    const manifest = path.join(h.root, "cfg/mux.toml");
    const sockets = path.join(h.root, "s");
    const r = await mux(["scan", ...where(h), "--manifest", manifest, "--socket-dir", sockets]);
    expect(r.code).toBe(0);
    noSecrets(r.stdout + r.stderr);
    expect(statSync(manifest).mode & 0o777).toBe(0o600);
    const cfg = await loadConfig(manifest);
    expect(cfg.servers).toHaveLength(12);
    for (const s of cfg.servers) expect(s.socket).toBe(path.join(sockets, `${s.name}.sock`));
    // each server's share is left to "auto", with the comment naming the values one may pin instead
    for (const s of cfg.servers) expect({ name: s.name, share: s.share }).toEqual({ name: s.name, share: "auto" });
    expect(readFileSync(manifest, "utf8").match(/^# share: .*\n(#.*\n)*share = "auto"$/gm)).toHaveLength(12);
    expect(cfg.servers.find((s) => s.name === "brave-search")!.env).toEqual({ BRAVE_API_KEY: "FIXTURE-SECRET-brave-123" });
    const before = readFileSync(manifest, "utf8");
    const again = await mux(["scan", ...where(h), "--manifest", manifest]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already has every server found; left unchanged");
    expect(readFileSync(manifest, "utf8")).toBe(before);
  }, 30_000);

  test("--manifest appends only new servers to an existing config", async () => {
    const h = copyHome();
    const manifest = path.join(h.root, "mux.toml");
    const mine = `# mine\n[servers.mem]\nsocket = "${h.root}/m.sock"\ncmd = "npx"\nargs = ["-y", "@modelcontextprotocol/server-memory"]\nlazy_start = true\n`;
    writeFileSync(manifest, mine);
    const r = await mux(["scan", ...where(h), "--manifest", manifest]);
    expect(r.code).toBe(0);
    const text = readFileSync(manifest, "utf8");
    expect(text.startsWith(mine)).toBe(true);
    const cfg = await loadConfig(manifest);
    expect(cfg.servers).toHaveLength(12);
    // The npx memory server is the existing "mem"; the name "memory" is then free for the other (uvx) one.
    expect(cfg.servers.filter((s) => s.args.includes("@modelcontextprotocol/server-memory")).map((s) => s.name)).toEqual(["mem"]);
    expect(cfg.servers.find((s) => s.name === "memory")!.cmd).toBe("uvx");
  }, 30_000);

  test("an unparsable host file is reported, the rest is still scanned", async () => {
    const h = copyHome();
    writeFileSync(path.join(h.home, HOST_FILES.cursor!), '{ "mcpServers": { "x": ');
    const r = await mux(["scan", "--json", ...where(h)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(".cursor/mcp.json: cannot parse JSON: line 1, column 24: unexpected end of file");
    const out = JSON.parse(r.stdout);
    expect(out.files.find((f: any) => f.host === "cursor").error).toContain("cannot parse JSON");
    expect(out.servers.length).toBeGreaterThan(5);
  }, 30_000);

  test("an invalid existing manifest is refused with the loader's message", async () => {
    const h = copyHome();
    const manifest = path.join(h.root, "mux.toml");
    writeFileSync(manifest, "[servers.x]\ncmd = 5\n");
    const r = await mux(["scan", ...where(h), "--manifest", manifest]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${manifest}:`);
    expect(readFileSync(manifest, "utf8")).toBe("[servers.x]\ncmd = 5\n");
  }, 30_000);

  test("relative paths: a project entry is anchored to its project, a user entry is flagged and left out", async () => {
    const h = copyHome();
    const file = path.join(h.home, HOST_FILES["claude-code"]!);
    const doc = JSON.parse(readFileSync(file, "utf8"));
    doc.mcpServers.local = { type: "stdio", command: "node", args: ["./dist/index.js"], env: {} };
    doc.projects["/home/user/src/webapp"].mcpServers.local = { type: "stdio", command: "node", args: ["./dist/index.js"], env: {} };
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const r = await mux(["scan", "--json", ...where(h)]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const entries = out.files.find((f: any) => f.host === "claude-code").servers.filter((s: any) => s.name === "local");
    expect(entries.map((e: any) => [e.scope, e.kind, e.unresolved])).toEqual([
      ["user", "relative", "./dist/index.js"],
      ["project /home/user/src/webapp", "stdio", undefined],
    ]);
    const local = out.servers.filter((s: any) => s.name.startsWith("local"));
    expect(local.map((s: any) => [s.command, s.args, s.cwd])).toEqual([["node", ["/home/user/src/webapp/dist/index.js"], "/home/user/src/webapp"]]);
    const text = await mux(["scan", ...where(h)]);
    expect(text.stdout).toContain("local: has a relative path (./dist/index.js) and no known folder to resolve it against");
  }, 30_000);
});
