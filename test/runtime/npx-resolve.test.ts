/** The pure half of running npx servers without npm: reading the command line, picking the bin and its node. */
import { describe, expect, test } from "bun:test";
import { binsOf, chooseBin, interpreterOf, packageName, probeArgv, readNpx } from "../../src/runtime/npx-resolve.ts";

const plan = (cmd: string, args: string[]) => {
  const r = readNpx(cmd, args);
  if (r === null || !("plan" in r)) throw new Error(`expected a plan, got ${JSON.stringify(r)}`);
  return r.plan;
};
const why = (cmd: string, args: string[]) => {
  const r = readNpx(cmd, args);
  if (r === null || !("asWritten" in r)) throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
  return r.asWritten;
};

describe("readNpx", () => {
  test("is silent about commands that are not npx", () => {
    expect(readNpx("node", ["server.js"])).toBeNull();
    expect(readNpx("npm", ["run", "start"])).toBeNull();
    expect(readNpx("/usr/bin/npxx", ["-y", "a"])).toBeNull();
  });

  test("npx -y PKG ARGS: the package, its args (flags included), and --yes for npm", () => {
    const p = plan("npx", ["-y", "@modelcontextprotocol/server-filesystem", "--root", "/tmp", "-v"]);
    expect(p).toEqual({
      tool: "npx",
      npmExec: false,
      spec: "@modelcontextprotocol/server-filesystem",
      name: "@modelcontextprotocol/server-filesystem",
      command: null,
      npmFlags: ["--yes"],
      install: true,
      args: ["--root", "/tmp", "-v"],
    });
  });

  test("a version or tag stays in the spec; the name drops it", () => {
    expect(plan("npx", ["--yes", "pkg@1.2.3"])).toMatchObject({ spec: "pkg@1.2.3", name: "pkg" });
    expect(plan("npx", ["@s/pkg@latest"])).toMatchObject({ spec: "@s/pkg@latest", name: "@s/pkg", npmFlags: ["--yes"] });
  });

  test("-p PKG CMD names the bin; --package=PKG works too", () => {
    expect(plan("npx", ["-p", "pkg", "pkg-cli", "a"])).toMatchObject({ spec: "pkg", command: "pkg-cli", args: ["a"] });
    expect(plan("npx", ["--package=pkg@2", "--", "tool"])).toMatchObject({ spec: "pkg@2", name: "pkg", command: "tool", args: [] });
  });

  test("fetch options are repeated to npm; --no keeps npm from installing", () => {
    const p = plan("/opt/node/bin/npx", ["--registry", "http://r.local/", "--prefer-offline", "--no", "pkg"]);
    expect(p.tool).toBe("/opt/node/bin/npx");
    expect(p.npmFlags).toEqual(["--registry=http://r.local/", "--prefer-offline", "--no"]);
    expect(p.install).toBe(false);
    expect(plan("npx", ["--yes=false", "pkg"]).install).toBe(false);
  });

  test("npm exec and npm x: options after the package only after --", () => {
    expect(plan("npm", ["exec", "--yes", "--", "pkg", "--flag"])).toMatchObject({ npmExec: true, spec: "pkg", args: ["--flag"] });
    expect(plan("npm", ["x", "pkg", "arg"])).toMatchObject({ npmExec: true, args: ["arg"] });
    expect(why("npm", ["exec", "pkg", "--flag"])).toContain("after --");
  });

  test("anything uncertain is left as written, with the reason", () => {
    expect(why("npx", ["-c", "echo hi"])).toBe("-c runs a shell command");
    expect(why("npx", ["--call=echo"])).toBe("--call runs a shell command");
    expect(why("npx", ["--ignore-existing", "pkg"])).toBe("unknown npx option --ignore-existing");
    expect(why("npx", ["-yq", "pkg"])).toBe("unknown npx option -yq");
    expect(why("npx", ["-p", "a", "-p", "b", "cmd"])).toBe("several packages (a, b)");
    expect(why("npx", ["-y"])).toBe("no package or command given");
    expect(why("npx", ["github:user/repo"])).toBe("github:user/repo is not a registry package name");
    expect(why("npx", ["./local-dir"])).toBe("./local-dir is not a registry package name");
    expect(why("npx", ["--registry"])).toBe("--registry has no value");
  });
});

test("packageName reads registry specs only", () => {
  expect(packageName("a")).toBe("a");
  expect(packageName("@s/a.b_c@^1.0")).toBe("@s/a.b_c");
  expect(packageName("a@npm:b@1")).toBeNull();
  expect(packageName("https://x/y.tgz")).toBeNull();
  expect(packageName("user/repo")).toBeNull();
});

test("probeArgv asks the same npm, with the same options, to run the probe", () => {
  expect(probeArgv(plan("npx", ["-y", "--prefer-offline", "pkg@1", "x"]), "P")).toEqual([
    "npx", "--prefer-offline", "--yes", "--package=pkg@1", "--", "node", "-e", "P", "pkg",
  ]);
  expect(probeArgv(plan("npm", ["exec", "pkg"]), "P")).toEqual(["npm", "exec", "--yes", "--package=pkg", "--", "node", "-e", "P", "pkg"]);
});

describe("chooseBin follows npx's rule", () => {
  test("a string bin is named after the package, scope dropped", () => {
    expect(binsOf("@s/srv", "dist/index.js")).toEqual({ srv: "dist/index.js" });
    expect(binsOf("x", null)).toEqual({});
  });
  test("the only bin, else the one named after the package", () => {
    expect(chooseBin("@s/srv", { "mcp-srv": "a.js" }, null)).toEqual({ bin: "mcp-srv" });
    expect(chooseBin("@s/srv", { other: "a.js", srv: "b.js" }, null)).toEqual({ bin: "srv" });
  });
  test("the bin -p named, which must exist", () => {
    expect(chooseBin("p", { a: "a.js", b: "b.js" }, "b")).toEqual({ bin: "b" });
    expect(chooseBin("p", { a: "a.js" }, "c")).toEqual({ asWritten: "c is not a bin of p" });
  });
  test("several bins and none named after the package, or none at all: as written", () => {
    expect(chooseBin("p", { a: "a.js", b: "b.js" }, null)).toEqual({ asWritten: "p has several bins (a, b) and none is named p" });
    expect(chooseBin("p", {}, null)).toEqual({ asWritten: "p has no bin" });
  });
});

describe("interpreterOf", () => {
  test("#!/usr/bin/env node runs the node on npm's PATH; #!/abs/node runs that one", () => {
    expect(interpreterOf("#!/usr/bin/env node", "/usr/bin/node")).toEqual({ node: "/usr/bin/node" });
    expect(interpreterOf("#!/usr/bin/env node\r", "/n")).toEqual({ node: "/n" });
    expect(interpreterOf("#! /opt/node/bin/node", "/n")).toEqual({ node: "/opt/node/bin/node" });
  });
  test("interpreter options, other interpreters and binaries stay with npx", () => {
    for (const l of ["#!/usr/bin/env -S node --no-warnings", "#!/usr/bin/env python3", "#!/bin/sh", "\u007fELF\u0002"]) {
      expect("asWritten" in interpreterOf(l, "/n")).toBe(true);
    }
  });
});
