/**
 * `rmcp-mux rewire --host NAME --transport http` run as a real process on copies of the fixture home: each host
 * that takes URLs gets Streamable HTTP entries in its own spelling (parsed back here), Claude Desktop is refused
 * with exit 2 and keeps its file, and a manifest without [http] says what to add.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { hostContext } from "../../src/hosts/context.ts";
import { collectEntries } from "../../src/hosts/discover.ts";
import { LAUNCH_KEYS } from "../../src/hosts/entry.ts";
import { formatOf } from "../../src/hosts/format.ts";
import { HOSTS, hostById } from "../../src/hosts/index.ts";
import { copyHome, HOST_FILES, mux, removeHomes, SECRETS, where } from "./fixture-home.ts";
import { urlEntry } from "./url-entry.ts";

afterAll(removeHomes);

async function prepared(http = true) {
  const h = copyHome();
  const manifest = path.join(h.root, "mux.toml");
  const r = await mux(["scan", ...where(h), "--manifest", manifest, "--socket-dir", path.join(h.root, "s")]);
  expect(r.code).toBe(0);
  const tokenFile = path.join(h.root, "http-token");
  if (http) appendFileSync(manifest, `\n[http]\nlisten = "127.0.0.1:7444"\ntoken_file = "${tokenFile}"\n`);
  return { ...h, manifest, tokenFile, args: [...where(h), "--config", manifest], cfg: await loadConfig(manifest) };
}

const at = (doc: any, container: string[]) => container.reduce((o, k) => o[k], doc);

describe.each(HOSTS.filter((h) => h.httpEntry !== undefined).map((h) => h.id))("rewire --host %s --transport http", (id) => {
  test("URL entries in the host's own format, parsed back; second run a no-op; restore", async () => {
    const p = await prepared();
    const host = hostById(id)!;
    const files = host.files(hostContext({ home: p.home, workspace: p.workspace, platform: "linux" })).map((f) => f.path).filter((f) => existsSync(f));
    const originals = files.map((f) => readFileSync(f, "utf8"));

    const dry = await mux(["rewire", "--host", id, "--transport", "http", "--dry-run", ...p.args]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("http://127.0.0.1:7444/mcp/");
    const token = readFileSync(p.tokenFile, "utf8").trim();
    expect(statSync(p.tokenFile).mode & 0o777).toBe(0o600);
    // the token is a header value: masked in the diff like every secret
    for (const v of [...SECRETS, token]) expect(dry.stdout + dry.stderr).not.toContain(v);
    files.forEach((f, i) => expect(readFileSync(f, "utf8")).toBe(originals[i]!));

    const run = await mux(["rewire", "--host", id, "--transport", "http", ...p.args]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("rewired");
    const fmt = formatOf(host.format);
    const names = new Set(p.cfg.servers.map((s) => s.name));
    let changed = 0;
    files.forEach((f, i) => {
      const before = fmt.parse(originals[i]!) as any;
      const after = fmt.parse(readFileSync(f, "utf8")) as any;
      for (const e of collectEntries(host, { path: f, scope: "user" }, before)) {
        const now = at(after, e.container)[e.name];
        if (e.kind !== "stdio") {
          expect(now).toEqual(e.raw);
          continue;
        }
        changed++;
        const { url, headers } = urlEntry(id, now);
        expect(url.startsWith("http://127.0.0.1:7444/mcp/")).toBe(true);
        expect(names.has(decodeURIComponent(url.slice("http://127.0.0.1:7444/mcp/".length)))).toBe(true);
        expect(headers).toEqual({ Authorization: `Bearer ${token}` });
        for (const k of LAUNCH_KEYS) expect(now[k]).toBeUndefined();
        // the host's own keys (timeouts, tool filters, disabled) stay
        for (const [k, v] of Object.entries(e.raw)) if (!LAUNCH_KEYS.has(k) && k !== "type") expect(now[k]).toEqual(v);
        // and the host reads it as a remote server now
        expect(collectEntries(host, { path: f, scope: "user" }, after).find((x) => x.name === e.name && Bun.deepEquals(x.container, e.container))!.kind).toBe("remote");
        at(before, e.container)[e.name] = at(after, e.container)[e.name] = null;
      }
      expect(after).toEqual(before);
    });
    expect(changed).toBeGreaterThan(0);

    const rewired = files.map((f) => readFileSync(f, "utf8"));
    const again = await mux(["rewire", "--host", id, "--transport", "http", ...p.args]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to rewire");
    files.forEach((f, i) => expect(readFileSync(f, "utf8")).toBe(rewired[i]!));

    const restore = await mux(["rewire", "--restore", "--host", id, ...where(p)]);
    expect(restore.code).toBe(0);
    files.forEach((f, i) => expect(readFileSync(f, "utf8")).toBe(originals[i]!));
  }, 60_000);
});

describe("rewire --transport http refusals", () => {
  test("Claude Desktop is stdio only: exit 2, a note, the file untouched", async () => {
    const p = await prepared();
    const file = path.join(p.home, HOST_FILES["claude-desktop"]!);
    const before = readFileSync(file, "utf8");
    const r = await mux(["rewire", "--host", "claude-desktop", "--transport", "http", ...p.args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Claude Desktop takes no URL entries (its local config is stdio only), so it keeps the proxy");
    expect(readFileSync(file, "utf8")).toBe(before);
  }, 60_000);

  test("a manifest without [http] listen says what to add", async () => {
    const p = await prepared(false);
    const r = await mux(["rewire", "--host", "cursor", "--transport", "http", ...p.args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no [http] listen: add\n[http]\nlisten = "127.0.0.1:7337"');
  }, 60_000);

  test("an unknown transport is a usage error", async () => {
    const p = await prepared(false);
    const r = await mux(["rewire", "--host", "cursor", "--transport", "sse", ...p.args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--transport must be "proxy" or "http" (was "sse")');
  }, 60_000);
});
