/** `rmcp-mux rewire` run as a real process on copies of the fixture home, once per host. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { hostContext } from "../../src/hosts/context.ts";
import { collectEntries } from "../../src/hosts/discover.ts";
import { LAUNCH_KEYS } from "../../src/hosts/entry.ts";
import { formatOf } from "../../src/hosts/format.ts";
import { HOSTS, hostById } from "../../src/hosts/index.ts";
import { copyHome, HOST_FILES, mux, removeHomes, SECRETS, where } from "./fixture-home.ts";

afterAll(removeHomes);

/** A copy of the fixture home with a manifest for all its servers and an (inert) proxy binary. */
async function prepared() {
  const h = copyHome();
  const manifest = path.join(h.root, "mux.toml");
  const proxy = path.join(h.root, "bin/rmcp-mux-proxy");
  mkdirSync(path.dirname(proxy));
  writeFileSync(proxy, "#!/bin/sh\n", { mode: 0o755 });
  const r = await mux(["scan", ...where(h), "--manifest", manifest, "--socket-dir", path.join(h.root, "s")]);
  expect(r.code).toBe(0);
  const args = [...where(h), "--config", manifest, "--proxy", proxy];
  return { ...h, manifest, proxy, args, cfg: await loadConfig(manifest) };
}

const backups = (file: string) => readdirSync(path.dirname(file)).filter((n) => n.startsWith(`${path.basename(file)}.`) && n.endsWith(".rmcp-mux.bak"));
const at = (doc: any, container: string[]) => container.reduce((o, k) => o[k], doc);

describe.each(HOSTS.map((h) => h.id))("rewire --host %s", (id) => {
  test("dry run, rewire, second run, restore", async () => {
    const p = await prepared();
    const host = hostById(id)!;
    const files = host.files(hostContext({ home: p.home, workspace: p.workspace, platform: "linux" })).map((f) => f.path).filter((f) => existsSync(f));
    expect(files.length).toBe(id === "vscode" ? 2 : 1);
    const originals = files.map((f) => readFileSync(f, "utf8"));

    // --dry-run: a unified diff, env values masked, nothing written.
    const dry = await mux(["rewire", "--host", id, "--dry-run", ...p.args]);
    expect(dry.code).toBe(0);
    for (const f of files) expect(dry.stdout).toContain(`--- ${f}\n+++ ${f} (rewired)\n@@ `);
    expect(dry.stdout).toContain(`+`);
    expect(dry.stdout).toContain(p.proxy);
    for (const v of SECRETS) expect(dry.stdout + dry.stderr).not.toContain(v);
    files.forEach((f, i) => expect(readFileSync(f, "utf8")).toBe(originals[i]!));
    for (const f of files) expect(backups(f)).toEqual([]);

    // The real run: backup first, then only the stdio entries change.
    const run = await mux(["rewire", "--host", id, ...p.args]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("rewired");
    const fmt = formatOf(host.format);
    files.forEach((f, i) => {
      const [bak] = backups(f);
      expect(readFileSync(path.join(path.dirname(f), bak!), "utf8")).toBe(originals[i]!);
      const before = fmt.parse(originals[i]!) as any;
      const after = fmt.parse(readFileSync(f, "utf8")) as any;
      const entries = collectEntries(host, { path: f, scope: "user" }, before);
      expect(entries.some((e) => e.kind === "stdio")).toBe(true);
      for (const e of entries) {
        const now = at(after, e.container)[e.name];
        if (e.kind !== "stdio") {
          expect(now).toEqual(e.raw); // URL servers and host-templated entries: untouched
          continue;
        }
        const server = p.cfg.servers.find((s) => s.cmd === e.command && Bun.deepEquals(s.args, e.args) && Bun.deepEquals(s.env, e.env))!;
        expect(now.command).toBe(p.proxy);
        expect(now.args).toEqual(["--socket", server.socket, "--config", p.manifest]);
        for (const k of LAUNCH_KEYS) if (k !== "command" && k !== "args") expect(now[k]).toBeUndefined();
        for (const [k, v] of Object.entries(e.raw)) if (!LAUNCH_KEYS.has(k)) expect(now[k]).toEqual(v);
        if (id === "vscode") expect(now.type).toBe("stdio");
        at(before, e.container)[e.name] = at(after, e.container)[e.name] = null;
      }
      expect(after).toEqual(before); // every other key of the file is as it was
    });
    if (id === "codex") {
      const text = readFileSync(files[0]!, "utf8");
      for (const c of ["# Codex CLI configuration", "# npx can be slow on first start", "# Hosted docs search", 'model = "gpt-5-mini" # quick answers'])
        expect(text).toContain(c);
      expect(text).not.toContain("[mcp_servers.github.env]");
    }
    if (id === "vscode") {
      const text = readFileSync(files[0]!, "utf8");
      expect(text).toContain("// Servers for Copilot agent mode, edited by hand.");
      expect(text).toContain("/* Knowledge graph memory, shared with Claude */");
      expect(readFileSync(files[1]!, "utf8").startsWith("// Workspace servers for the web app\n")).toBe(true);
    }

    // Idempotent: the second run changes nothing and writes no second backup.
    const rewired = files.map((f) => readFileSync(f, "utf8"));
    const again = await mux(["rewire", "--host", id, ...p.args]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to rewire");
    files.forEach((f, i) => {
      expect(readFileSync(f, "utf8")).toBe(rewired[i]!);
      expect(backups(f)).toHaveLength(1);
    });

    // --restore puts the original bytes back.
    const restore = await mux(["rewire", "--restore", "--host", id, ...where(p)]);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain("restored ");
    files.forEach((f, i) => expect(readFileSync(f, "utf8")).toBe(originals[i]!));
  }, 60_000);
});

describe("rewire refusals", () => {
  test.each([
    ["gemini", '{\n  "mcpServers": {\n    "x": { "command": "npx" }\n', "cannot parse JSON: line 4, column 1: unexpected end of file, expected \",\" or \"}\""],
    ["codex", '[mcp_servers.x]\ncommand = "npx"\nargs = [\n', "cannot parse TOML: line 4"],
  ])("an unparsable %s file is left untouched, with a clear error", async (id, broken, message) => {
    const p = await prepared();
    const file = path.join(p.home, HOST_FILES[id]!);
    writeFileSync(file, broken);
    const r = await mux(["rewire", "--host", id, ...p.args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: ${message}`);
    expect(r.stderr).toContain("the file was left untouched");
    expect(readFileSync(file, "utf8")).toBe(broken);
    expect(backups(file)).toEqual([]);
  }, 60_000);

  test("no manifest yet: says how to make one", async () => {
    const h = copyHome();
    const r = await mux(["rewire", "--host", "cursor", ...where(h), "--config", path.join(h.root, "none.toml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("write one first: rmcp-mux scan --manifest");
  }, 60_000);

  test("unknown host, and a host without a config file", async () => {
    const h = copyHome();
    const bad = await mux(["rewire", "--host", "notepad", ...where(h)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--host must be one of claude-desktop, claude-code, codex, cursor, vscode, gemini, windsurf, junie");
    const none = await mux(["rewire", "--host", "cursor", "--home", path.join(h.root, "empty"), "--workspace", h.root]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no Cursor config found (looked for ~/.cursor/mcp.json)");
  }, 60_000);

  test("--path rewires that file; stdio entries unknown to mux.toml are kept and named", async () => {
    const p = await prepared();
    const other = path.join(p.root, "project-mcp.json");
    const text = `{\n  "mcpServers": {\n    "memory": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"] },\n    "new-one": { "command": "node", "args": ["/opt/x.js"] }\n  }\n}\n`;
    writeFileSync(other, text);
    const r = await mux(["rewire", "--host", "cursor", "--path", other, ...p.args]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kept new-one: has no server with the same command, args, cwd and env in");
    const doc = JSON.parse(readFileSync(other, "utf8"));
    expect(doc.mcpServers.memory.command).toBe(p.proxy);
    expect(doc.mcpServers["new-one"]).toEqual({ command: "node", args: ["/opt/x.js"] });
    expect(readFileSync(path.join(p.home, HOST_FILES.cursor!), "utf8")).toContain('"command": "npx"');
  }, 60_000);

  test("a symlinked host file is written through: the link stays a link", async () => {
    const p = await prepared();
    const file = path.join(p.home, HOST_FILES.cursor!);
    const real = path.join(p.root, "dotfiles-cursor.json");
    const original = readFileSync(file, "utf8");
    writeFileSync(real, original);
    rmSync(file);
    symlinkSync(real, file);
    const r = await mux(["rewire", "--host", "cursor", ...p.args]);
    expect(r.code).toBe(0);
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(real, "utf8")).mcpServers.memory.command).toBe(p.proxy);
    expect(backups(real)).toHaveLength(1);
    const back = await mux(["rewire", "--restore", "--host", "cursor", ...where(p)]);
    expect(back.code).toBe(0);
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toBe(original);
  }, 60_000);

  test("an empty host file has no servers and is not an error", async () => {
    const p = await prepared();
    const file = path.join(p.home, HOST_FILES.junie!);
    writeFileSync(file, "");
    const r = await mux(["rewire", "--host", "junie", ...p.args]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nothing to rewire");
    expect(readFileSync(file, "utf8")).toBe("");
  }, 60_000);

  test("--restore without a backup fails and says so", async () => {
    const h = copyHome();
    const r = await mux(["rewire", "--restore", "--host", "junie", ...where(h)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no rmcp-mux backup to restore");
  }, 60_000);
});

// Run from $HOME, the user file and the project file of gemini and junie are one path: one pass, one backup.
describe.each(["gemini", "junie"])("rewire --host %s run from $HOME", (id) => {
  test("processes the file once: one line of output, one backup, one restore", async () => {
    const p = await prepared();
    const file = path.join(p.home, HOST_FILES[id]!);
    const original = readFileSync(file, "utf8");
    const fromHome = ["--home", p.home, "--workspace", p.home, "--platform", "linux", "--config", p.manifest, "--proxy", p.proxy];
    const dry = await mux(["rewire", "--host", id, "--dry-run", ...fromHome]);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split(`--- ${file}\n`)).toHaveLength(2);
    const run = await mux(["rewire", "--host", id, ...fromHome]);
    expect(run.code).toBe(0);
    expect(run.stdout.match(/rewired /g)).toHaveLength(1);
    expect(run.stdout).not.toContain("nothing to rewire"); // a second pass would have found it done
    expect(backups(file)).toHaveLength(1);
    const back = await mux(["rewire", "--restore", "--host", id, ...fromHome.slice(0, 6)]);
    expect(back.code).toBe(0);
    expect(back.stdout.match(/: restored /g)).toHaveLength(1);
    expect(readFileSync(file, "utf8")).toBe(original);
  }, 60_000);
});
