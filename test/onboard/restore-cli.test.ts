/** `rmcp-mux rewire --restore`: undoes exactly the entries rewire changed, on copies of the fixture home. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import TOML from "@iarna/toml";
import { copyHome, HOST_FILES, mux, removeHomes, where } from "./fixture-home.ts";

afterAll(removeHomes);

async function rewired(id: string) {
  const h = copyHome();
  const manifest = path.join(h.root, "mux.toml");
  const proxy = path.join(h.root, "bin/rmcp-mux-proxy");
  mkdirSync(path.dirname(proxy));
  writeFileSync(proxy, "#!/bin/sh\n", { mode: 0o755 });
  expect((await mux(["scan", ...where(h), "--manifest", manifest, "--socket-dir", path.join(h.root, "s")])).code).toBe(0);
  const file = path.join(h.home, HOST_FILES[id]!);
  const original = readFileSync(file, "utf8");
  const r = await mux(["rewire", "--host", id, ...where(h), "--config", manifest, "--proxy", proxy, "--path", file]);
  expect(r.code).toBe(0);
  return { ...h, file, original, proxy, restore: (...more: string[]) => mux(["rewire", "--restore", "--host", id, "--path", file, ...where(h), ...more]) };
}

const siblings = (file: string) => readdirSync(path.dirname(file)).filter((n) => n.startsWith(`${path.basename(file)}.`)).sort();

describe("rewire --restore", () => {
  test("undoes only the rewired entries: an entry and settings the host changed later stay as they are now", async () => {
    const p = await rewired("claude-code");
    const before = JSON.parse(p.original);
    const doc = JSON.parse(readFileSync(p.file, "utf8"));
    expect(doc.mcpServers.memory.command).toBe(p.proxy);
    // What Claude Code does after the rewire: a new server, a changed counter, a removed remote server.
    doc.mcpServers.added = { type: "stdio", command: "node", args: ["/opt/new.js"], env: {} };
    doc.numStartups = 43;
    delete doc.mcpServers.linear;
    writeFileSync(p.file, JSON.stringify(doc, null, 2));
    const r = await p.restore();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("restored memory, github, postgres (projects./home/user/src/webapp), memory (projects./home/user/src/webapp)");
    const now = JSON.parse(readFileSync(p.file, "utf8"));
    expect(now.mcpServers.added).toEqual(doc.mcpServers.added);
    expect(now.numStartups).toBe(43);
    expect(now.mcpServers.linear).toBeUndefined();
    expect(now.mcpServers.memory).toEqual(before.mcpServers.memory);
    expect(now.mcpServers.github).toEqual(before.mcpServers.github);
    expect(now.projects).toEqual(before.projects);
    // A second restore has nothing left to do.
    const again = await p.restore();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to restore");
  }, 60_000);

  test("an entry changed or removed since the rewire is refused and left as it is; the others are restored", async () => {
    const p = await rewired("cursor");
    const doc = JSON.parse(readFileSync(p.file, "utf8"));
    const wired = Object.keys(doc.mcpServers).filter((k) => doc.mcpServers[k].command === p.proxy);
    expect(wired.length).toBeGreaterThanOrEqual(2);
    const [changed, removed, ...rest] = wired as [string, string, ...string[]];
    doc.mcpServers[changed].args = [...doc.mcpServers[changed].args, "--edited"];
    delete doc.mcpServers[removed];
    writeFileSync(p.file, JSON.stringify(doc, null, 2));
    const r = await p.restore();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`refused ${changed}: was changed since the rewire; left as it is now`);
    expect(r.stdout).toContain(`refused ${removed}: was removed since the rewire; left as it is now`);
    const now = JSON.parse(readFileSync(p.file, "utf8"));
    const before = JSON.parse(p.original);
    expect(now.mcpServers[changed]).toEqual(doc.mcpServers[changed]);
    expect(now.mcpServers[removed]).toBeUndefined();
    for (const k of rest) expect(now.mcpServers[k]).toEqual(before.mcpServers[k]);
  }, 60_000);

  test("codex: restored entries get their env tables back, comments elsewhere stay", async () => {
    const p = await rewired("codex");
    const text = readFileSync(p.file, "utf8");
    writeFileSync(p.file, `${text}\n# added later\n[mcp_servers.later]\ncommand = "node"\nargs = ["/opt/later.js"]\n`);
    const r = await p.restore();
    expect(r.code).toBe(0);
    const now = TOML.parse(readFileSync(p.file, "utf8")) as any;
    const before = TOML.parse(p.original) as any;
    expect(now.mcp_servers.github).toEqual(before.mcp_servers.github);
    expect(now.mcp_servers.memory).toEqual(before.mcp_servers.memory);
    expect(now.mcp_servers.later).toEqual({ command: "node", args: ["/opt/later.js"] });
    expect(readFileSync(p.file, "utf8")).toContain("# Codex CLI configuration");
  }, 60_000);

  test("unchanged since the rewire: the original bytes come back", async () => {
    const p = await rewired("vscode");
    expect((await p.restore()).code).toBe(0);
    expect(readFileSync(p.file, "utf8")).toBe(p.original);
  }, 60_000);

  test("--dry-run shows the diff and writes nothing: not the file, no backup, no record", async () => {
    const p = await rewired("gemini");
    const text = readFileSync(p.file, "utf8");
    const files = siblings(p.file);
    const r = await p.restore("--dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`+++ ${p.file} (restored)`);
    expect(r.stdout).toContain("would restore");
    expect(r.stdout).not.toContain("FIXTURE-SECRET");
    expect(readFileSync(p.file, "utf8")).toBe(text);
    expect(siblings(p.file)).toEqual(files);
  }, 60_000);

  test("backups from before records existed are not restored wholesale", async () => {
    const h = copyHome();
    const file = path.join(h.home, HOST_FILES.junie!);
    const text = readFileSync(file, "utf8");
    writeFileSync(`${file}.20250101T000000-000Z.rmcp-mux.bak`, "{}");
    const r = await mux(["rewire", "--restore", "--host", "junie", ...where(h)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("did not record which entries it changed");
    expect(readFileSync(file, "utf8")).toBe(text);
  }, 60_000);
});
