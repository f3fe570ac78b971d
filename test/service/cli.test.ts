/**
 * `rmcp-mux service install|uninstall|status` run as `bun src/cli/main.ts service …` with HOME in a temp dir.
 * systemctl and launchctl are stand-ins on PATH that record each call (and keep a little state), so the real
 * command sequences are checked without touching this machine's service managers.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildSpec, locate } from "../../src/service/platform.ts";
import { shellLine } from "../../src/service/actions.ts";
import { renderLaunchdPlist, renderSystemdUnit, systemdWord } from "../../src/service/render.ts";
import { BUN, CLI, cleanup, REPO, startDaemon, tempDir, writeConfig } from "../e2e/harness.ts";

afterEach(cleanup);
afterAll(cleanup);
// Measured: up to 7.6 s for one test alone at a load average of 14 on 2 cores (each runs the CLI several times,
// one starts a daemon). A full \`bun test\` run timed two of them out at 5 s, the preload's 30 s default
// notwithstanding, so the file states its own.
setDefaultTimeout(60_000);

const UID = process.getuid?.() ?? 0;
const SHOW = "--property=LoadState,ActiveState,SubState,MainPID,UnitFileState,NRestarts";

const FAKE_SYSTEMCTL = `#!/bin/sh
echo "systemctl $*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ] && [ "$2" = "$FAKE_FAIL" ]; then echo "Failed to $2 unit: Access denied" >&2; exit 1; fi
case "$2" in
  show) printf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\nMainPID=4242\\nUnitFileState=enabled\\nNRestarts=1\\n' ;;
  disable) if [ -n "$FAKE_NOT_LOADED" ]; then echo "Failed to disable unit: Unit file $3 does not exist." >&2; exit 1; fi ;;
esac
exit 0
`;

const FAKE_LAUNCHCTL = `#!/bin/sh
echo "launchctl $*" >> "$FAKE_LOG"
case "$1" in
  print) if [ -f "$FAKE_LOADED" ]; then printf '%s = {\\n\\tstate = running\\n\\tpid = 4343\\n\\tlast exit code = (never exited)\\n}\\n' "$2"; exit 0; fi
         echo "Could not find service \\"$2\\" in domain" >&2; exit 113 ;;
  bootstrap) touch "$FAKE_LOADED" ;;
  bootout) if [ -f "$FAKE_LOADED" ]; then rm -f "$FAKE_LOADED"; else echo "Boot-out failed: 3: No such process" >&2; exit 3; fi ;;
esac
exit 0
`;

interface Box {
  root: string;
  home: string;
  bin: string;
  log: string;
  pathEnv: string;
  config: string;
  configDir: string;
}

/** A temp HOME, fake service managers, and a valid config in a folder whose name has a space, `%` and `&`. */
function box(servers: Record<string, Record<string, unknown>> = { fx: {} }): Box {
  const root = tempDir();
  const home = path.join(root, "home");
  const bin = path.join(root, "bin");
  mkdirSync(home);
  mkdirSync(bin);
  writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
  writeFileSync(path.join(bin, "launchctl"), FAKE_LAUNCHCTL, { mode: 0o755 });
  const configDir = path.join(root, "cfg %&");
  mkdirSync(configDir);
  const { configPath } = writeConfig(configDir, servers);
  return { root, home, bin, log: path.join(root, "calls.log"), pathEnv: `${bin}:/usr/bin:/bin`, config: configPath, configDir };
}

async function svc(b: Box, args: string[], env: Record<string, string> = {}) {
  // TMPDIR inside the box: the "program in a temporary folder" warning must not depend on where the checkout lives
  // (a clean CI clone may well sit under /tmp).
  const tmp = path.join(b.root, "tmp");
  mkdirSync(tmp, { recursive: true });
  const base: Record<string, string | undefined> = { ...process.env, HOME: b.home, PATH: b.pathEnv, TMPDIR: tmp, FAKE_LOG: b.log, FAKE_LOADED: path.join(b.root, "loaded"), ...env };
  delete base.XDG_CONFIG_HOME;
  const proc = Bun.spawn([BUN, CLI, "service", ...args], { cwd: REPO, env: base, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

function calls(b: Box): string[] {
  return existsSync(b.log) ? readFileSync(b.log, "utf8").trim().split("\n") : [];
}

/** Everything under the temp HOME except Bun's own cache (~/.bun, made by the bun process itself). */
function written(b: Box): string[] {
  return (readdirSync(b.home, { recursive: true }) as string[]).filter((p) => p !== ".bun" && !p.startsWith(`.bun${path.sep}`));
}

function resetCalls(b: Box): void {
  rmSync(b.log, { force: true });
}

/** What the CLI should render for this box: the same spec built here from the same inputs. */
function expected(b: Box, platform: "systemd" | "launchd", name: string, graceMs: number[] = [2000]) {
  const loc = locate(platform, name, { home: b.home });
  const spec = buildSpec({ location: loc, command: [BUN, CLI], configPath: b.config, pathEnv: b.pathEnv, shutdownGraceMs: graceMs });
  return { loc, content: platform === "systemd" ? renderSystemdUnit(spec) : renderLaunchdPlist(spec) };
}

/** The file a dry run would write: the lines between `# write PATH (state):` and `# end of file`. */
function dryFile(stdout: string, file: string): { state: string; content: string } {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`# write ${file} (`));
  const end = lines.indexOf("# end of file", start);
  if (start < 0 || end < 0) throw new Error(`no file ${file} in:\n${stdout}`);
  return { state: /\((\w+)\):$/.exec(lines[start] as string)?.[1] ?? "", content: `${lines.slice(start + 1, end).join("\n")}\n` };
}

/** The dry run's command lines (not comments, not the file). */
function dryCommands(stdout: string): string[] {
  const lines = stdout.split("\n");
  const out: string[] = [];
  let inFile = false;
  for (const l of lines) {
    if (l.startsWith("# write ")) inFile = true;
    else if (l === "# end of file") inFile = false;
    else if (!inFile && l !== "" && !l.startsWith("#")) out.push(l);
  }
  return out;
}

describe("service install --dry-run", () => {
  test("systemd: prints the exact unit and the commands, writes nothing", async () => {
    const b = box();
    const r = await svc(b, ["install", "--config", b.config, "--name", "work", "--platform", "systemd", "--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { loc, content } = expected(b, "systemd", "work");
    const file = dryFile(r.stdout, loc.file);
    expect(file).toEqual({ state: "new", content });
    // the pieces the issue asks for, in the unit the CLI printed
    expect(file.content).toContain(`ExecStart=${systemdWord(BUN, { dollar: false })} ${systemdWord(CLI, { dollar: true })} --config "${b.config.replaceAll("%", "%%")}"\n`);
    expect(file.content).toContain(`Environment=PATH=${b.pathEnv}\n`);
    expect(file.content).toContain("Restart=on-failure\n");
    expect(dryCommands(r.stdout)).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable work.service",
      "systemctl --user restart work.service",
    ]);
    expect(r.stdout).toContain("# logs: journalctl --user -u work\n");
    expect(written(b)).toEqual([]);
    expect(calls(b)).toEqual([]);
  });

  test("launchd: prints the exact plist and the launchctl commands, writes nothing", async () => {
    const b = box();
    const r = await svc(b, ["install", "--config", b.config, "--name", "work", "--platform", "launchd", "--dry-run"]);
    expect(r.code).toBe(0);
    const { loc, content } = expected(b, "launchd", "work");
    expect(dryFile(r.stdout, loc.file)).toEqual({ state: "new", content });
    expect(content).toContain(`<string>${b.config.replace("&", "&amp;")}</string>`);
    expect(dryCommands(r.stdout)).toEqual([
      `mkdir -p ${b.home}/Library/Logs/rmcp-mux`,
      `launchctl bootout gui/${UID}/dev.rmcp-mux.work || true    # fails when it was not loaded`,
      `launchctl enable gui/${UID}/dev.rmcp-mux.work`,
      `launchctl bootstrap gui/${UID} ${b.home}/Library/LaunchAgents/dev.rmcp-mux.work.plist`,
    ]);
    expect(written(b)).toEqual([]);
  });

  test("the default name is rmcp-mux, and the stop timeout follows the config's shutdown_grace_ms", async () => {
    const b = box({ fx: { shutdown_grace_ms: 40_000 } });
    const r = await svc(b, ["install", "--config", b.config, "--platform", "systemd", "--dry-run"]);
    expect(r.code).toBe(0);
    const { loc, content } = expected(b, "systemd", "rmcp-mux", [40_000]);
    expect(loc.file).toBe(path.join(b.home, ".config/systemd/user/rmcp-mux.service"));
    expect(dryFile(r.stdout, loc.file).content).toBe(content);
    expect(content).toContain("TimeoutStopSec=90\n");
  });
});

describe("service install / uninstall (systemd)", () => {
  test("--no-start writes the unit and calls no systemctl; again: unchanged; uninstall removes it", async () => {
    const b = box();
    const { loc, content } = expected(b, "systemd", "work");
    const first = await svc(b, ["install", "--config", b.config, "--name", "work", "--platform", "systemd", "--no-start"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(readFileSync(loc.file, "utf8")).toBe(content);
    expect(first.stdout).toContain(`wrote ${loc.file} (new)\n`);
    expect(first.stdout).toContain("not started (--no-start); to start it: systemctl --user daemon-reload && systemctl --user enable work.service");
    expect(calls(b)).toEqual([]);
    expect(readdirSync(path.dirname(loc.file))).toEqual(["work.service"]);

    const again = await svc(b, ["install", "--config", b.config, "--name", "work", "--platform", "systemd", "--no-start"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`unchanged: ${loc.file}\n`);
    expect(readFileSync(loc.file, "utf8")).toBe(content);
    expect(calls(b)).toEqual([]);

    // As if `enable` had run: the symlink must not outlive the unit, even when systemctl cannot help.
    mkdirSync(path.dirname(loc.wantsLink as string), { recursive: true });
    symlinkSync(loc.file, loc.wantsLink as string);
    const dry = await svc(b, ["uninstall", "--name", "work", "--platform", "systemd", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dryCommands(dry.stdout)).toEqual([
      "systemctl --user disable --now work.service || true    # fails when it was not loaded",
      `rm -f ${loc.file}`,
      `rm -f ${loc.wantsLink}`,
      "systemctl --user daemon-reload || true    # fails when the user manager is not running",
    ]);
    expect(existsSync(loc.file)).toBe(true);
    expect(calls(b)).toEqual([]);

    const gone = await svc(b, ["uninstall", "--name", "work", "--platform", "systemd"], { FAKE_NOT_LOADED: "1" });
    expect(gone.stderr).toBe("");
    expect(gone.code).toBe(0);
    expect(existsSync(loc.file)).toBe(false);
    expect(existsSync(loc.wantsLink as string)).toBe(false);
    expect(gone.stdout).toContain(`removed ${loc.file}\n`);
    expect(gone.stdout).toContain("(exit 1, fine when it was not loaded: Failed to disable unit");
    expect(calls(b)).toEqual(["systemctl --user disable --now work.service", "systemctl --user daemon-reload"]);

    const twice = await svc(b, ["uninstall", "--name", "work", "--platform", "systemd"]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain(`${loc.file} did not exist`);
  });

  test("with start: reload, enable, restart; unchanged: start only; a changed config restarts", async () => {
    const b = box();
    const args = ["install", "--config", b.config, "--name", "work", "--platform", "systemd"];
    const r = await svc(b, args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(calls(b)).toEqual(["systemctl --user daemon-reload", "systemctl --user enable work.service", "systemctl --user restart work.service"]);
    expect(r.stdout).toContain(`service work runs: ${shellLine([BUN, CLI])} --config '${b.config}'\n`);
    expect(r.stdout).toContain("logs: journalctl --user -u work\n");

    resetCalls(b);
    expect((await svc(b, args)).code).toBe(0);
    expect(calls(b)).toEqual(["systemctl --user daemon-reload", "systemctl --user enable work.service", "systemctl --user start work.service"]);

    resetCalls(b);
    writeConfig(b.configDir, { fx: { shutdown_grace_ms: 30_000 } });
    const changed = await svc(b, args);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain("(changed)");
    expect(calls(b)).toEqual(["systemctl --user daemon-reload", "systemctl --user enable work.service", "systemctl --user restart work.service"]);
    expect(readFileSync(expected(b, "systemd", "work").loc.file, "utf8")).toContain("TimeoutStopSec=70\n");
  });

  test("a failing systemctl fails the install, with its message", async () => {
    const b = box();
    const r = await svc(b, ["install", "--config", b.config, "--name", "work", "--platform", "systemd"], { FAKE_FAIL: "enable" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("rmcp-mux: systemctl --user enable work.service failed (exit 1): Failed to enable unit: Access denied\n");
    expect(calls(b)).toEqual(["systemctl --user daemon-reload", "systemctl --user enable work.service"]);
  });
});

describe("service install / uninstall (launchd)", () => {
  test("bootstrap into gui/UID; unchanged and loaded: left alone; uninstall boots it out and keeps the log", async () => {
    const b = box();
    const { loc, content } = expected(b, "launchd", "w");
    const args = ["install", "--config", b.config, "--name", "w", "--platform", "launchd"];
    const r = await svc(b, args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(loc.file, "utf8")).toBe(content);
    expect(existsSync(path.join(b.home, "Library/Logs/rmcp-mux"))).toBe(true);
    expect(calls(b)).toEqual([`launchctl bootout gui/${UID}/dev.rmcp-mux.w`, `launchctl enable gui/${UID}/dev.rmcp-mux.w`, `launchctl bootstrap gui/${UID} ${loc.file}`]);

    resetCalls(b);
    const again = await svc(b, args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("skipped: launchctl bootstrap");
    expect(calls(b)).toEqual([`launchctl enable gui/${UID}/dev.rmcp-mux.w`, `launchctl print gui/${UID}/dev.rmcp-mux.w`]);

    const st = await svc(b, ["status", "--name", "w", "--platform", "launchd"]);
    expect(st.stdout).toContain("service manager: loaded, running, pid 4343, last exit (never exited)\n");
    expect(st.stdout).toContain(`logs: tail -f ${loc.logPath}\n`);

    resetCalls(b);
    const gone = await svc(b, ["uninstall", "--name", "w", "--platform", "launchd"]);
    expect(gone.code).toBe(0);
    expect(existsSync(loc.file)).toBe(false);
    expect(existsSync(path.dirname(loc.logPath as string))).toBe(true);
    expect(gone.stdout).toContain(`the log stays: ${loc.logPath}`);
    expect(calls(b)).toEqual([`launchctl bootout gui/${UID}/dev.rmcp-mux.w`]);
  });
});

describe("service status", () => {
  test("--dry-run, nothing installed, no daemon: exit 3 and says so", async () => {
    const b = box();
    const r = await svc(b, ["status", "--config", b.config, "--name", "work", "--platform", "systemd", "--dry-run"]);
    expect(r.code).toBe(3);
    const { loc } = expected(b, "systemd", "work");
    expect(r.stdout).toBe(
      [
        "service: work (systemd user unit work.service)",
        `unit file: ${loc.file} (not installed)`,
        `config: ${b.config}`,
        `service manager: not asked (dry run; would run: systemctl --user show work.service ${SHOW})`,
        "logs: journalctl --user -u work",
        `daemon: not running (nothing answers on ${path.join(b.configDir, "daemon.sock")})`,
        "",
      ].join("\n"),
    );
    expect(calls(b)).toEqual([]);
  });

  test("installed and running: the manager's view and the daemon's own table; config read from the unit", async () => {
    const b = box();
    expect((await svc(b, ["install", "--config", b.config, "--name", "work", "--platform", "systemd", "--no-start"])).code).toBe(0);
    const daemon = await startDaemon(b.config, [], { waitSockets: [path.join(b.configDir, "fx.sock"), path.join(b.configDir, "daemon.sock")] });

    const r = await svc(b, ["status", "--name", "work", "--platform", "systemd"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`config: ${b.config} (from the unit file)\n`);
    expect(r.stdout).toContain("service manager: loaded, active (running), pid 4242, enabled, 1 restart(s)\n");
    expect(r.stdout).toContain(`daemon: answering on ${path.join(b.configDir, "daemon.sock")}\n`);
    expect(r.stdout).toContain(`· pid ${daemon.proc.pid} ·`);
    expect(r.stdout).toMatch(/^fx\s+running\s+\d+/m);
    expect(calls(b)).toEqual([`systemctl --user show work.service ${SHOW}`]);

    await daemon.stop("SIGTERM", 10_000);
    const after = await svc(b, ["status", "--name", "work", "--platform", "systemd", "--dry-run"]);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain("daemon: not running");
  });
});

describe("refusals", () => {
  test("install without --config, with a broken config, with a bad name: exit 2, nothing written", async () => {
    const b = box();
    const none = await svc(b, ["install", "--platform", "systemd"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("rmcp-mux: service install needs --config PATH (the mux.toml the service runs)\n");

    const bad = path.join(b.root, "bad.toml");
    writeFileSync(bad, "[servers.x]\ncmd = 1\n");
    const broken = await svc(b, ["install", "--config", bad, "--platform", "systemd"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(bad);

    const name = await svc(b, ["install", "--config", b.config, "--name", "../evil", "--platform", "systemd"]);
    expect(name.code).toBe(2);
    expect(name.stderr).toContain("--name must be");

    const platform = await svc(b, ["status", "--platform", "upstart"]);
    expect(platform.code).toBe(2);
    expect(written(b)).toEqual([]);
    expect(calls(b)).toEqual([]);
  });

  test("install --help lists --no-start and --dry-run", async () => {
    const b = box();
    const r = await svc(b, ["install", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--no-start");
    expect(r.stdout).toContain("--dry-run");
    expect(r.stdout).toContain("--config");
  });
});
