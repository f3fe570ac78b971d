/**
 * Issue 8, part 5 — security: socket and folder modes, no shell anywhere between the config and the child, env
 * values from the config never shown (logs, control status, daemon-status, status file, scan), and symlinks planted
 * at socket paths refused rather than followed.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  bad,
  BUN,
  CLI,
  cleanupAll,
  control,
  controlSocketOf,
  daemonStatus,
  RawClient,
  readPids,
  REPO,
  resultText,
  runCli,
  startDaemon,
  tempDir,
  trackPid,
  waitFor,
  writeConfig,
} from "./helpers.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const mode = (p: string) => lstatSync(p).mode & 0o777;

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const p = Bun.spawn([BUN, CLI, ...args], { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...env } });
  const [o, e] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  return { code: p.exitCode, out: o + e };
}

describe("security", () => {
  test("sockets, control socket, pid records and status file are 0600; folders the daemon creates are 0700", async () => {
    const dir = tempDir();
    const run = path.join(dir, "run");
    const cfg = writeConfig(
      dir,
      { a: { socket: path.join(run, "deep/a.sock"), status_file: path.join(run, "deep/a.status.json") }, b: { socket: path.join(run, "b.sock") } },
      { status_socket: path.join(dir, "ctl/daemon.sock") },
    );
    const d = await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.a!);
    await c.initialize({ timeoutMs: 20_000 });
    await waitFor(() => existsSync(path.join(run, "deep/a.status.json")), 15_000, "status file written");
    for (const folder of [run, path.join(run, "deep"), path.join(dir, "ctl")]) {
      expect({ folder, mode: mode(folder).toString(8) }).toEqual({ folder, mode: "700" });
    }
    for (const f of [cfg.sockets.a!, cfg.sockets.b!, path.join(dir, "ctl/daemon.sock")]) {
      expect(lstatSync(f).isSocket()).toBe(true);
      expect({ f, mode: mode(f).toString(8) }).toEqual({ f, mode: "600" });
    }
    for (const f of [`${cfg.sockets.a!}.pid`, `${cfg.sockets.b!}.pid`, path.join(run, "deep/a.status.json")]) {
      expect({ f, mode: mode(f).toString(8) }).toEqual({ f, mode: "600" });
    }
    expect(d.proc.exitCode).toBeNull();
  }, 120_000);

  test("cmd and args never pass through a shell: metacharacters reach the child literally, nothing is executed", async () => {
    const dir = tempDir();
    const pwned = (n: string) => path.join(dir, `pwned-${n}`);
    const args = [
      `$(touch ${pwned("subst")})`,
      `\`touch ${pwned("backtick")}\``,
      `; touch ${pwned("semicolon")}`,
      `&& touch ${pwned("and")}`,
      `| touch ${pwned("pipe")}`,
      `> ${pwned("redirect")}`,
      "$HOME",
      "${PATH}",
      "*",
      "a b  c",
      "'single'",
      '"double"',
      "\\",
      "",
      "-rf",
      "\nnewline",
    ];
    const envVal = `$(touch ${pwned("env")}); \`touch ${pwned("env2")}\``;
    const cfg = writeConfig(dir, {
      lit: { cmd: BUN, args: [bad("argv"), ...args], env: { MUX_LITERAL: envVal }, cwd: dir },
      // a cmd that would be a shell command line: must be looked up as one program name (and not found)
      sh: { cmd: `touch ${pwned("cmd")}; ${BUN}`, max_restarts: 1, restart_backoff_ms: 20, restart_backoff_max_ms: 20 },
    });
    await startDaemon(cfg.configPath);
    const c = await RawClient.connect(cfg.sockets.lit!);
    await c.initialize({ timeoutMs: 20_000 });
    const info = JSON.parse(resultText(await c.callTool("argv", { names: ["MUX_LITERAL"] }, 1, 20_000)));
    trackPid(info.pid);
    expect(info.argv).toEqual(args);
    expect(info.envHashes.MUX_LITERAL).toBe(sha256(envVal));
    const st = await waitFor(async () => {
      const s = await daemonStatus(controlSocketOf(dir));
      const sh = s.servers.find((x: any) => x.name === "sh");
      return sh.state === "failed" ? sh : undefined;
    }, 15_000, "the shell-line cmd to fail");
    expect(st.reason).toContain("command not found");
    for (const n of ["subst", "backtick", "semicolon", "and", "pipe", "redirect", "env", "env2", "cmd"]) {
      expect({ n, exists: existsSync(pwned(n)) }).toEqual({ n, exists: false });
    }
  }, 120_000);

  // Every command that can see the config's env is run here, each way it can print (text and --json); the ones that
  // cannot see it are listed at the end of the test. scan and rewire read the hosts' env: see the scan test below and
  // test/onboard/rewire-cli.test.ts (diffs masked).
  test("env values from the config never appear in logs, control status, events, the status file or any command's output", async () => {
    const dir = tempDir();
    const secrets = {
      MUX_SECRET_ONE: `sk-live-${randomBytes(12).toString("hex")}`,
      MUX_SECRET_TWO: `pw ${randomBytes(8).toString("hex")} "quoted" \\ back`,
      MUX_SECRET_THREE: `tok3-${randomBytes(10).toString("hex")}`,
      MUX_SECRET_FOUR: `tok4-${randomBytes(10).toString("hex")}`,
    };
    const pids = path.join(dir, "fx.pids");
    const cfg = writeConfig(dir, {
      argv: {
        cmd: BUN,
        args: [bad("argv")],
        env: { MUX_SECRET_ONE: secrets.MUX_SECRET_ONE, MUX_SECRET_TWO: secrets.MUX_SECRET_TWO },
        status_file: path.join(dir, "argv.status.json"),
      },
      fx: { env: { FIXTURE_PIDFILE: pids, MUX_SECRET_THREE: secrets.MUX_SECRET_THREE } },
      broken: { cmd: path.join(dir, "no-such-server"), env: { MUX_SECRET_FOUR: secrets.MUX_SECRET_FOUR }, max_restarts: 1, restart_backoff_ms: 20, restart_backoff_max_ms: 20 },
    });
    const d = await startDaemon(cfg.configPath, [], { env: { RMCP_MUX_LOG: "debug" } });
    const ctl = controlSocketOf(dir);
    const outputs: Record<string, string> = {};

    // the values did reach the child (compared by hash only)
    const a = await RawClient.connect(cfg.sockets.argv!);
    await a.initialize({ timeoutMs: 20_000 });
    const info = JSON.parse(resultText(await a.callTool("argv", { names: ["MUX_SECRET_ONE", "MUX_SECRET_TWO"] }, 1, 20_000)));
    trackPid(info.pid);
    expect(info.envHashes).toEqual({ MUX_SECRET_ONE: sha256(secrets.MUX_SECRET_ONE), MUX_SECRET_TWO: sha256(secrets.MUX_SECRET_TWO) });

    // exercise every path that logs or reports: crash + restart, operator restart/stop/start, a failing spawn
    const f = await RawClient.connect(cfg.sockets.fx!);
    await f.initialize({ timeoutMs: 20_000 });
    await f.callTool("crash", {}, "boom", 20_000);
    await waitFor(() => readPids(pids).length >= 2, 20_000, "fx restarted");
    readPids(pids).forEach(trackPid);
    for (const cmd of ["restart", "stop", "start"]) outputs[`control ${cmd}`] = JSON.stringify(await control(ctl, { cmd, name: "fx" }));
    outputs["control restart argv"] = JSON.stringify(await control(ctl, { cmd: "restart", name: "argv" }));
    await waitFor(async () => (await daemonStatus(ctl)).servers.find((s: any) => s.name === "broken").state === "failed", 15_000, "broken failed");
    outputs["control status"] = JSON.stringify(await control(ctl, { cmd: "status" }));
    // a subscription: the first answer and one event
    const sub = await RawClient.connect(ctl);
    sub.send({ cmd: "subscribe" });
    const ev = [await sub.next(() => true, 20_000), await sub.next(() => true, 20_000)];
    outputs["subscribe"] = ev.map((e) => e.raw).join("\n");
    sub.destroy();
    const commands = [
      ["daemon-status", "--json", "--config", cfg.configPath],
      ["daemon-status", "--config", cfg.configPath],
      ["--show-status", "--json", "--config", cfg.configPath],
      ["--show-status", "--config", cfg.configPath],
      ["--restart-service", "fx", "--config", cfg.configPath],
      ["health", "--config", cfg.configPath, "--service", "fx"],
      ["check", "--config", cfg.configPath],
      ["check", "--json", "--config", cfg.configPath],
      ["reload", "--config", cfg.configPath],
      ["reload", "--json", "--config", cfg.configPath],
      ["service", "install", "--dry-run", "--platform", "systemd", "--config", cfg.configPath],
      ["service", "install", "--dry-run", "--platform", "launchd", "--config", cfg.configPath],
    ];
    for (const args of commands) {
      const r = await runCli(args, 20_000);
      outputs[args.join(" ")] = r.stdout + r.stderr;
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
    }
    // check --json keeps the names (so a reader sees which keys are set) and masks each value
    expect(JSON.parse(outputs[`check --json --config ${cfg.configPath}`]!).servers[0].env).toEqual({ MUX_SECRET_ONE: "***", MUX_SECRET_TWO: "***" });
    // A refused reload prints the check's reason, which never holds a value either (--socket: the file is broken now)
    writeFileSync(cfg.configPath, `${readFileSync(cfg.configPath, "utf8")}\n[servers.extra]\nsocket = "${dir}/extra.sock"\ncmd = "bun"\nenv = { MUX_SECRET_ONE = 5 }\n`);
    for (const args of [["reload", "--socket", ctl], ["reload", "--json", "--socket", ctl]]) {
      const r = await runCli(args, 60_000);
      outputs[`refused ${args.join(" ")}`] = r.stdout + r.stderr;
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
    }
    // Not run here, because they never read the daemon's config: dashboard (renders the same control status as
    // daemon-status), proxy (bytes only), scan and rewire (host configs: tested separately), wizard (scan + rewire),
    // uninstall (reads no config's env: it looks for proxy entries, units, sockets and binaries).
    await waitFor(() => existsSync(path.join(dir, "argv.status.json")), 15_000, "status file");
    outputs["status file"] = readFileSync(path.join(dir, "argv.status.json"), "utf8");
    expect(await d.stop("SIGTERM", 15_000)).toBe(0);
    outputs["daemon log"] = d.stderrText() + d.stdoutLines.join("\n");
    // sanity: the outputs are real (the log saw the restarts and the failing spawn)
    expect(outputs["daemon log"]).toContain("control: restart fx");
    expect(outputs["daemon log"]).toContain("no-such-server");
    expect(outputs["daemon-status --json --config " + cfg.configPath]).toContain('"name": "broken"');
    for (const [where, text] of Object.entries(outputs)) {
      for (const [name, value] of Object.entries(secrets)) {
        expect({ where, name, leaked: text.includes(value) }).toEqual({ where, name, leaked: false });
        // a JSON-escaped copy would be a leak too
        expect({ where, name, leaked: text.includes(JSON.stringify(value).slice(1, -1)) }).toEqual({ where, name, leaked: false });
      }
    }
  }, 120_000);

  // BUG: a config whose env has a value of the wrong type prints that value in the error (daemon start, `check`):
  //   env = "API_TOKEN=sk-live-…"        → `servers.a.env must be a table of string values (was "API_TOKEN=sk-live-…")`
  //   env = { API_TOKEN = 987654321 }    → `servers.a.env.API_TOKEN must be a string (was 987654321)`
  // Expected: the key path and the expected type, never the value (describeValue() should not be used under env).
  test("a config error inside env never prints the env value", async () => {
    const dir = tempDir();
    const s1 = `sk-live-${randomBytes(8).toString("hex")}`;
    const s2 = 900_000_000 + Math.floor(Math.random() * 99_999_999);
    const bad1 = path.join(dir, "bad1.toml");
    const bad2 = path.join(dir, "bad2.toml");
    writeFileSync(bad1, `[servers.a]\nsocket = "${dir}/a.sock"\ncmd = "bun"\nenv = "API_TOKEN=${s1}"\n`);
    writeFileSync(bad2, `[servers.a]\nsocket = "${dir}/a.sock"\ncmd = "bun"\nenv = { API_TOKEN = ${s2}, OK = "x" }\n`);
    for (const [file, secret] of [[bad1, s1], [bad2, String(s2)]] as const) {
      for (const args of [["--config", file], ["check", "--config", file]]) {
        const r = await cli(args);
        expect(r.code).not.toBe(0);
        expect(r.out).toContain("servers.a.env"); // it does say where the problem is
        expect({ args, leaked: r.out.includes(secret) }).toEqual({ args, leaked: false });
      }
    }
  }, 120_000);

  test("scan output (text, --json, --manifest) shows env keys, never env or header values", async () => {
    const root = tempDir();
    const home = path.join(root, "home");
    const sec = {
      json: `S-json-${randomBytes(6).toString("hex")}`,
      num: String(700_000_000 + Math.floor(Math.random() * 9_999_999)),
      header: `S-hdr-${randomBytes(6).toString("hex")}`,
      toml: `S-toml-${randomBytes(6).toString("hex")}`,
      multiline: `S-ml-${randomBytes(6).toString("hex")}`,
    };
    mkdirSync(path.join(home, ".config/Claude"), { recursive: true });
    writeFileSync(
      path.join(home, ".config/Claude/claude_desktop_config.json"),
      JSON.stringify({
        mcpServers: {
          alpha: { command: "npx", args: ["-y", "alpha-mcp"], env: { ALPHA_KEY: sec.json, ALPHA_PIN: Number(sec.num), ML: `line1\n${sec.multiline}` } },
          remote: { url: "https://example.invalid/mcp", headers: { Authorization: `Bearer ${sec.header}` } },
        },
      }),
    );
    mkdirSync(path.join(home, ".codex"), { recursive: true });
    writeFileSync(path.join(home, ".codex/config.toml"), `[mcp_servers.beta]\ncommand = "uvx"\nargs = ["beta-mcp"]\nenv = { BETA_TOKEN = "${sec.toml}" }\n`);
    const where = ["--home", home, "--platform", "linux", "--workspace", home];
    const manifest = path.join(root, "cfg/mux.toml");
    const runs = [["scan", ...where], ["scan", "--json", ...where], ["scan", ...where, "--manifest", manifest, "--socket-dir", path.join(root, "s")]];
    for (const args of runs) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
      expect(r.out).toContain("ALPHA_KEY"); // keys are shown
      for (const [k, v] of Object.entries(sec)) expect({ args, k, leaked: r.out.includes(v) }).toEqual({ args, k, leaked: false });
    }
    // the manifest needs the values to run the servers: it holds them, and only its owner can read it
    expect(mode(manifest).toString(8)).toBe("600");
    expect(readFileSync(manifest, "utf8")).toContain(sec.json);
  }, 120_000);

  test("a symlink planted at a server socket or the control socket path is refused, not followed", async () => {
    const dir = tempDir();
    const target = path.join(dir, "target");
    // 1: the server socket is a dangling symlink
    const cfg1 = writeConfig(dir, { a: {} });
    symlinkSync(target, cfg1.sockets.a!);
    const d1 = await startDaemon(cfg1.configPath, [], { waitSockets: [] });
    expect(await d1.exited).not.toBe(0);
    expect(d1.stderrText()).toMatch(/a\.sock: is a symbolic link; refusing to follow or replace it/);
    expect(lstatSync(cfg1.sockets.a!).isSymbolicLink()).toBe(true);
    expect(existsSync(target)).toBe(false);

    // 2: a symlink to a live socket of another daemon: refused as well, and that daemon is untouched
    const other = writeConfig(undefined, { o: {} });
    await startDaemon(other.configPath);
    const dir2 = tempDir();
    const cfg2 = writeConfig(dir2, { b: {} });
    symlinkSync(other.sockets.o!, cfg2.sockets.b!);
    const d2 = await startDaemon(cfg2.configPath, [], { waitSockets: [] });
    expect(await d2.exited).not.toBe(0);
    expect(d2.stderrText()).toMatch(/b\.sock: is a symbolic link/);
    const oc = await RawClient.connect(other.sockets.o!);
    await oc.initialize({ timeoutMs: 20_000 });
    expect(lstatSync(other.sockets.o!).isSocket()).toBe(true);

    // 3: the control socket path is a symlink to a regular file: refused, file unchanged
    const dir3 = tempDir();
    const precious = path.join(dir3, "precious.txt");
    writeFileSync(precious, "do not touch\n");
    const cfg3 = writeConfig(dir3, { c: {} });
    symlinkSync(precious, controlSocketOf(dir3));
    const d3 = await startDaemon(cfg3.configPath, [], { waitSockets: [] });
    expect(await d3.exited).not.toBe(0);
    expect(d3.stderrText()).toMatch(/daemon\.sock: is a symbolic link/);
    expect(readFileSync(precious, "utf8")).toBe("do not touch\n");
    expect(lstatSync(controlSocketOf(dir3)).isSymbolicLink()).toBe(true);

    // 4: a regular file at a socket path is the user's: refused, kept
    const dir4 = tempDir();
    const cfg4 = writeConfig(dir4, { e: {} });
    writeFileSync(cfg4.sockets.e!, "mine\n");
    const d4 = await startDaemon(cfg4.configPath, [], { waitSockets: [] });
    expect(await d4.exited).not.toBe(0);
    expect(d4.stderrText()).toMatch(/e\.sock: exists and is not a socket/);
    expect(readFileSync(cfg4.sockets.e!, "utf8")).toBe("mine\n");
  }, 120_000);

  // BUG: the leftover record `<socket>.pid` (src/runtime/leftovers.ts writeRecord) is written with writeFileSync,
  // which follows a symlink planted at that path: the daemon overwrites the symlink's target with its JSON record
  // (any file the daemon's user can write). Expected: refused or replaced, like the socket path itself.
  test("a symlink planted at the <socket>.pid record path is not followed", async () => {
    const dir = tempDir();
    const victim = path.join(dir, "victim.txt");
    writeFileSync(victim, "precious\n");
    const cfg = writeConfig(dir, { a: {} });
    symlinkSync(victim, `${cfg.sockets.a!}.pid`);
    const d = await startDaemon(cfg.configPath, [], { waitSockets: [] });
    // either the daemon refuses to start, or it starts without writing through the link
    await Promise.race([d.exited, waitFor(async () => (await RawClient.connect(cfg.sockets.a!).then((c) => (c.destroy(), true)).catch(() => false)), 15_000, "socket up")]);
    if (d.proc.exitCode === null) {
      const c = await RawClient.connect(cfg.sockets.a!);
      await c.initialize({ timeoutMs: 20_000 });
      trackPid((await c.stats(10_000)).pid);
    }
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(statSync(victim).size).toBe("precious\n".length);
  }, 120_000);
});
