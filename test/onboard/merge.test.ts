import { describe, expect, test } from "bun:test";
import { readEntry } from "../../src/hosts/entry.ts";
import type { HostEntry } from "../../src/hosts/types.ts";
import { planServers, safeName } from "../../src/onboard/merge.ts";

function entry(host: string, name: string, raw: Record<string, unknown>, scope = "user"): HostEntry {
  return readEntry({ host, file: `/h/${host}.json`, scope, container: ["mcpServers"] }, name, raw);
}

describe("planServers", () => {
  test("the same command and args in several hosts is one server that lists them all", () => {
    const p = planServers(
      [
        entry("claude-desktop", "memory", { command: "npx", args: ["-y", "mem"] }),
        entry("cursor", "mem", { command: "npx", args: ["-y", "mem"] }),
        entry("junie", "memory", { command: "npx", args: ["-y", "mem"] }),
        entry("cursor", "web", { url: "https://x" }),
      ],
      "/s",
    );
    expect(p).toHaveLength(1);
    expect(p[0]!.name).toBe("memory");
    expect(p[0]!.socket).toBe("/s/memory.sock");
    expect(p[0]!.sources.map((e) => e.host)).toEqual(["claude-desktop", "cursor", "junie"]);
  });

  test("different servers with the same name get distinct names, the first keeps it", () => {
    const p = planServers(
      [
        entry("claude-desktop", "memory", { command: "npx", args: ["mem"] }),
        entry("claude-code", "memory", { command: "uvx", args: ["other-mem"] }),
        entry("cursor", "memory", { command: "node", args: ["/opt/third.js"] }),
        entry("codex", "memory", { command: "node", args: ["/opt/fourth.js"] }),
        entry("codex", "memory-cursor", { command: "node", args: ["/opt/fifth.js"] }),
      ],
      "/s",
    );
    expect(p.map((s) => s.name)).toEqual(["memory", "memory-claude-code", "memory-cursor", "memory-codex", "memory-cursor-codex"]);
    expect(new Set(p.map((s) => s.socket)).size).toBe(5);
  });

  test("numbered names when the host-suffixed one is taken too", () => {
    const p = planServers(
      [
        entry("cursor", "x", { command: "a" }),
        entry("cursor", "x-cursor", { command: "b" }),
        entry("cursor", "x ", { command: "c" }),
      ],
      "/s",
    );
    expect(p.map((s) => s.name)).toEqual(["x", "x-cursor", "x-2"]);
  });

  test("cwd is part of what makes a server", () => {
    const p = planServers([entry("a", "py", { command: "python", cwd: "/one" }), entry("b", "py", { command: "python", cwd: "/two" })], "/s");
    expect(p.map((s) => [s.name, s.cwd])).toEqual([
      ["py", "/one"],
      ["py-b", "/two"],
    ]);
  });

  test("env is part of what makes a server: differing values or keys make separate servers, each with its own env", () => {
    const p = planServers(
      [
        entry("claude-code", "memory", { command: "npx", args: ["mem"], env: { MEMORY_FILE_PATH: "/m/memory.jsonl" } }),
        entry("gemini", "memory", { command: "npx", args: ["mem"], env: { MEMORY_FILE_PATH: "/m/gmem.jsonl" } }),
        entry("codex", "memory", { command: "npx", args: ["mem"], env: { MEMORY_FILE_PATH: "/m/cmem.jsonl", SECRET_TOKEN: "s" } }),
        // The same values in another key order are the same server.
        entry("cursor", "memory", { command: "npx", args: ["mem"], env: { SECRET_TOKEN: "s", MEMORY_FILE_PATH: "/m/cmem.jsonl" } }),
      ],
      "/s",
    );
    expect(p.map((s) => [s.name, s.env, s.sources.map((e) => e.host)])).toEqual([
      ["memory", { MEMORY_FILE_PATH: "/m/memory.jsonl" }, ["claude-code"]],
      ["memory-gemini", { MEMORY_FILE_PATH: "/m/gmem.jsonl" }, ["gemini"]],
      ["memory-codex", { MEMORY_FILE_PATH: "/m/cmem.jsonl", SECRET_TOKEN: "s" }, ["codex", "cursor"]],
    ]);
  });

  test("an empty env and no env are the same server", () => {
    const p = planServers([entry("a", "m", { command: "npx", env: {} }), entry("b", "m", { command: "npx" })], "/s");
    expect(p).toHaveLength(1);
  });

  test("servers already in the manifest keep their name and socket; new names avoid theirs", () => {
    const existing = [{ name: "memory", cmd: "npx", args: ["mem"], env: {}, socket: "/old/memory.sock" }];
    const p = planServers(
      [entry("cursor", "mem", { command: "npx", args: ["mem"] }), entry("cursor", "memory", { command: "uvx", args: ["x"] })],
      "/s",
      existing,
    );
    expect(p.map((s) => [s.name, s.socket, s.existing])).toEqual([
      ["memory", "/old/memory.sock", true],
      ["memory-cursor", "/s/memory-cursor.sock", false],
    ]);
  });

  test("proxy, remote and templated entries are not servers to add", () => {
    const p = planServers(
      [
        entry("a", "p", { command: "rmcp-mux-proxy", args: ["--socket", "/s/p.sock"] }),
        entry("a", "r", { type: "http", url: "https://x" }),
        entry("a", "t", { command: "npx", env: { K: "${input:k}" } }),
      ],
      "/s",
    );
    expect(p).toEqual([]);
  });

  test("safeName keeps names our config accepts", () => {
    expect(safeName("My Server/v2")).toBe("My-Server-v2");
    expect(safeName("..hidden")).toBe("hidden");
    expect(safeName("@@@")).toBe("server");
    expect(safeName("a.b_c-d")).toBe("a.b_c-d");
  });
});
