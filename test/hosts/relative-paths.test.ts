import { describe, expect, test } from "bun:test";
import { readEntry } from "../../src/hosts/entry.ts";
import { anchorPaths, relativeArg, relativeCommand } from "../../src/hosts/relative-paths.ts";

describe("what counts as relative", () => {
  test.each([
    ["./dist/index.js", true],
    ["../srv/main.py", true],
    ["server.py", true],
    ["dist/index.js", true],
    ["/abs/index.js", false],
    ["~/x.js", false],
    ["-y", false],
    ["@modelcontextprotocol/server-memory", false],
    ["postgresql://localhost/db", false],
    ["--config=./x.json", false],
    ["mcp-server-fetch", false],
  ])("argument %s: %p", (a, rel) => expect(relativeArg(a)).toBe(rel));

  test.each([
    ["npx", false],
    ["/usr/bin/node", false],
    ["~/bin/x", false],
    ["./bin/server", true],
    ["bin/server", true],
  ])("command %s: %p", (c, rel) => expect(relativeCommand(c)).toBe(rel));
});

describe("anchorPaths", () => {
  test("nothing relative: unchanged, no cwd added", () => {
    expect(anchorPaths("npx", ["-y", "pkg"], undefined, "/proj")).toEqual({ command: "npx", args: ["-y", "pkg"] });
  });

  test("a known folder becomes the cwd; the command and ./ arguments become absolute", () => {
    expect(anchorPaths("./bin/run", ["./dist/index.js", "dist/other.js", "-v"], undefined, "/proj")).toEqual({
      command: "/proj/bin/run",
      args: ["/proj/dist/index.js", "dist/other.js", "-v"],
      cwd: "/proj",
    });
  });

  test("an absolute cwd is the folder; a relative cwd is resolved against the known folder", () => {
    expect(anchorPaths("node", ["./i.js"], "/srv/app", undefined)).toEqual({ command: "node", args: ["/srv/app/i.js"], cwd: "/srv/app" });
    expect(anchorPaths("python", ["-m", "x"], "sub", "/proj")).toEqual({ command: "python", args: ["-m", "x"], cwd: "/proj/sub" });
  });

  test("no folder: flagged with the first relative path, nothing changed", () => {
    expect(anchorPaths("node", ["./dist/index.js"], undefined, undefined)).toEqual({ command: "node", args: ["./dist/index.js"], unresolved: "./dist/index.js" });
    expect(anchorPaths("python", [], "sub", undefined).unresolved).toBe("sub");
  });
});

describe("readEntry with a folder", () => {
  const base = { host: "claude-code", file: "/h/.claude.json", scope: "project /proj", container: ["projects", "/proj", "mcpServers"] };
  test("a project entry is anchored to its project", () => {
    const e = readEntry({ ...base, folder: "/proj" }, "local", { command: "node", args: ["./dist/index.js"] });
    expect([e.kind, e.command, e.args, e.cwd]).toEqual(["stdio", "node", ["/proj/dist/index.js"], "/proj"]);
    expect(e.raw).toEqual({ command: "node", args: ["./dist/index.js"] }); // the host's own text is not touched
  });
  test("a user entry without a folder is flagged", () => {
    const e = readEntry({ ...base, scope: "user", container: ["mcpServers"] }, "local", { command: "node", args: ["./dist/index.js"] });
    expect([e.kind, e.unresolved]).toEqual(["relative", "./dist/index.js"]);
  });
});
