/** The wizard's flow driven through its Io seam (scripted answers), and its --yes mode as a real process. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { runWizard, type Io } from "../../src/cli/commands/wizard.ts";
import { loadConfig } from "../../src/config/load.ts";
import { hostContext } from "../../src/hosts/context.ts";
import { copyHome, HOST_FILES, mux, removeHomes, SECRETS, where } from "./fixture-home.ts";

afterAll(removeHomes);

/** The number of the checklist row labelled `label` in the latest list on screen. */
function row(screen: string, label: string): string {
  const hits = [...screen.matchAll(new RegExp(`^\\s*(\\d+)\\. \\[[ x]\\] ${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s`, "gm"))];
  if (!hits.length) throw new Error(`no row "${label}" on screen:\n${screen}`);
  return hits.at(-1)![1]!;
}

type Answer = string | ((screen: string) => string);

/** An Io that answers from a script; each answer may look at everything printed so far. */
function scripted(answers: Answer[]): Io & { screen: () => string; asked: string[] } {
  let out = "";
  const asked: string[] = [];
  return {
    asked,
    screen: () => out,
    async ask(prompt) {
      out += prompt;
      asked.push(prompt);
      const a = answers.shift();
      if (a === undefined) return null;
      const text = typeof a === "function" ? a(out) : a;
      out += `${text}\n`;
      return text;
    },
    say(t) {
      out += `${t}\n`;
    },
  };
}

function setup() {
  const h = copyHome();
  const ctx = hostContext({ home: h.home, workspace: h.workspace, platform: "linux" });
  const config = path.join(h.root, "cfg/mux.toml");
  const originals = Object.fromEntries(Object.entries(HOST_FILES).map(([id, rel]) => [id, readFileSync(path.join(h.home, rel), "utf8")]));
  const unchanged = (id: string) => readFileSync(path.join(h.home, HOST_FILES[id]!), "utf8") === originals[id];
  return { ...h, ctx, config, proxy: "/opt/mux/rmcp-mux-proxy", unchanged };
}

describe("wizard (interactive flow)", () => {
  test("pick two servers, a socket folder and one host; confirm both steps", async () => {
    const s = setup();
    const socks = path.join(s.root, "socks");
    const io = scripted([
      "n",
      (sc) => `${row(sc, "memory")} ${row(sc, "github")}`,
      "",
      socks,
      (sc) => row(sc, "cursor"),
      "",
      "y",
      "y",
    ]);
    expect(await runWizard({ ctx: s.ctx, config: s.config, proxy: s.proxy, yes: false }, io)).toBe(0);
    const screen = io.screen();
    for (const v of SECRETS) expect(screen).not.toContain(v);
    expect(screen).toContain("Servers:  memory, github");
    expect(screen).toContain(`Rewire:   cursor (~/.cursor/mcp.json)`);
    expect(io.asked.filter((q) => q.includes("[y/N]"))).toHaveLength(2);
    const cfg = await loadConfig(s.config);
    expect(cfg.servers.map((x) => [x.name, x.socket])).toEqual([
      ["memory", path.join(socks, "memory.sock")],
      ["github", path.join(socks, "github.sock")],
    ]);
    expect(statSync(s.config).mode & 0o777).toBe(0o600);
    const cursor = JSON.parse(readFileSync(path.join(s.home, HOST_FILES.cursor!), "utf8"));
    expect(cursor.mcpServers.memory).toEqual({ command: s.proxy, args: ["--socket", path.join(socks, "memory.sock"), "--config", s.config] });
    expect(cursor.mcpServers.playwright.command).toBe("npx"); // not picked: left for the host to run
    for (const id of ["claude-desktop", "claude-code", "codex", "vscode", "gemini", "windsurf", "junie"]) expect(s.unchanged(id)).toBe(true);
  }, 30_000);

  test("answering no to 'Write the config?' writes nothing at all", async () => {
    const s = setup();
    const io = scripted(["", "", (sc) => row(sc, "codex"), "", "n"]);
    expect(await runWizard({ ctx: s.ctx, config: s.config, proxy: s.proxy, yes: false }, io)).toBe(0);
    expect(io.screen()).toContain("Nothing written.");
    expect(existsSync(s.config)).toBe(false);
    expect(s.unchanged("codex")).toBe(true);
  }, 30_000);

  test("config yes, rewire no (Enter): hosts stay as they are", async () => {
    const s = setup();
    const io = scripted(["", "", "a", "", "y", ""]);
    expect(await runWizard({ ctx: s.ctx, config: s.config, proxy: s.proxy, yes: false }, io)).toBe(0);
    expect((await loadConfig(s.config)).servers).toHaveLength(12);
    expect(io.screen()).toContain("Host files left unchanged.");
    for (const id of Object.keys(HOST_FILES)) expect(s.unchanged(id)).toBe(true);
  }, 30_000);

  test("a bad toggle is explained and asked again", async () => {
    const s = setup();
    const io = scripted(["99", "x", "n", (sc) => row(sc, "time"), "", "", "", "y"]);
    expect(await runWizard({ ctx: s.ctx, config: s.config, proxy: s.proxy, yes: false }, io)).toBe(0);
    expect(io.screen()).toContain('"99" is not a number from 1 to 12');
    expect(io.screen()).toContain('"x" is not a number from 1 to 12');
    expect((await loadConfig(s.config)).servers.map((x) => x.name)).toEqual(["time"]);
  }, 30_000);

  test("input ending mid-way writes nothing", async () => {
    const s = setup();
    const io = scripted(["n", "2"]);
    await expect(runWizard({ ctx: s.ctx, config: s.config, proxy: s.proxy, yes: false }, io)).rejects.toThrow("input ended");
    expect(existsSync(s.config)).toBe(false);
  }, 30_000);
});

describe("wizard --yes", () => {
  test("writes the chosen servers and rewires only the named hosts", async () => {
    const s = setup();
    const r = await mux(["wizard", "--yes", ...where(s), "--config", s.config, "--proxy", s.proxy, "--servers", "memory,github", "--rewire", "cursor,codex"]);
    expect(r.code).toBe(0);
    for (const v of SECRETS) expect(r.stdout + r.stderr).not.toContain(v);
    expect((await loadConfig(s.config)).servers.map((x) => x.name)).toEqual(["memory", "github"]);
    expect(s.unchanged("cursor")).toBe(false);
    expect(s.unchanged("codex")).toBe(false);
    for (const id of ["claude-desktop", "claude-code", "vscode", "gemini", "windsurf", "junie"]) expect(s.unchanged(id)).toBe(true);
    const codex = readFileSync(path.join(s.home, HOST_FILES.codex!), "utf8");
    expect(codex).toContain(`command = "${s.proxy}"`);
    expect(codex).toContain('[mcp_servers.context7]\ncommand = "npx"'); // not chosen: untouched

    const again = await mux(["wizard", "--yes", ...where(s), "--config", s.config, "--proxy", s.proxy, "--servers", "time"]);
    expect(again.code).toBe(0);
    expect((await loadConfig(s.config)).servers.map((x) => x.name)).toEqual(["memory", "github", "time"]);
  }, 30_000);

  test("unknown server or host names are usage errors, and nothing is written", async () => {
    const s = setup();
    const a = await mux(["wizard", "--yes", ...where(s), "--config", s.config, "--servers", "nope"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("--servers names unknown server(s) nope");
    const b = await mux(["wizard", "--yes", ...where(s), "--config", s.config, "--rewire", "emacs"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("--rewire names unknown host(s) emacs");
    expect(existsSync(s.config)).toBe(false);
  }, 30_000);
});
