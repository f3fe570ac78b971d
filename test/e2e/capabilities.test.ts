/**
 * The mux never fakes a capability the server lacks (docs/routing.md "logging"): server-filesystem declares no
 * `logging`, so `logging/setLevel` through the mux gets the same -32601 as without it, not a local `{}`.
 * Both sides with the official SDK 1.x client.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { BUN, REPO, startDaemon, writeConfig } from "./harness.ts";
import { connectSdkClient, useSdkSuite } from "./wire.ts";

useSdkSuite();

const FILESYSTEM = path.join(REPO, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
const T = { timeout: 15_000 };

/** What a promise rejected with: its JSON-RPC code, or "resolved" when it did not reject. */
async function codeOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return (e as { code?: number }).code ?? String(e);
  }
}

describe("capabilities are the server's own", () => {
  test(
    "logging/setLevel for server-filesystem (no logging capability): -32601 directly and through the mux",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "mux-fs-"));
      const direct = new Client({ name: "direct", version: "1" });
      await direct.connect(new StdioClientTransport({ command: BUN, args: [FILESYSTEM, dir], stderr: "ignore" }), T);
      try {
        expect(direct.getServerCapabilities()?.logging).toBeUndefined();
        expect(await codeOf(direct.setLoggingLevel("debug", T))).toBe(-32601);
      } finally {
        await direct.close();
      }

      const cfg = writeConfig(undefined, { fs: { cmd: BUN, args: [FILESYSTEM, dir] } });
      await startDaemon(cfg.configPath);
      const [one, two] = [await connectSdkClient(cfg.sockets.fs!, "fs-1"), await connectSdkClient(cfg.sockets.fs!, "fs-2")];
      for (const c of [one, two]) {
        expect(c.client.getServerCapabilities()?.logging).toBeUndefined();
        expect(await codeOf(c.client.setLoggingLevel("debug", T))).toBe(-32601);
      }
      // the server still works for both
      const tools = await two.client.listTools(undefined, T);
      expect(tools.tools.map((t) => t.name)).toContain("list_directory");
    },
    60_000,
  );
});
