/**
 * docs/routing.md is the project's own rule book: one section per message family (the names the router's
 * dispatch is organised by), links that resolve, and no file of the repository citing notes outside it.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const REPO = path.join(import.meta.dir, "../..");
const DOC = path.join(REPO, "docs/routing.md");
/** The message families, and `versions` (what each protocol version defines) after the handshake that decides it. */
const FAMILIES = ["lifecycle", "versions", "cancel-progress", "logging", "resources", "tasks", "server-requests", "batch", "eras"];

function tracked(): string[] {
  const r = Bun.spawnSync(["git", "ls-files", "-co", "--exclude-standard"], { cwd: REPO, stdout: "pipe" });
  return r.stdout.toString().split("\n").filter((f) => f !== "" && existsSync(path.join(REPO, f)));
}

describe("docs/routing.md", () => {
  test("has one section per message family, in this order, after the common ground", () => {
    const headings = [...readFileSync(DOC, "utf8").matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(["Common ground: lines, ids, slots, errors", ...FAMILIES]);
  });

  test("every relative link in it and in the README points at a file of the repository", () => {
    for (const file of [DOC, path.join(REPO, "README.md")]) {
      const links = [...readFileSync(file, "utf8").matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map((m) => m[1] as string);
      const local = links.filter((l) => !/^[a-z]+:/.test(l));
      expect(local.length).toBeGreaterThan(0);
      for (const l of local) expect({ file, l, exists: existsSync(path.resolve(path.dirname(file), l)) }).toEqual({ file, l, exists: true });
    }
  });

  test("the README, the router and its rule tests cite it", () => {
    for (const f of ["README.md", "src/router/router.ts", "test/router/rules.test.ts"]) {
      expect({ f, cites: readFileSync(path.join(REPO, f), "utf8").includes("docs/routing.md") }).toEqual({ f, cites: true });
    }
  });

  test("no file of the repository cites notes that live outside it", () => {
    // Built from parts so that this file does not match itself.
    const outside = ["shared/" + "mcp-mux-routing", "bun-" + "notes", "/work/" + "shared"];
    const files = tracked().filter((f) => /\.(ts|md|toml|json|sh|in)$/.test(f) && !f.startsWith("bench/results/"));
    expect(files.length).toBeGreaterThan(100);
    const hits = files.flatMap((f) => {
      const text = readFileSync(path.join(REPO, f), "utf8");
      return outside.filter((o) => text.includes(o)).map((o) => `${f}: ${o}`);
    });
    expect(hits).toEqual([]);
  });
});
