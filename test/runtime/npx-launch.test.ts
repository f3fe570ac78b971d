/** Launch's bookkeeping (when npm is asked, what runs meanwhile), with a resolver the test answers by hand. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Launch, type LaunchConfig, type Resolution } from "../../src/runtime/npx-launch.ts";
import type { NpxPlan } from "../../src/runtime/npx-resolve.ts";

function setup(over: Partial<LaunchConfig> = {}) {
  const asked: Array<{ plan: NpxPlan; answer: (r: Resolution) => void }> = [];
  const logs: string[] = [];
  const launch = new Launch(
    { name: "m", cmd: "npx", args: ["-y", "pkg", "--x"], env: {}, launch: "resolve", ...over },
    (level, msg) => logs.push(`${level} ${msg}`),
    (plan) => new Promise((answer) => asked.push({ plan, answer })),
  );
  return { launch, asked, logs };
}

const dir = mkdtempSync("/tmp/nl-");
const bin = path.join(dir, "bin.js");
writeFileSync(bin, "#!/usr/bin/env node\n");
const direct = (file = bin): Resolution => ({ resolved: { argv: [process.execPath, file, "--x"], files: [file], what: "pkg 1.0.0" } });
const flush = () => new Promise((r) => setTimeout(r, 0));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("commands that are not npx, and launch = as-written, run as written without asking npm", () => {
  for (const over of [{ cmd: "node", args: ["s.js"] }, { launch: "as-written" as const }]) {
    const { launch, asked } = setup(over);
    expect(launch.argv(() => {})).toEqual([over.cmd ?? "npx", ...(over.args ?? ["-y", "pkg", "--x"])]);
    expect(asked).toHaveLength(0);
    expect(launch.note).toBeUndefined();
  }
});

test("npm is asked once; spawns wait for the answer, each waiting callback runs once", async () => {
  const { launch, asked } = setup();
  let ready = 0;
  const cb = () => ready++;
  expect(launch.argv(cb)).toBeNull();
  expect(launch.argv(cb)).toBeNull();
  expect(asked).toHaveLength(1);
  expect(launch.note).toBe("asking npm for pkg");
  asked[0]!.answer(direct());
  await flush();
  expect(ready).toBe(1);
  expect(launch.argv(cb)).toEqual([process.execPath, bin, "--x"]);
  expect(launch.command).toEqual([process.execPath, bin, "--x"]);
  expect(launch.note).toBe("npx resolved to pkg 1.0.0; started without npm");
  expect(asked).toHaveLength(1);
});

test("a failed resolution runs the command as written, logged once with the reason", async () => {
  const { launch, asked, logs } = setup();
  launch.argv(() => {});
  asked[0]!.answer({ asWritten: "npm could not resolve pkg: E404" });
  await flush();
  expect(launch.argv(() => {})).toEqual(["npx", "-y", "pkg", "--x"]);
  expect(launch.argv(() => {})).toEqual(["npx", "-y", "pkg", "--x"]);
  expect(logs.filter((l) => l.includes("as written"))).toEqual(["warn running npx as written: npm could not resolve pkg: E404"]);
  expect(asked).toHaveLength(1);
});

test("a command line npx-resolve cannot read is logged once at creation and never sent to npm", () => {
  const { launch, asked, logs } = setup({ args: ["-c", "echo"] });
  expect(launch.argv(() => {})).toEqual(["npx", "-c", "echo"]);
  expect(asked).toHaveLength(0);
  expect(logs).toEqual(["info running npx as written: -c runs a shell command"]);
  expect(launch.note).toBe("as written: -c runs a shell command");
});

test("refresh asks again (once more if asked while npm is still answering); a vanished file asks again too", async () => {
  const { launch, asked, logs } = setup();
  launch.argv(() => {});
  asked[0]!.answer(direct());
  await flush();
  const refreshed = launch.refresh();
  void launch.refresh(); // while the first refresh runs: one more round, not a second parallel one
  expect(asked).toHaveLength(2);
  asked[1]!.answer(direct());
  await flush();
  expect(asked).toHaveLength(3);
  const other = path.join(dir, "other.js");
  writeFileSync(other, "");
  asked[2]!.answer(direct(other));
  await refreshed;
  expect(launch.command[1]).toBe(other);

  rmSync(other);
  let ready = false;
  expect(launch.argv(() => (ready = true))).toBeNull();
  expect(logs.at(-1)).toBe(`warn ${other} is gone; asking npm for pkg again`);
  asked[3]!.answer(direct());
  await flush();
  expect(ready).toBe(true);
  expect(launch.argv(() => {})?.[1]).toBe(bin);
});

test("dispose: an answer arriving after it wakes nobody", async () => {
  const { launch, asked } = setup();
  let ready = false;
  launch.argv(() => (ready = true));
  launch.dispose();
  asked[0]!.answer(direct());
  await flush();
  expect(ready).toBe(false);
});
