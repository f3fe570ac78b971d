import { describe, expect, test } from "bun:test";
import TOML from "@iarna/toml";
import { scanItems, tomlFormat, tomlValue } from "../../src/hosts/toml-edit.ts";

const proxy = { command: "/bin/rmcp-mux-proxy", args: ["--socket", "/s/m.sock"] };

describe("TOML scanning", () => {
  test("multi-line arrays, strings with # and [, and comments are items of their own", () => {
    const text = [
      "# head",
      'a = "x # not a comment [nor a header]"',
      "b = [",
      '  "[1]", # inside',
      "  [2, 3],",
      "]",
      "",
      '[t."q.k"] # header comment',
      "c = '''",
      "[not a header]",
      "'''",
      "[[arr]]",
    ].join("\n");
    const items = scanItems(text);
    expect(items.map((i) => i.kind)).toEqual(["comment", "kv", "kv", "blank", "header", "kv", "header"]);
    expect(items[2]!.keys).toEqual(["b"]);
    expect(text.slice(items[2]!.start, items[2]!.end)).toBe('b = [\n  "[1]", # inside\n  [2, 3],\n]\n');
    expect(items[4]!.keys).toEqual(["t", "q.k"]);
    expect(items[6]!.arrayTable).toBe(true);
  });

  test("tomlValue writes values TOML reads back", () => {
    const v = { s: 'quote " and \\ and \n', n: 3, b: true, a: ["x", "y"], t: { "needs quote": "v" } };
    expect(TOML.parse(`v = ${tomlValue(v)}`)).toEqual({ v } as any);
  });
});

describe("TOML entry replacement", () => {
  const text = [
    "# Codex config",
    'model = "o3"',
    "",
    "# memory server",
    "[mcp_servers.m]",
    'command = "npx" # launcher',
    "args = [",
    '  "-y",',
    '  "m",',
    "]",
    "startup_timeout_sec = 20 # slow first start",
    "",
    "[mcp_servers.m.env]",
    'OTHER = "w"',
    "",
    "# next one",
    "[mcp_servers.u]",
    'url = "https://x"',
    "",
  ].join("\n");

  test("rewrites only the changed keys, drops the env sub-table, keeps comments", () => {
    const { text: out, failed } = tomlFormat.replaceEntries(text, [
      { container: ["mcp_servers"], name: "m", entry: { ...proxy, startup_timeout_sec: 20 } },
    ]);
    expect(failed).toEqual([]);
    expect(out).toBe(
      [
        "# Codex config",
        'model = "o3"',
        "",
        "# memory server",
        "[mcp_servers.m]",
        'command = "/bin/rmcp-mux-proxy"',
        'args = ["--socket", "/s/m.sock"]',
        "startup_timeout_sec = 20 # slow first start",
        "",
        "# next one",
        "[mcp_servers.u]",
        'url = "https://x"',
        "",
      ].join("\n"),
    );
  });

  test("an inline env is dropped with the launch keys", () => {
    const t = `[mcp_servers.m]\ncommand = "npx"\nenv = { K = "v" }\nenabled = false\n`;
    const { text: out } = tomlFormat.replaceEntries(t, [{ container: ["mcp_servers"], name: "m", entry: { ...proxy, enabled: false } }]);
    expect(out).toBe(`[mcp_servers.m]\ncommand = "/bin/rmcp-mux-proxy"\nargs = ["--socket", "/s/m.sock"]\nenabled = false\n`);
  });

  test("entries not written as their own table are reported and left alone", () => {
    const inline = `[mcp_servers]\nm = { command = "npx", args = [] }\n`;
    const r = tomlFormat.replaceEntries(inline, [{ container: ["mcp_servers"], name: "m", entry: proxy }]);
    expect(r.text).toBe(inline);
    expect(r.failed[0]!.reason).toContain("[mcp_servers.m] table");
  });

  test("quoted table names are matched", () => {
    const t = `[mcp_servers."my.server"]\ncommand = "x"\n`;
    const r = tomlFormat.replaceEntries(t, [{ container: ["mcp_servers"], name: "my.server", entry: proxy }]);
    expect(TOML.parse(r.text)).toEqual({ mcp_servers: { "my.server": proxy } } as any);
  });

  test("maskSecrets hides inline env, env sub-tables and http headers only", () => {
    const t = `[s.a]\ncommand = "keep"\nenv = { K = "v1", "Q K" = 'v2' }\n[s.a.env]\nX = "v3"\n[s.b.http_headers]\nAuthorization = "v4"\n[s.c]\nu = "keep2"\n`;
    const m = tomlFormat.maskSecrets(t);
    for (const v of ["v1", "v2", "v3", "v4"]) expect(m).not.toContain(v);
    expect(m).toContain('command = "keep"');
    expect(m).toContain('u = "keep2"');
    expect(m).toContain('env = { K = "***", "Q K" = "***" }');
  });

  test("parse errors carry line and column", () => {
    expect(() => tomlFormat.parse('a = "x"\nb = = 1\n')).toThrow(/^line 2, column \d+/);
  });
});
