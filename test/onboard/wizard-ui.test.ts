import { describe, expect, test } from "bun:test";
import { applyToggle, checklist, isYes, summary } from "../../src/onboard/wizard-ui.ts";

describe("wizard answers", () => {
  const four = [true, false, true, false];
  test.each([
    ["", { done: true }],
    ["  ", { done: true }],
    ["a", { set: [true, true, true, true] }],
    ["N", { set: [false, false, false, false] }],
    ["2", { set: [true, true, true, false] }],
    ["1, 4", { set: [false, false, true, true] }],
    ["2-4", { set: [true, true, false, true] }],
    ["1 1", { set: [true, false, true, false] }],
  ])("toggle %j", (input, expected) => {
    expect(applyToggle(input, four)).toEqual(expected as any);
  });

  test.each(["0", "5", "3-2", "1-9", "x", "1;2"])("toggle %j is refused with the valid range", (input) => {
    const r = applyToggle(input, four);
    expect("error" in r && r.error).toContain("from 1 to 4");
  });

  test("only y or yes confirms", () => {
    for (const a of ["y", "Y", " yes ", "YES"]) expect(isYes(a)).toBe(true);
    for (const a of ["", "n", "no", "yep", "ok", null]) expect(isYes(a)).toBe(false);
  });

  test("checklist aligns labels and numbers", () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ label: i === 9 ? "long-name" : `s${i}`, detail: "cmd" }));
    const text = checklist(rows, rows.map((_, i) => i % 2 === 0));
    expect(text.split("\n")[0]).toBe("   1. [x] s0         cmd");
    expect(text.split("\n")[9]).toBe("  10. [ ] long-name  cmd");
  });

  test("summary says what will be written and where", () => {
    const s = summary({ config: "~/mux.toml", configExists: false, added: ["a", "b"], kept: [], socketDir: "~/s", rewire: [], proxy: "/p" });
    expect(s).toContain("Config:   ~/mux.toml (new file, mode 0600)");
    expect(s).toContain("Servers:  a, b");
    expect(s).toContain("Rewire:   none (later: rmcp-mux rewire --host NAME)");
    expect(s).not.toContain("Proxy:");
  });
});
