/**
 * The layering the code promises, read from the files themselves:
 * - src/wire/ (the line codec) imports nothing else of ours;
 * - src/router/ (the routing core) imports only itself and src/wire/;
 * - neither imports Bun or node: (they are pure: the runtime does the I/O);
 * - every file in src/ stays within the size a reader can hold (450 lines; the router facade 400).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { dispatchTable } from "../../src/router/dispatch.ts";
import { PARAM_RULES } from "../../src/router/dispatch.ts";
import { emptyRequestSpans, scanPlainRequest } from "../../src/wire/plain-request.ts";

const SRC = path.join(import.meta.dir, "../../src");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3]) as string);
  return out;
}

function violations(layer: string, allowed: (resolved: string) => boolean): string[] {
  const out: string[] = [];
  for (const file of filesUnder(path.join(SRC, layer))) {
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      const rel = path.relative(SRC, file);
      if (spec === "bun" || spec.startsWith("bun:") || spec.startsWith("node:")) {
        out.push(`${rel} imports ${spec}`);
        continue;
      }
      if (!spec.startsWith(".")) {
        out.push(`${rel} imports the package ${spec}`);
        continue;
      }
      const resolved = path.relative(SRC, path.resolve(path.dirname(file), spec));
      if (!allowed(resolved)) out.push(`${rel} imports ${resolved}`);
    }
  }
  return out;
}

describe("layers", () => {
  test("the import scanner sees static, re-exported and dynamic imports", () => {
    const text = `import a from "./a.ts";\nimport type { B } from "../b.ts";\nexport { c } from "./c.ts";\nconst d = await import("node:fs");\nimport "bun";`;
    expect(importsOf(text).sort()).toEqual(["../b.ts", "./a.ts", "./c.ts", "bun", "node:fs"]);
  });

  test("src/wire/ imports nothing but itself, and no runtime", () => {
    expect(violations("wire", (r) => r.startsWith("wire/"))).toEqual([]);
  });

  test("src/router/ imports only itself and src/wire/, and no runtime", () => {
    expect(violations("router", (r) => r.startsWith("router/") || r.startsWith("wire/"))).toEqual([]);
  });

  test("no file in src/ is over 450 lines, and the router facade is at most 400", () => {
    const long = filesUnder(SRC)
      .map((f) => ({ file: path.relative(SRC, f), lines: readFileSync(f, "utf8").split("\n").length - 1 }))
      .filter(({ file, lines }) => lines > (file === "router/router.ts" ? 400 : 450));
    expect(long).toEqual([]);
  });
});

describe("the dispatch table", () => {
  test("a request line naming a params-keyed rule never takes the fast path", () => {
    for (const key of PARAM_RULES) {
      const line = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"${key}":1}}}`;
      expect({ key, plain: scanPlainRequest(line, emptyRequestSpans()) }).toEqual({ key, plain: false });
    }
  });

  test("each method has one rule, and every request rule is a method the fast path must skip", () => {
    const noop = new Proxy({}, { get: () => () => {} }) as never;
    const t = dispatchTable({ lifecycle: noop, cancelProgress: noop, logging: noop, resources: noop, tasks: noop, serverRequests: noop, batches: noop, eras: noop, sharing: noop, roots: noop, meta: noop });
    expect([...t.request.keys()].sort()).toEqual([
      "initialize", "logging/setLevel", "ping", "resources/subscribe", "resources/unsubscribe",
      "server/discover", "subscriptions/listen", "tasks/cancel", "tasks/get", "tasks/list", "tasks/result", "tools/list",
    ]);
    expect([...t.notification.keys()].sort()).toEqual(["notifications/cancelled", "notifications/initialized", "notifications/roots/list_changed"]);
    expect(t.server.size).toBe(10);
  });
});
