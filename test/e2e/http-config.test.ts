/**
 * The [http] table from the command line's side: a non-loopback address refused without allow_remote
 * (config and --http), the token file made 0600 when missing (`~` expanded), `rmcp-mux http-token`, and a
 * daemon without [http] that never loads the front.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { BUN, CLI, cleanup, REPO, runCli, startDaemon, tempDir, writeConfig } from "./harness.ts";

afterEach(cleanup);

describe("[http] listen", () => {
  test("a non-loopback address is refused without allow_remote, in the file and with --http", async () => {
    const cfg = writeConfig(undefined, { fx: {} }, { http: { listen: "0.0.0.0:7337" } });
    const check = await runCli(["check", "--config", cfg.configPath]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain("http.listen 0.0.0.0:7337 is not a loopback address");
    expect(check.stderr).toContain("allow_remote = true");
    // the daemon refuses before binding anything
    const run = await runCli(["--config", cfg.configPath]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is not a loopback address");
    expect(existsSync(cfg.sockets.fx!)).toBe(false);

    const plain = writeConfig(undefined, { fx: {} });
    const flag = await runCli(["check", "--config", plain.configPath, "--http", "192.168.1.10:7337"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--http 192.168.1.10:7337 is not a loopback address");
    const bad = await runCli(["check", "--config", plain.configPath, "--http", "7337"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected "HOST:PORT"');
  });

  test("allow_remote = true accepts it; loopback forms are accepted as they are", async () => {
    const remote = writeConfig(undefined, { fx: {} }, { http: { listen: "0.0.0.0:7337", allow_remote: true } });
    const ok = await runCli(["check", "--config", remote.configPath]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("http://0.0.0.0:7337/mcp/NAME");
    for (const addr of ["127.0.0.1:7337", "localhost:7337", "[::1]:7337", ":7337"]) {
      const plain = writeConfig(undefined, { fx: {} });
      const r = await runCli(["check", "--config", plain.configPath, "--http", addr]);
      expect(r.code).toBe(0);
    }
  });

  test("an unknown key in [http] is refused", async () => {
    const cfg = writeConfig(undefined, { fx: {} }, { http: { listen: "127.0.0.1:0", port: 1 } });
    const r = await runCli(["check", "--config", cfg.configPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key "port"');
  });
});

describe("the token", () => {
  test("made 0600 under a ~ path when missing, printed by http-token, and the same one the daemon uses", async () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    const cfg = writeConfig(undefined, { fx: {} }, { http: { token_file: "~/.rmcp-mux/http-token" } });
    const env = { ...process.env, HOME: home };
    const p = Bun.spawn([BUN, CLI, "http-token", "--config", cfg.configPath], { cwd: REPO, env, stdout: "pipe", stderr: "pipe" });
    const [out, code] = [await new Response(p.stdout).text(), await p.exited];
    expect(code).toBe(0);
    const file = path.join(home, ".rmcp-mux/http-token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, "utf8").trim();
    expect(out.trim()).toBe(token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // --http turns the front on; the daemon reads the same file
    const d = await startDaemon(cfg.configPath, ["--http", "127.0.0.1:0"], { env: { HOME: home } });
    const line = await d.waitForStderr(/http: listening on (\S+)\/mcp/);
    const base = /http: listening on (\S+)\/mcp/.exec(line)![1]!;
    const r = await fetch(`${base}/mcp/fx`, { method: "DELETE", headers: { Authorization: `Bearer ${token}`, "Mcp-Session-Id": "x" } });
    expect(r.status).toBe(404); // past auth: an unknown session
  });

  test("a token file others can read is refused", async () => {
    const dir = tempDir();
    const file = path.join(dir, "tok");
    await Bun.write(file, "secret\n");
    const cfg = writeConfig(dir, { fx: {} }, { http: { token_file: file } });
    const r = await runCli(["http-token", "--config", cfg.configPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("readable by others");
  });

  test("a daemon without [http] serves no HTTP and says nothing of it", async () => {
    const cfg = writeConfig(undefined, { fx: {} });
    const d = await startDaemon(cfg.configPath);
    expect(d.countStderr(/http:/)).toBe(0);
  });
});
