/** The rules of `share = "auto"` (src/router/sharing.ts), each on its own and in their order. */
import { describe, expect, test } from "bun:test";
import {
  configuredPolicy,
  decideAuto,
  declaredHint,
  isStatefulTool,
  outranks,
  ROOTS_HINT,
  toolNames,
  toolsHint,
  unknownDeclaration,
} from "../../src/router/sharing.ts";

const declaring = (sharing: unknown) => ({ protocolVersion: "2025-06-18", capabilities: { tools: {}, experimental: { "x-mux": { sharing } } } });

describe("the server's declaration", () => {
  test("shared, isolated and session-aware map to their policies, each with its reason", () => {
    expect(declaredHint(declaring("shared"))).toEqual({ policy: "shared", reason: "declares x-mux sharing=shared", rule: "declaration" });
    expect(declaredHint(declaring("isolated"))).toEqual({ policy: "per-client", reason: "declares x-mux sharing=isolated", rule: "declaration" });
    expect(declaredHint(declaring("session-aware"))?.policy).toBe("session-aware");
  });

  test("no declaration, or one the rules do not know, decides nothing (and the unknown one is named)", () => {
    expect(declaredHint({ capabilities: { tools: {} } })).toBeNull();
    expect(declaredHint(null)).toBeNull();
    expect(declaredHint(declaring("per-client"))).toBeNull();
    expect(declaredHint(declaring(3))).toBeNull();
    expect(unknownDeclaration(declaring("per-client"))).toBe('"per-client"');
    expect(unknownDeclaration(declaring("isolated"))).toBeUndefined();
    expect(unknownDeclaration({ capabilities: {} })).toBeUndefined();
  });
});

describe("stateful tool names", () => {
  test("the prefixes and the two words mark a tool stateful; ordinary tools are not", () => {
    for (const n of ["browser_navigate", "page_click", "tab_new", "session_open", "editor_open", "go_navigate_to", "take_snapshot", "Browser_Click"]) {
      expect({ n, stateful: isStatefulTool(n) }).toEqual({ n, stateful: true });
    }
    for (const n of ["read_file", "search", "create_entities", "browse", "tabulate", "pages"]) {
      expect({ n, stateful: isStatefulTool(n) }).toEqual({ n, stateful: false });
    }
  });

  test("one stateful name among many makes the server per-client, and the reason names that tool", () => {
    expect(toolsHint(["echo", "browser_navigate", "browser_snapshot"])).toEqual({
      policy: "per-client",
      reason: "tool browser_navigate keeps per-session state",
      rule: "tools",
    });
    expect(toolsHint(["echo", "add"])).toBeNull();
  });

  test("tool names are read from a tools/list result, skipping what is not a named tool", () => {
    expect(toolNames({ tools: [{ name: "a" }, { name: 3 }, null, { title: "x" }, { name: "b" }] })).toEqual(["a", "b"]);
    expect(toolNames({ tools: "no" })).toEqual([]);
    expect(toolNames(null)).toEqual([]);
  });
});

describe("the order of the rules", () => {
  const isolated = declaredHint(declaring("isolated"))!;
  const sharedDecl = declaredHint(declaring("shared"))!;
  const browser = toolsHint(["browser_navigate"])!;

  test("declaration > stateful tools > roots > shared", () => {
    expect(decideAuto([])).toMatchObject({ policy: "shared", rule: "default" });
    expect(decideAuto([ROOTS_HINT])).toEqual(ROOTS_HINT);
    expect(decideAuto([ROOTS_HINT, browser])).toEqual(browser);
    expect(decideAuto([browser, ROOTS_HINT])).toEqual(browser);
    // A server that declares itself shared is shared, whatever its tools are called.
    expect(decideAuto([browser, sharedDecl, ROOTS_HINT])).toEqual(sharedDecl);
    expect(decideAuto([sharedDecl, isolated])).toEqual(sharedDecl); // the first of equals stands
  });

  test("outranks is strict, and a hint without a rule counts as the weakest rule for its policy", () => {
    expect(outranks(browser, ROOTS_HINT)).toBe(true);
    expect(outranks(ROOTS_HINT, browser)).toBe(false);
    expect(outranks(browser, browser)).toBe(false);
    expect(outranks({ policy: "per-client", reason: "x" }, ROOTS_HINT)).toBe(true);
    expect(outranks({ policy: "session-aware", reason: "x" }, browser)).toBe(true);
  });

  test("a configured policy is decided; auto is not until the server is seen", () => {
    expect(configuredPolicy("per-workspace")).toEqual({ policy: "per-workspace", reason: 'share = "per-workspace" in the config', decided: true });
    expect(configuredPolicy("auto")).toMatchObject({ policy: "shared", decided: false });
  });
});
