/**
 * The CLI as a user runs it: unknown flags refused by every command (exit 2, named, nothing written), `--status`
 * accepted, a reader that stops early (`| head -1`) ends it cleanly, and no ANSI colours outside a terminal.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLI, copyHome, HOST_FILES, mux, removeHomes, where } from "../onboard/fixture-home.ts";

const dir = mkdtempSync("/tmp/mxc-");
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeHomes();
});

const COMMANDS = ["proxy", "daemon-status", "reload", "health", "scan", "rewire", "wizard", "check", "dashboard", "service", "service install", "service status"];

describe("unknown flags", () => {
  test.each(COMMANDS)("rmcp-mux %s --no-such-flag: exit 2, the flag named", async (cmd) => {
    const r = await mux([...cmd.split(" "), "--no-such-flag"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`rmcp-mux ${cmd}: unknown option --no-such-flag (see rmcp-mux ${cmd} --help)\n`);
    expect(r.stdout).toBe("");
  }, 30_000);

  test("the main command refuses one too, and starts nothing", async () => {
    const r = await mux(["--config", path.join(dir, "none.toml"), "--sattus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rmcp-mux: unknown option --sattus");
  }, 30_000);

  test("rewire --dryrun and scan --manfest write nothing", async () => {
    const h = copyHome();
    const before = readdirSync(path.join(h.home, ".cursor"));
    const text = readFileSync(path.join(h.home, HOST_FILES.cursor!), "utf8");
    const r = await mux(["rewire", "--host", "cursor", "--dryrun", ...where(h)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option --dryrun");
    expect(readFileSync(path.join(h.home, HOST_FILES.cursor!), "utf8")).toBe(text);
    expect(readdirSync(path.join(h.home, ".cursor"))).toEqual(before);
    const manifest = path.join(h.root, "x.toml");
    const s = await mux(["scan", ...where(h), "--manfest", manifest]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain("unknown option --manfest");
    expect(existsSync(manifest)).toBe(false);
  }, 30_000);

  test("--status is --show-status (as the original spells it)", async () => {
    const cfg = path.join(dir, "status.toml");
    writeFileSync(cfg, `status_socket = "${dir}/ctl.sock"\n[servers.a]\nsocket = "${dir}/a.sock"\ncmd = "true"\n`);
    const r = await mux(["--config", cfg, "--status"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no rmcp-mux daemon is running (nothing answers on ${dir}/ctl.sock)`);
    expect(existsSync(`${dir}/a.sock`)).toBe(false); // no daemon was started
  }, 30_000);
});

describe("output", () => {
  test("`check | head -1` exits 0 without a stack trace", async () => {
    const cfg = path.join(dir, "big.toml");
    const servers = Array.from({ length: 3000 }, (_, i) => `[servers.s${i}]\nsocket = "${dir}/s${i}.sock"\ncmd = "true"\n`);
    writeFileSync(cfg, servers.join(""));
    const sh = Bun.spawn(["bash", "-c", `"$0" "$1" check --config "$2" | head -1; echo "status=\${PIPESTATUS[0]}" >&2`, process.execPath, CLI, cfg], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err] = await Promise.all([new Response(sh.stdout).text(), new Response(sh.stderr).text()]);
    await sh.exited;
    expect(out).toBe(`ok: ${cfg}: 3000 server(s), control socket ${dir}/daemon.sock\n`);
    expect(err).toBe("status=0\n");
  }, 30_000);

  test("--help into a pipe has no ANSI codes, even without NO_COLOR", async () => {
    const p = Bun.spawn([process.execPath, CLI, "rewire", "--help"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "", CI: "", TEST: "" } });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(out).toContain("--dry-run");
    expect(out).not.toContain("\u001b[");
  }, 30_000);

  // util-linux `script` gives the CLI a pseudo-terminal; without it there is no terminal to test with.
  test.skipIf(!Bun.which("script"))("on a terminal it is coloured, unless NO_COLOR is set", async () => {
    const run = async (noColor: string) => {
      const env = { ...process.env, NO_COLOR: noColor, CI: "", TEST: "", TERM: "xterm" };
      const p = Bun.spawn(["script", "-qc", `"${process.execPath}" "${CLI}" check --help`, "/dev/null"], { stdout: "pipe", stderr: "pipe", env });
      const out = await new Response(p.stdout).text();
      await p.exited;
      return out;
    };
    const coloured = await run("");
    expect(coloured).toContain("--config");
    expect(coloured).toContain("\u001b[");
    expect(await run("1")).not.toContain("\u001b[");
  }, 30_000);
});
