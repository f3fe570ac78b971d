/**
 * The service files rendered from tools/ templates: exact bytes for a sample with spaces, `%` and `&`, the escaping
 * rules, and the verdict of the real parsers where this machine has them (systemd-analyze, plutil, python plistlib,
 * xmllint).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildSpec, detectPlatform, locate, parsePlatform, stopTimeoutSec } from "../../src/service/platform.ts";
import {
  checkName,
  configOfLaunchdPlist,
  configOfSystemdUnit,
  fillTemplate,
  renderLaunchdPlist,
  renderSystemdUnit,
  type ServiceSpec,
  systemdExecStart,
  systemdWord,
  xmlEscape,
} from "../../src/service/render.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "mux-svc-render-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SAMPLE: ServiceSpec = {
  name: "work",
  command: ["/opt/rmcp mux/bin/rmcp-mux"],
  configPath: "/home/u/My Configs/100% R&D/mux.toml",
  workingDirectory: "/home/u/My Configs/100% R&D",
  pathEnv: "/home/u/.npm global/bin:/usr/bin:/bin",
  stopTimeoutSec: 30,
  logPath: "/Users/u/Library/Logs/rmcp-mux/work.log",
};

const SAMPLE_UNIT = `# Written by \`rmcp-mux service install\`; \`rmcp-mux service uninstall --name work\` removes it.
# Edit the config, not this file; re-run the install after moving the binary or the config.
# config: "/home/u/My Configs/100% R&D/mux.toml"
[Unit]
Description=rmcp-mux MCP server multiplexer (work)

[Service]
Type=simple
Environment="PATH=/home/u/.npm global/bin:/usr/bin:/bin"
WorkingDirectory=/home/u/My Configs/100%% R&D
ExecStart="/opt/rmcp mux/bin/rmcp-mux" --config "/home/u/My Configs/100%% R&D/mux.toml"
# Restart after a crash, not after a clean stop; exit status 2 is a config or usage error that a restart
# cannot fix (\`rmcp-mux check --config ...\` says what is wrong).
Restart=on-failure
RestartSec=2
RestartPreventExitStatus=2
# SIGTERM to the daemon only: it closes each server's stdin, then signals the server's process group itself,
# waiting shutdown_grace_ms at each step. Whatever is left when TimeoutStopSec runs out gets SIGKILL.
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=30
# Logs go to the journal: journalctl --user -u work
StandardOutput=journal
StandardError=journal
SyslogIdentifier=work

[Install]
WantedBy=default.target
`;

const SAMPLE_PLIST = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by rmcp-mux service install; rmcp-mux service uninstall removes it. Edit the config, not this file. -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>dev.rmcp-mux.work</string>
	<key>ProgramArguments</key>
	<array>
		<string>/opt/rmcp mux/bin/rmcp-mux</string>
		<string>--config</string>
		<string>/home/u/My Configs/100% R&amp;D/mux.toml</string>
	</array>
	<key>WorkingDirectory</key>
	<string>/home/u/My Configs/100% R&amp;D</string>
	<key>EnvironmentVariables</key>
	<dict>
		<key>PATH</key>
		<string>/home/u/.npm global/bin:/usr/bin:/bin</string>
	</dict>
	<key>RunAtLoad</key>
	<true/>
	<!-- Relaunched only after a crash (a signal such as SIGSEGV or SIGABRT). Every exit with a status is final:
	     0 is a stop, 2 a config error that a relaunch cannot fix, 1 a start-up error (socket taken, ...).
	     SuccessfulExit=false would relaunch all of them, a broken config in a loop; launchd has no
	     per-status rule like systemd's RestartPreventExitStatus. -->
	<key>KeepAlive</key>
	<dict>
		<key>Crashed</key>
		<true/>
	</dict>
	<key>ExitTimeOut</key>
	<integer>30</integer>
	<key>StandardOutPath</key>
	<string>/Users/u/Library/Logs/rmcp-mux/work.log</string>
	<key>StandardErrorPath</key>
	<string>/Users/u/Library/Logs/rmcp-mux/work.log</string>
</dict>
</plist>
`;

/** Harder values: quotes, backslash, `$`, `<`, `'` on top of spaces, `%` and `&`. */
const NASTY: ServiceSpec = {
  name: "n.1_x",
  command: ["/usr/bin/bun", "/src/my app/main.ts"],
  configPath: `/tmp/a "b" $HOME\\x%<y>'z'&/mux.toml`,
  workingDirectory: `/tmp/a "b" $HOME\\x%<y>'z'&`,
  pathEnv: `/a b:/c%d:/e"f\\g$h:/i&<j>`,
  stopTimeoutSec: 45,
  logPath: "/Users/u/Library/Logs/rmcp-mux/n.1_x.log",
};

function which(cmd: string): string | null {
  return Bun.which(cmd);
}

function run(argv: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

describe("systemd unit", () => {
  test("the sample renders to exactly these bytes", () => {
    expect(renderSystemdUnit(SAMPLE)).toBe(SAMPLE_UNIT);
  });

  test("the lines that carry values, for quotes, backslashes, $, % and &", () => {
    const unit = renderSystemdUnit(NASTY);
    const line = (key: string) => unit.split("\n").find((l) => l.startsWith(`${key}=`));
    // Environment=: quoted, \ and " escaped, % doubled, $ literal (no expansion there)
    expect(line("Environment")).toBe(`Environment="PATH=/a b:/c%%d:/e\\"f\\\\g$h:/i&<j>"`);
    // WorkingDirectory=: verbatim rest of line, only % doubled
    expect(line("WorkingDirectory")).toBe(`WorkingDirectory=/tmp/a "b" $HOME\\x%%<y>'z'&`);
    // ExecStart=: plain words stay plain; the argument gets $$ (it would be expanded) and quoting
    expect(line("ExecStart")).toBe(`ExecStart=/usr/bin/bun "/src/my app/main.ts" --config "/tmp/a \\"b\\" $$HOME\\\\x%%<y>'z'&/mux.toml"`);
    expect(line("TimeoutStopSec")).toBe("TimeoutStopSec=45");
    expect(line("Restart")).toBe("Restart=on-failure");
    expect(line("KillSignal")).toBe("KillSignal=SIGTERM");
  });

  test("systemdWord quotes only what needs it", () => {
    expect(systemdWord("/usr/bin/bun", { dollar: true })).toBe("/usr/bin/bun");
    expect(systemdWord("--config", { dollar: true })).toBe("--config");
    expect(systemdWord("100%", { dollar: true })).toBe("100%%");
    expect(systemdWord("a b", { dollar: true })).toBe('"a b"');
    expect(systemdWord("$X", { dollar: true })).toBe('"$$X"');
    expect(systemdWord("$X", { dollar: false })).toBe('"$X"');
    expect(systemdWord("", { dollar: true })).toBe('""');
    expect(systemdWord("x;", { dollar: true })).toBe('"x;"');
  });

  test("the executable keeps its $ (systemd runs it as written) and must be a plain absolute path", () => {
    expect(systemdExecStart(["/opt/$x/bin", "$y"])).toBe('"/opt/$x/bin" "$$y"');
    expect(() => systemdExecStart(["bun", "x"])).toThrow(/absolute path/);
    expect(() => systemdExecStart(['/opt/a"b/bin'])).toThrow(/quotes or backslashes/);
    expect(() => systemdExecStart(["/opt/bin", "a\nb"])).toThrow(/control character/);
  });

  test("control characters and a relative working directory are refused, not written", () => {
    expect(() => renderSystemdUnit({ ...SAMPLE, pathEnv: "/bin\n[Service]" })).toThrow(/control character/);
    expect(() => renderSystemdUnit({ ...SAMPLE, configPath: "/x\ny/mux.toml" })).toThrow(/control character/);
    expect(() => renderSystemdUnit({ ...SAMPLE, workingDirectory: "rel" })).toThrow(/absolute/);
  });

  test("the config path is read back from the unit, even a hard one", () => {
    expect(configOfSystemdUnit(renderSystemdUnit(SAMPLE))).toBe(SAMPLE.configPath);
    expect(configOfSystemdUnit(renderSystemdUnit(NASTY))).toBe(NASTY.configPath);
    expect(configOfSystemdUnit(renderSystemdUnit({ ...SAMPLE, configPath: "/ends/in\\" }))).toBe("/ends/in\\");
    expect(configOfSystemdUnit("[Unit]\n")).toBeNull();
  });
});

describe("launchd plist", () => {
  test("the sample renders to exactly these bytes", () => {
    expect(renderLaunchdPlist(SAMPLE)).toBe(SAMPLE_PLIST);
  });

  // launchd's KeepAlive has no per-status rule: SuccessfulExit=false relaunches every non-zero exit, a config
  // error (exit 2) included, in a loop. Crashed=true relaunches after a crash signal only.
  test("relaunched after a crash only: a config error (exit 2) stays final, as the systemd unit's RestartPreventExitStatus=2", () => {
    const plist = renderLaunchdPlist(SAMPLE);
    const keepAlive = /<key>KeepAlive<\/key>\s*<dict>([\s\S]*?)<\/dict>/.exec(plist)?.[1]?.replace(/\s+/g, "");
    expect(keepAlive).toBe("<key>Crashed</key><true/>");
    expect(plist).not.toContain("<key>SuccessfulExit</key>");
    expect(renderSystemdUnit(SAMPLE)).toContain("\nRestart=on-failure\n");
    expect(renderSystemdUnit(SAMPLE)).toContain("\nRestartPreventExitStatus=2\n");
  });

  test("every value is XML-escaped", () => {
    const plist = renderLaunchdPlist(NASTY);
    expect(plist).toContain("<string>/tmp/a &quot;b&quot; $HOME\\x%&lt;y&gt;&apos;z&apos;&amp;/mux.toml</string>");
    expect(plist).toContain("<string>/a b:/c%d:/e&quot;f\\g$h:/i&amp;&lt;j&gt;</string>");
    expect(plist).toContain("<string>/src/my app/main.ts</string>");
    expect(plist).toContain("<integer>45</integer>");
    expect(plist).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
    expect(xmlEscape(`<&>"'`)).toBe("&lt;&amp;&gt;&quot;&apos;");
  });

  test("the config path is read back from the plist", () => {
    expect(configOfLaunchdPlist(renderLaunchdPlist(SAMPLE))).toBe(SAMPLE.configPath);
    expect(configOfLaunchdPlist(renderLaunchdPlist(NASTY))).toBe(NASTY.configPath);
  });

  test("control characters are refused (XML 1.0 cannot carry them)", () => {
    expect(() => renderLaunchdPlist({ ...SAMPLE, pathEnv: "/bin\u0001" })).toThrow(/control character/);
  });
});

describe("templates, names, paths", () => {
  test("fillTemplate: literal values (no $& games), unknown and missing keys are loud", () => {
    expect(fillTemplate("a @X@ b", { X: "$&$1" })).toBe("a $&$1 b");
    expect(() => fillTemplate("a @X@ @Y@", { X: "1" })).toThrow(/@Y@ has no value/);
    expect(() => fillTemplate("a @X@", { X: "1", Z: "2" })).toThrow(/no @Z@/);
  });

  test("names: letters, digits, - _ . only", () => {
    expect(checkName("rmcp-mux")).toBe("rmcp-mux");
    expect(checkName("work.2_b")).toBe("work.2_b");
    for (const bad of ["", "-x", ".x", "a b", "a/b", "a@b", "x".repeat(201)]) expect(() => checkName(bad)).toThrow(/--name/);
  });

  test("locations follow each platform's rules", () => {
    const sd = locate("systemd", "work", { home: "/h" });
    expect(sd.file).toBe("/h/.config/systemd/user/work.service");
    expect(sd.wantsLink).toBe("/h/.config/systemd/user/default.target.wants/work.service");
    expect(sd.logHint).toBe("journalctl --user -u work");
    expect(locate("systemd", "work", { home: "/h", xdgConfigHome: "/x" }).file).toBe("/x/systemd/user/work.service");
    expect(locate("systemd", "work", { home: "/h", xdgConfigHome: "rel" }).file).toBe("/h/.config/systemd/user/work.service");
    const ld = locate("launchd", "work", { home: "/Users/u" });
    expect(ld.file).toBe("/Users/u/Library/LaunchAgents/dev.rmcp-mux.work.plist");
    expect(ld.id).toBe("dev.rmcp-mux.work");
    expect(ld.logPath).toBe("/Users/u/Library/Logs/rmcp-mux/work.log");
  });

  test("platform detection", () => {
    expect(detectPlatform("linux")).toBe("systemd");
    expect(detectPlatform("darwin")).toBe("launchd");
    expect(() => detectPlatform("win32")).toThrow(/Linux \(systemd\) and macOS/);
    expect(parsePlatform("launchd", "linux")).toBe("launchd");
    expect(parsePlatform(undefined, "darwin")).toBe("launchd");
    expect(() => parsePlatform("upstart", "linux")).toThrow(/--platform/);
  });

  test("the stop timeout covers two shutdown_grace_ms waits, never under 30 s", () => {
    expect(stopTimeoutSec([])).toBe(30);
    expect(stopTimeoutSec([2000, 2000])).toBe(30);
    expect(stopTimeoutSec([2000, 20_000])).toBe(50);
    expect(stopTimeoutSec([60_500])).toBe(131); // 2 × 60.5 s + 10 s
  });

  test("buildSpec: absolute config, its folder as working directory", () => {
    const spec = buildSpec({
      location: locate("launchd", "w", { home: "/Users/u" }),
      command: ["/bin/rmcp-mux"],
      configPath: "/etc/mux/../mux/m.toml",
      pathEnv: "/bin",
      shutdownGraceMs: [5000],
    });
    expect(spec).toEqual({
      name: "w",
      command: ["/bin/rmcp-mux"],
      configPath: "/etc/mux/m.toml",
      workingDirectory: "/etc/mux",
      pathEnv: "/bin",
      stopTimeoutSec: 30,
      logPath: "/Users/u/Library/Logs/rmcp-mux/w.log",
    });
  });
});

// ---- the real parsers ------------------------------------------------------------------------------------------

const systemdAnalyze = which("systemd-analyze");
describe("systemd-analyze verify", () => {
  const runtime = path.join(tmp, "runtime");
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  chmodSync(runtime, 0o700);
  // --user needs a runtime directory; a private one keeps this off any real user session.
  const env = { XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" };

  test.skipIf(!systemdAnalyze)(
    `accepts the unit for a program whose path has spaces, %, & and $${systemdAnalyze ? "" : " (skipped: systemd-analyze is not installed)"}`,
    () => {
      const dir = path.join(tmp, "my bin%h%&$x");
      mkdirSync(dir, { recursive: true });
      const exe = path.join(dir, "rmcp mux");
      copyFileSync("/bin/true", exe);
      chmodSync(exe, 0o755);
      const unit = path.join(tmp, "work.service");
      writeFileSync(unit, renderSystemdUnit({ ...NASTY, name: "work", command: [exe] }));
      const r = run([systemdAnalyze as string, "verify", "--user", unit], env);
      expect(r.out).toBe("");
      expect(r.code).toBe(0);
    },
  );

  test.skipIf(!systemdAnalyze)(
    `decodes the quoted executable to exactly our path${systemdAnalyze ? "" : " (skipped: systemd-analyze is not installed)"}`,
    () => {
      // A missing program makes systemd name the path it decoded: the escaping round-trips through systemd itself
      // (`%h` would turn into the home folder if the `%` were not doubled).
      const exe = path.join(tmp, "no such%h%& $dir", "rmcp mux");
      const unit = path.join(tmp, "missing.service");
      writeFileSync(unit, renderSystemdUnit({ ...SAMPLE, name: "missing", command: [exe] }));
      const r = run([systemdAnalyze as string, "verify", "--user", unit], env);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(`Command ${exe} is not executable`);
    },
  );

  test.skipIf(!systemdAnalyze)(
    `refuses a unit with a bad setting (the check can fail)${systemdAnalyze ? "" : " (skipped: systemd-analyze is not installed)"}`,
    () => {
      const unit = path.join(tmp, "broken.service");
      writeFileSync(unit, renderSystemdUnit(SAMPLE).replace(/^WorkingDirectory=.*$/m, "WorkingDirectory=relative/dir"));
      const r = run([systemdAnalyze as string, "verify", "--user", unit], env);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain("WorkingDirectory= path is not absolute");
    },
  );
});

const plutil = which("plutil");
const python = which("python3");
const xmllint = which("xmllint");

describe("plist parsers", () => {
  test.skipIf(!plutil)(`plutil -lint accepts it${plutil ? "" : " (skipped: plutil exists only on macOS)"}`, () => {
    const file = path.join(tmp, "lint.plist");
    writeFileSync(file, renderLaunchdPlist(NASTY));
    const r = run([plutil as string, "-lint", file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("OK");
  });

  test.skipIf(!python)(`python plistlib reads back every value${python ? "" : " (skipped: python3 is not installed)"}`, () => {
    const file = path.join(tmp, "py.plist");
    writeFileSync(file, renderLaunchdPlist(NASTY));
    const r = run([python as string, "-c", "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))", file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      Label: "dev.rmcp-mux.n.1_x",
      ProgramArguments: ["/usr/bin/bun", "/src/my app/main.ts", "--config", NASTY.configPath],
      WorkingDirectory: NASTY.workingDirectory,
      EnvironmentVariables: { PATH: NASTY.pathEnv },
      RunAtLoad: true,
      KeepAlive: { Crashed: true },
      ExitTimeOut: 45,
      StandardOutPath: NASTY.logPath,
      StandardErrorPath: NASTY.logPath,
    });
  });

  test.skipIf(!xmllint)(`xmllint: well-formed, and the config argument decodes exactly${xmllint ? "" : " (skipped: xmllint is not installed; apt install libxml2-utils)"}`, () => {
    const file = path.join(tmp, "x.plist");
    writeFileSync(file, renderLaunchdPlist(NASTY));
    const lint = run([xmllint as string, "--noout", "--nonet", file]);
    expect(lint.out).toBe("");
    expect(lint.code).toBe(0);
    const arg = run([xmllint as string, "--nonet", "--xpath", "string(/plist/dict/array/string[4])", file]);
    expect(arg.out.replace(/\n$/, "")).toBe(NASTY.configPath);
    // and it does notice a broken document
    const bad = path.join(tmp, "bad.plist");
    writeFileSync(bad, renderLaunchdPlist(NASTY).replace("&amp;/mux.toml", "&/mux.toml"));
    expect(run([xmllint as string, "--noout", "--nonet", bad]).code).not.toBe(0);
  });
});
