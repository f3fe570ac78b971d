/** httpEntry: each host's Streamable HTTP spelling, the host's own keys kept, read back as a remote entry. */
import { describe, expect, test } from "bun:test";
import { httpEntry, readEntry, serverUrl } from "../../src/hosts/entry.ts";
import { formatOf } from "../../src/hosts/format.ts";
import { HOSTS, hostById } from "../../src/hosts/index.ts";

const RAW = { type: "stdio", command: "npx", args: ["-y", "srv"], env: { K: "v" }, cwd: "/w", timeout: 5, disabled: false };
const SPELLING: Record<string, { url: string; headers: string; type?: string }> = {
  "claude-code": { url: "url", headers: "headers", type: "http" },
  cursor: { url: "url", headers: "headers" },
  vscode: { url: "url", headers: "headers", type: "http" },
  gemini: { url: "httpUrl", headers: "headers" },
  windsurf: { url: "serverUrl", headers: "headers" },
  codex: { url: "url", headers: "http_headers" },
};

describe.each(Object.keys(SPELLING))("httpEntry for %s", (id) => {
  test("URL and headers under the host's own keys; launch keys gone; its own keys kept; reads back as remote", () => {
    const host = hostById(id)!;
    const url = serverUrl("http://127.0.0.1:7337", "my server");
    expect(url).toBe("http://127.0.0.1:7337/mcp/my%20server");
    const e = httpEntry(host, RAW, url, "TOKEN")!;
    const s = SPELLING[id]!;
    expect(e[s.url]).toBe(url);
    expect(e[s.headers]).toEqual({ Authorization: "Bearer TOKEN" });
    expect(e.type).toBe(s.type);
    for (const k of ["command", "args", "env", "cwd"]) expect(e[k]).toBeUndefined();
    expect(e.timeout).toBe(5);
    expect(e.disabled).toBe(false);
    // through the host's file format and back
    const fmt = formatOf(host.format);
    const doc = fmt.parse(host.format === "toml" ? `[mcp_servers.x]\nurl = ${JSON.stringify(url)}\nhttp_headers = { Authorization = "Bearer TOKEN" }\n` : JSON.stringify({ x: e }));
    const back = host.format === "toml" ? (doc as any).mcp_servers.x : (doc as any).x;
    expect(readEntry({ host: id, file: "f", scope: "user", container: [] }, "x", back).kind).toBe("remote");
  });
});

test("hosts without URL entries: Claude Desktop (stdio only) and Junie", () => {
  const none = HOSTS.filter((h) => h.httpEntry === undefined).map((h) => h.id).sort();
  expect(none).toEqual(["claude-desktop", "junie"]);
  expect(httpEntry(hostById("claude-desktop")!, RAW, "http://x/mcp/y", "T")).toBeUndefined();
});
