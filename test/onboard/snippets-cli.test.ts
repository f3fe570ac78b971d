/** `rmcp-mux scan --snippet DIR`: one snippet per host, each parsing in that host's format to proxy entries. */
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { collectEntries } from "../../src/hosts/discover.ts";
import { formatOf } from "../../src/hosts/format.ts";
import { HOSTS, hostById } from "../../src/hosts/index.ts";
import { copyHome, mux, removeHomes, SECRETS, where } from "./fixture-home.ts";
import { urlEntry } from "./url-entry.ts";

afterAll(removeHomes);

test("each host found gets a snippet in its own format whose entries are proxy entries on the manifest's sockets", async () => {
  const h = copyHome();
  const manifest = path.join(h.root, "mux.toml");
  const dir = path.join(h.root, "snippets");
  const proxy = "/opt/rmcp/rmcp-mux-proxy";
  const r = await mux(["scan", ...where(h), "--manifest", manifest, "--socket-dir", path.join(h.root, "s"), "--snippet", dir, "--proxy", proxy]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("Snippets (paste over the entries of the same name");
  const cfg = await loadConfig(manifest);
  const sockets = new Set(cfg.servers.map((s) => s.socket));
  const all = readdirSync(dir).sort();
  const withUrls = HOSTS.filter((x) => x.httpEntry !== undefined);
  expect(all).toEqual([...HOSTS.map((x) => `${x.id}.${x.format}`), ...withUrls.map((x) => `${x.id}.http.${x.format}`)].sort());
  expect(withUrls.map((x) => x.id).sort()).toEqual(["claude-code", "codex", "cursor", "gemini", "vscode", "windsurf"]);
  const files = all.filter((f) => !f.includes(".http."));
  for (const name of files) {
    const host = hostById(name.replace(/\.(json|toml)$/, ""))!;
    const text = readFileSync(path.join(dir, name), "utf8");
    for (const v of SECRETS) expect(text).not.toContain(v);
    const doc = formatOf(host.format).parse(text); // throws if the snippet is not valid in the host's format
    const entries = collectEntries(host, { path: name, scope: "user" }, doc);
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(e.kind).toBe("proxy");
      expect(e.command).toBe(proxy);
      expect(e.args[0]).toBe("--socket");
      expect(sockets.has(e.args[1]!)).toBe(true);
      expect(e.args.slice(2)).toEqual(["--config", manifest]);
    }
    if (host.id === "vscode") for (const e of entries) expect(e.raw.type).toBe("stdio");
  }
  // Host keys other than how to launch stay (Codex's timeouts, Gemini's trust), as rewire would keep them.
  const codex = formatOf("toml").parse(readFileSync(path.join(dir, "codex.toml"), "utf8")) as any;
  expect(codex.mcp_servers.memory.startup_timeout_sec).toBe(20);
  expect(codex.mcp_servers.github.env).toBeUndefined();
  const claude = JSON.parse(readFileSync(path.join(dir, "claude-code.json"), "utf8"));
  expect(Object.keys(claude.projects["/home/user/src/webapp"].mcpServers).sort()).toEqual(["memory", "postgres"]);

  // The same servers as URL entries, for the hosts that take them, in each host's spelling, holding the token.
  const token = readFileSync(path.join(h.home, ".rmcp-mux/http-token"), "utf8").trim();
  expect(r.stdout).toContain('add [http] listen = "127.0.0.1:7337"');
  const names = new Set(cfg.servers.map((s) => s.name));
  for (const host of withUrls) {
    const file = path.join(dir, `${host.id}.http.${host.format}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const doc = formatOf(host.format).parse(readFileSync(file, "utf8"));
    const entries = collectEntries(host, { path: file, scope: "user" }, doc);
    expect(entries.length).toBe(collectEntries(host, { path: file, scope: "user" }, formatOf(host.format).parse(readFileSync(path.join(dir, `${host.id}.${host.format}`), "utf8"))).length);
    for (const e of entries) {
      expect(e.kind).toBe("remote");
      const { url, headers } = urlEntry(host.id, e.raw);
      const name = decodeURIComponent(url.replace("http://127.0.0.1:7337/mcp/", ""));
      expect(url.startsWith("http://127.0.0.1:7337/mcp/")).toBe(true);
      expect(names.has(name)).toBe(true);
      expect(headers).toEqual({ Authorization: `Bearer ${token}` });
      for (const k of ["command", "args", "env", "cwd"]) expect(e.raw[k]).toBeUndefined();
    }
  }
  const codexHttp = formatOf("toml").parse(readFileSync(path.join(dir, "codex.http.toml"), "utf8")) as any;
  expect(codexHttp.mcp_servers.memory.startup_timeout_sec).toBe(20);
}, 60_000);

test("without --manifest the snippets point at the default manifest and say it still needs writing", async () => {
  const h = copyHome();
  const dir = path.join(h.root, "snippets");
  const r = await mux(["scan", ...where(h), "--snippet", dir]);
  expect(r.code).toBe(0);
  const def = path.join(h.home, ".rmcp-servers/rmcp-mux/mux.toml");
  expect(r.stdout).toContain("are not in ~/.rmcp-servers/rmcp-mux/mux.toml yet: rmcp-mux scan --manifest ~/.rmcp-servers/rmcp-mux/mux.toml");
  const cursor = JSON.parse(readFileSync(path.join(dir, "cursor.json"), "utf8"));
  expect(Object.values(cursor.mcpServers).every((e: any) => e.args.at(-1) === def)).toBe(true);
}, 60_000);
