/**
 * Roots in a shared server-filesystem (docs/routing.md, server-requests): the server takes its allowed
 * directories from its client's roots and asks again on `notifications/roots/list_changed`. Two SDK 1.x
 * clients with different roots share one process; once the second has joined, the server's allowed
 * directories are the union, and once it has left, only the first's again. Sharing a roots-using server
 * shares access: that is the rule the README warns about, proven here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { BUN, cleanup, REPO, startDaemon, tempDir, waitFor, writeConfig } from "./harness.ts";
import { allText, connectSdkClient, expectWireClean, useSdkSuite, type SdkClient } from "./wire.ts";

const FILESYSTEM = path.join(REPO, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
let socket = "";
let dirA = "";
let dirB = "";

beforeAll(async () => {
  const base = realpathSync(tempDir());
  dirA = path.join(base, "ws-a");
  dirB = path.join(base, "ws-b");
  mkdirSync(dirA);
  mkdirSync(dirB);
  // No directories on the command line: the server runs on its clients' roots alone. Pinned to one shared
  // process: under "auto" a server that asks for roots runs per workspace.
  const cfg = writeConfig(undefined, { fs: { cmd: BUN, args: [FILESYSTEM], request_timeout_ms: 15_000, share: "shared" } });
  await startDaemon(cfg.configPath);
  socket = cfg.sockets.fs!;
});
useSdkSuite();
afterAll(cleanup);

async function allowed(c: SdkClient): Promise<string[]> {
  const r = await c.client.callTool({ name: "list_allowed_directories", arguments: {} });
  return allText(r)
    .split("\n")
    .filter((l) => l.startsWith("/"))
    .sort();
}

/** Polls the tool until the server shows `want` (it updates after its roots/list is answered; no event says when). */
function allowedBecomes(c: SdkClient, want: string[]): Promise<string[]> {
  const sorted = [...want].sort();
  let last: string[] = [];
  return waitFor(
    async () => {
      last = await allowed(c);
      return JSON.stringify(last) === JSON.stringify(sorted) ? last : undefined;
    },
    10_000,
    `allowed directories ${JSON.stringify(sorted)} (last seen ${JSON.stringify(last)})`,
    50,
  );
}

describe("server-filesystem shared by two clients with different roots", () => {
  test("the second client's roots reach the server when it joins, and leave with it", async () => {
    const a = await connectSdkClient(socket, "roots-a", { roots: () => [{ uri: `file://${dirA}`, name: "a" }] });
    await a.waitCalls("roots", 1, 10_000);
    expect(await allowedBecomes(a, [dirA])).toEqual([dirA]);

    const b = await connectSdkClient(socket, "roots-b", { roots: () => [{ uri: `file://${dirB}`, name: "b" }] });
    // B's arrival is told to the server, which asks again: both clients are asked, the union is its answer.
    await Promise.all([a.waitCalls("roots", 2, 10_000), b.waitCalls("roots", 1, 10_000)]);
    expect(await allowedBecomes(b, [dirA, dirB])).toEqual([dirA, dirB].sort());

    await b.client.close();
    await a.waitCalls("roots", 3, 10_000);
    expect(await allowedBecomes(a, [dirA])).toEqual([dirA]);
    expectWireClean();
  }, 40_000);
});
