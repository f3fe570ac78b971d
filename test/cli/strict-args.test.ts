/** The shared unknown-flag check (pure walk over citty definitions). */
import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { checkArgs } from "../../src/cli/strict-args.ts";

const root = defineCommand({
  args: { config: { type: "string" }, "show-status": { type: "boolean" }, json: { type: "boolean", alias: ["j"] } },
  subCommands: {
    rewire: () => Promise.resolve(defineCommand({ args: { host: { type: "string" }, "dry-run": { type: "boolean" } } })),
    service: defineCommand({ subCommands: { install: defineCommand({ args: { name: { type: "string" } } }) } }),
    files: defineCommand({ args: { paths: { type: "positional" } } }),
  },
});

describe("checkArgs", () => {
  test.each([
    [["--config", "m.toml", "--show-status"], []],
    [["--config=m.toml", "-j", "--no-json"], []],
    [["rewire", "--host", "--dry-run", "--dry-run"], ["rewire"]], // "--dry-run" is --host's value here
    [["service", "install", "--name", "x", "--help"], ["service", "install"]],
    [["files", "a", "b", "--", "--anything"], ["files"]],
  ])("accepts %j", async (argv, command) => {
    expect(await checkArgs(root, argv)).toEqual({ command });
  });

  test.each([
    [["rewire", "--dryrun"], "--dryrun", ["rewire"], "option"],
    [["--config", "m", "--status"], "--status", [], "option"],
    [["--config=m", "--bogus=1"], "--bogus", [], "option"],
    [["service", "install", "-n"], "-n", ["service", "install"], "option"],
    [["rewire", "--host", "x", "extra"], "extra", ["rewire"], "argument"],
    [["scna"], "scna", [], "argument"],
    [["--no-config"], "--no-config", [], "option"], // only booleans have a --no- form
  ])("refuses %j naming %s", async (argv, token, command, kind) => {
    expect((await checkArgs(root, argv)).unknown).toEqual({ token, command, kind: kind as "option" | "argument" });
  });
});
