// One test per refusal: each checks the message names the file and the offending key, and the structured fields.
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../../src/config/errors.ts";
import { loadConfig, selectServers, type ServerConfig } from "../../src/config/load.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmpDir(): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mux-bad-")));
  dirs.push(d);
  return d;
}

/** Writes `text` to a fresh temp file, expects loadConfig to refuse it, returns the error. */
async function refuse(text: string, name = "mux.toml", dir = tmpDir()): Promise<ConfigError> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const err = await loadConfig(file).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  const ce = err as ConfigError;
  expect(ce.file).toBe(file);
  expect(ce.message.startsWith(`${file}: `)).toBe(true);
  if (process.env.SHOW_CONFIG_ERRORS) console.log(ce.message);
  return ce;
}

const server = (name: string, extra = "", socket = `/tmp/${name}.sock`) =>
  `[servers.${name}]\nsocket = "${socket}"\ncmd = "srv"\n${extra}\n`;

describe("loadConfig refuses", () => {
  test("an unknown key in a server table", async () => {
    const e = await refuse(server("memory", `sockets = "/tmp/x.sock"`));
    expect(e.message).toContain(`servers.memory: unknown key "sockets"`);
    expect([e.server, e.key]).toEqual(["memory", "sockets"]);
  });

  test("an unknown top-level key", async () => {
    const e = await refuse(`status_sockets = "/tmp/d.sock"\n${server("a")}`);
    expect(e.message).toContain(`top level: unknown key "status_sockets"`);
    expect([e.server, e.key]).toEqual([undefined, "status_sockets"]);
  });

  test("a value of the wrong type", async () => {
    const e = await refuse(server("memory", `max_active_clients = "five"`));
    expect(e.message).toBe(`${e.file}: servers.memory.max_active_clients must be an integer >= 1 (was "five")`);
    expect([e.key, e.expected, e.actual]).toEqual(["max_active_clients", "an integer >= 1", `"five"`]);
  });

  test("a boolean key given a string", async () => {
    const e = await refuse(server("memory", `lazy_start = "yes"`));
    expect(e.message).toContain(`servers.memory.lazy_start must be true or false (was "yes")`);
  });

  test("a launch mode that does not exist", async () => {
    const e = await refuse(server("memory", `launch = "direct"`));
    expect(e.message).toContain(`servers.memory.launch must be "resolve" or "as-written" (was "direct")`);
  });

  test("a negative limit", async () => {
    const e = await refuse(server("memory", `max_request_bytes = -3`));
    expect(e.message).toContain("servers.memory.max_request_bytes must be an integer >= 1 (was -3)");
  });

  test("max_active_clients = 0", async () => {
    const e = await refuse(server("memory", `max_active_clients = 0`));
    expect(e.message).toContain("servers.memory.max_active_clients must be an integer >= 1 (was 0)");
  });

  test("a fractional count", async () => {
    const e = await refuse(server("memory", `max_restarts = 1.5`));
    expect(e.message).toContain("servers.memory.max_restarts must be an integer >= 0 (was 1.5)");
  });

  test("a timeout setTimeout cannot represent", async () => {
    const e = await refuse(server("memory", `request_timeout_ms = 3000000000`));
    expect(e.message).toContain("servers.memory.request_timeout_ms must be an integer from 1 to 2147483647");
  });

  test("two servers on the same socket, even when spelled differently", async () => {
    const dir = tmpDir();
    const e = await refuse(server("a", "", "s.sock") + server("b", "", `${dir}/./s.sock`), "mux.toml", dir);
    expect(e.message).toBe(`${e.file}: servers.a.socket and servers.b.socket are the same path ${dir}/s.sock`);
    expect([e.server, e.key]).toEqual(["b", "socket"]);
  });

  test("a server socket equal to the status socket", async () => {
    const e = await refuse(`status_socket = "/tmp/x.sock"\n${server("a", "", "/tmp/x.sock")}`);
    expect(e.message).toContain("status_socket and servers.a.socket are the same path /tmp/x.sock");
  });

  test("a socket path longer than sun_path allows", async () => {
    const e = await refuse(server("a", "", `/tmp/${"d".repeat(120)}.sock`));
    expect(e.message).toMatch(/servers\.a\.socket must be a socket path of at most 10[37] bytes \(was 130 bytes/);
  });

  test("a server without cmd", async () => {
    const e = await refuse(`[servers.memory]\nsocket = "/tmp/m.sock"\n`);
    expect(e.message).toContain(`servers.memory: missing required key "cmd"`);
    expect([e.server, e.key]).toEqual(["memory", "cmd"]);
  });

  test("a server without socket", async () => {
    const e = await refuse(`[servers.memory]\ncmd = "srv"\n`);
    expect(e.message).toContain(`servers.memory: missing required key "socket"`);
    expect(e.key).toBe("socket");
  });

  test("an env value that is not a string", async () => {
    const e = await refuse(server("memory", `env = { TOKEN = "t", PORT = 8080 }`));
    expect(e.message).toContain("servers.memory.env.PORT must be a string (was a number, value hidden)");
    expect(e.message).not.toContain("8080");
    expect([e.server, e.key]).toEqual(["memory", "env.PORT"]);
  });

  test("bad TOML syntax, with its line number", async () => {
    const e = await refuse(`[servers.memory]\nsocket = "/tmp/m.sock"\ncmd = \n`);
    expect(e.message).toMatch(/: TOML syntax error at line 3, column \d+: /);
  });

  test("bad JSON syntax", async () => {
    const e = await refuse(`{"servers": {"a": }}`, "mux.json");
    expect(e.message).toContain("JSON syntax error");
  });

  test("a file that does not exist", async () => {
    const file = path.join(tmpDir(), "nope.toml");
    const err = await loadConfig(file).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`${file}: config file not found`);
  });

  test("a server name with a space", async () => {
    const e = await refuse(`[servers."my server"]\nsocket = "/tmp/m.sock"\ncmd = "srv"\n`);
    expect(e.message).toContain(`servers."my server": invalid server name, expected a name made of letters`);
    expect(e.server).toBe("my server");
  });

  test("restart_backoff_max_ms below restart_backoff_ms, naming both keys", async () => {
    const e = await refuse(server("memory", "restart_backoff_ms = 5000\nrestart_backoff_max_ms = 1000"));
    expect(e.message).toContain(
      "servers.memory.restart_backoff_max_ms must be >= restart_backoff_ms (5000) (was 1000)",
    );
  });

  test("an empty servers table, and a file without one", async () => {
    expect((await refuse(`[servers]\n`)).message).toContain("servers: at least one [servers.NAME] table is required");
    expect((await refuse(`status_socket = "/tmp/d.sock"\n`)).message).toContain(`missing required key "servers"`);
  });

  test("several problems at once: all of them are listed", async () => {
    const e = await refuse(server("a", "tray = 1") + server("b", "max_restarts = -1"));
    expect(e.message).toContain("servers.a.tray must be true or false (was 1)");
    expect(e.message).toContain("\n  also: servers.b.max_restarts must be an integer >= 0 (was -1)");
  });
});

describe("selectServers refuses", () => {
  const servers = ["a", "b"].map((name) => ({ name }) as ServerConfig);
  const refuseSelect = (only?: string, except?: string): ConfigError => {
    let err: unknown;
    try {
      selectServers(servers, only, except, "/etc/mux.toml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  };

  test("--only with an unknown name, listing the known ones", () => {
    const e = refuseSelect("a,zz");
    expect(e.message).toBe(`/etc/mux.toml: --only names unknown server(s) "zz"; configured servers: a, b`);
  });
  test("--except with an unknown name", () => {
    expect(refuseSelect(undefined, "nope").message).toContain(`--except names unknown server(s) "nope"`);
  });
  test("--only and --except together", () => {
    expect(refuseSelect("a", "b").message).toContain("--only and --except cannot be used together");
  });
  test("--except that leaves nothing to start", () => {
    expect(refuseSelect(undefined, "a,b").message).toContain("--except a,b leaves no server to start");
  });
});
