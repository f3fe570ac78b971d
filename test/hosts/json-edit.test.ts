import { describe, expect, test } from "bun:test";
import { indentUnit, jsonFormat } from "../../src/hosts/json-edit.ts";
import { parseJsonc, toValue } from "../../src/hosts/jsonc.ts";

const proxy = { command: "/bin/rmcp-mux-proxy", args: ["--socket", "/s/m.sock"] };

describe("JSON entry replacement", () => {
  test("only the entry's span changes; every byte around it stays", () => {
    const text = `{\n  // keep me\n  "mcpServers": {\n    "m": {\n      "command": "npx",\n      "args": ["-y", "m"],\n      "env": { "K": "v" }\n    },\n    "u": { "url": "https://x" }\n  },\n  "other": [1,2,3]\n}\n`;
    const { text: out, failed } = jsonFormat.replaceEntries(text, [{ container: ["mcpServers"], name: "m", entry: proxy }]);
    expect(failed).toEqual([]);
    const start = text.indexOf('{\n      "command"');
    const end = text.indexOf("    },\n    \"u\"") + 5;
    expect(out.slice(0, start)).toBe(text.slice(0, start));
    expect(out.slice(out.length - (text.length - end))).toBe(text.slice(end));
    expect(out).toContain(`    "m": {\n      "command": "/bin/rmcp-mux-proxy",\n      "args": ["--socket", "/s/m.sock"]\n    },`);
    expect((toValue(parseJsonc(out)) as any).mcpServers.m).toEqual(proxy);
  });

  test("keeps tab indentation and CRLF line ends", () => {
    const text = `{\r\n\t"mcpServers": {\r\n\t\t"m": {\r\n\t\t\t"command": "npx",\r\n\t\t\t"args": []\r\n\t\t}\r\n\t}\r\n}\r\n`;
    expect(indentUnit(text)).toBe("\t");
    const { text: out } = jsonFormat.replaceEntries(text, [{ container: ["mcpServers"], name: "m", entry: proxy }]);
    expect(out).toBe(
      `{\r\n\t"mcpServers": {\r\n\t\t"m": {\r\n\t\t\t"command": "/bin/rmcp-mux-proxy",\r\n\t\t\t"args": ["--socket", "/s/m.sock"]\r\n\t\t}\r\n\t}\r\n}\r\n`,
    );
  });

  test("a one-line entry stays on one line", () => {
    const text = `{"mcpServers": {"m": {"command": "npx", "args": ["m"]}, "n": {"command": "x"}}}`;
    const { text: out } = jsonFormat.replaceEntries(text, [{ container: ["mcpServers"], name: "m", entry: proxy }]);
    expect(out).toBe(`{"mcpServers": {"m": { "command": "/bin/rmcp-mux-proxy", "args": ["--socket", "/s/m.sock"] }, "n": {"command": "x"}}}`);
  });

  test("values kept from the old entry keep their own text, comments inside included", () => {
    const text = `{\n  "mcpServers": {\n    "m": {\n      "command": "npx",\n      "includeTools": [\n        "a", // the useful one\n        "b"\n      ],\n      "trust": false\n    }\n  }\n}\n`;
    const entry = { ...proxy, includeTools: ["a", "b"], trust: false };
    const { text: out } = jsonFormat.replaceEntries(text, [{ container: ["mcpServers"], name: "m", entry }]);
    expect(out).toContain(`"includeTools": [\n        "a", // the useful one\n        "b"\n      ],\n      "trust": false\n    }`);
  });

  test("entries in nested containers (Claude Code projects) are found by path", () => {
    const text = `{"projects": {"/p": {"mcpServers": {"m": {"command": "a"}}}}, "mcpServers": {"m": {"command": "b"}}}`;
    const { text: out } = jsonFormat.replaceEntries(text, [{ container: ["projects", "/p", "mcpServers"], name: "m", entry: proxy }]);
    const doc = toValue(parseJsonc(out)) as any;
    expect(doc.projects["/p"].mcpServers.m).toEqual(proxy);
    expect(doc.mcpServers.m).toEqual({ command: "b" });
  });

  test("a missing entry is reported, not invented", () => {
    const text = `{"mcpServers": {}}`;
    const r = jsonFormat.replaceEntries(text, [{ container: ["mcpServers"], name: "gone", entry: proxy }]);
    expect(r.failed).toEqual([{ index: 0, reason: "entry not found as an object" }]);
    expect(r.text).toBe(text);
  });

  test("maskSecrets hides env and header values, and nothing else", () => {
    const text = `{"a": {"env": {"K": "secret1", "N": 5}, "headers": {"Authorization": "Bearer secret2"}, "args": ["visible"]}}`;
    const masked = jsonFormat.maskSecrets(text);
    expect(masked).toBe(`{"a": {"env": {"K": "***", "N": 5}, "headers": {"Authorization": "***"}, "args": ["visible"]}}`);
  });
});
