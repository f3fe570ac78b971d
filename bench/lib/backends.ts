/** The two backends every path is measured against, and where things live. */
import { readFileSync } from "node:fs";
import path from "node:path";

export const REPO = path.resolve(import.meta.dir, "../..");
export const BENCH = path.join(REPO, "bench");
export const BUN = process.execPath;
export const FIXTURE = path.join(REPO, "test/fixtures/fixture-server.ts");
export const EVERYTHING = path.join(REPO, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
export const CLI_SRC = path.join(REPO, "src/cli/main.ts");
export const PROXY_SRC = path.join(REPO, "src/proxy/main.ts");
export const LOOPBACK_PRELOAD = path.join(BENCH, "lib/loopback-only.cjs");

/** `node` on PATH (the real server runs under node, as hosts run it through npx). */
export const NODE: string = Bun.which("node") ?? "node";

export type BackendName = "fixture" | "everything";

export interface BackendSpec {
  name: BackendName;
  /** what to run: argv[0] and the rest */
  cmd: string;
  args: string[];
  tool: string;
  /** the argument that carries the text to echo */
  argKey: string;
  /** the text the tool answers for `text` */
  expect(text: string): string;
  describe: string;
}

export const BACKENDS: Record<BackendName, BackendSpec> = {
  fixture: {
    name: "fixture",
    cmd: BUN,
    args: [FIXTURE],
    tool: "echo",
    argKey: "text",
    expect: (t) => t,
    describe: "test/fixtures/fixture-server.ts under bun (answers at once: measures the path's own overhead)",
  },
  everything: {
    name: "everything",
    cmd: NODE,
    args: [EVERYTHING, "stdio"],
    tool: "echo",
    argKey: "message",
    expect: (t) => `Echo: ${t}`,
    describe: "@modelcontextprotocol/server-everything `echo` under node (a real SDK server)",
  },
};

export function packageVersion(dir: string): string {
  try {
    return String(JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).version);
  } catch {
    return "unknown";
  }
}

/** A shell-safe rendering of argv, for the log and for gateways that take a command string. */
export function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
