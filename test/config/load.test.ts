import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, parseConfigText, selectServers, type LoadedConfig } from "../../src/config/load.ts";

const dirs: string[] = [];
function tmpDir(): string {
  // realpath: on macOS os.tmpdir() is a symlink, and resolved paths are compared literally below.
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mux-cfg-")));
  dirs.push(d);
  return d;
}
function write(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const savedHome = process.env.HOME;
let home = "";
beforeEach(() => {
  home = tmpDir();
  process.env.HOME = home;
});
afterEach(() => {
  process.env.HOME = savedHome;
});

const FULL_TOML = `
status_socket = "/run/mux/daemon.sock"

[servers.memory]
socket = "/run/mux/memory.sock"
cmd = "npx"
args = ["-y", "@modelcontextprotocol/server-memory"]
env = { API_KEY = "k", MODE = "fast" }
cwd = "/srv/memory"
max_active_clients = 7
lazy_start = true
max_request_bytes = 2048
request_timeout_ms = 60000
restart_backoff_ms = 250
restart_backoff_max_ms = 4000
max_restarts = 0
tray = true
status_file = "/run/mux/memory.json"
max_response_bytes = 4096
max_client_buffer_bytes = 8192
stable_run_ms = 0
shutdown_grace_ms = 500
heartbeat = true
heartbeat_interval_ms = 1000
heartbeat_timeout_ms = 200
heartbeat_max_failures = 2
launch = "as-written"
share = "per-workspace"
max_instances = 3
idle_timeout_ms = 60000
`;

const FULL_SERVER = {
  name: "memory",
  socket: "/run/mux/memory.sock",
  cmd: "npx",
  args: ["-y", "@modelcontextprotocol/server-memory"],
  env: { API_KEY: "k", MODE: "fast" },
  cwd: "/srv/memory",
  max_active_clients: 7,
  max_connections: 256,
  lazy_start: true,
  max_request_bytes: 2048,
  request_timeout_ms: 60000,
  restart_backoff_ms: 250,
  restart_backoff_max_ms: 4000,
  max_restarts: 0,
  tray: true,
  status_file: "/run/mux/memory.json",
  max_response_bytes: 4096,
  max_client_buffer_bytes: 8192,
  stable_run_ms: 0,
  shutdown_grace_ms: 500,
  heartbeat: true,
  heartbeat_interval_ms: 1000,
  heartbeat_timeout_ms: 200,
  heartbeat_max_failures: 2,
  launch: "as-written" as const,
  share: "per-workspace" as const,
  max_instances: 3,
  idle_timeout_ms: 60000,
};

describe("loadConfig accepts", () => {
  test("a TOML file setting every key, values kept as written", async () => {
    const file = write(tmpDir(), "mux.toml", FULL_TOML);
    const cfg = await loadConfig(file);
    expect(cfg).toEqual({ file, statusSocket: "/run/mux/daemon.sock", servers: [FULL_SERVER], http: null });
  });

  test("a minimal server gets every default from the contract", async () => {
    const dir = tmpDir();
    const cfg = await loadConfig(write(dir, "mux.toml", `[servers.m]\nsocket = "/tmp/m.sock"\ncmd = "srv"\n`));
    expect(cfg.statusSocket).toBe(path.join(dir, "daemon.sock"));
    expect(cfg.servers).toEqual([
      {
        name: "m", socket: "/tmp/m.sock", cmd: "srv", args: [], env: {}, max_active_clients: 5, max_connections: 256, lazy_start: false,
        max_request_bytes: 1048576, request_timeout_ms: 30000, restart_backoff_ms: 1000,
        restart_backoff_max_ms: 30000, max_restarts: 5, tray: false, max_response_bytes: 67108864,
        max_client_buffer_bytes: 33554432, stable_run_ms: 10000, shutdown_grace_ms: 2000,
        heartbeat: false, heartbeat_interval_ms: 30000, heartbeat_timeout_ms: 5000, heartbeat_max_failures: 3,
        launch: "resolve", share: "auto", max_instances: 8,
      },
    ]);
    expect("cwd" in cfg.servers[0]!).toBe(false);
    expect("status_file" in cfg.servers[0]!).toBe(false);
  });

  test("~ and ~/x expand to $HOME in paths, but not in args or env", async () => {
    const file = write(tmpDir(), "mux.toml", `
status_socket = "~/mux/daemon.sock"
[servers.a]
socket = "~/socks/a.sock"
cmd = "~/bin/a"
args = ["~/keep", "~"]
env = { DATA = "~/data" }
cwd = "~"
status_file = "~/st/a.json"
`);
    const cfg = await loadConfig(file);
    const s = cfg.servers[0]!;
    expect(cfg.statusSocket).toBe(path.join(home, "mux/daemon.sock"));
    expect(s.socket).toBe(path.join(home, "socks/a.sock"));
    expect(s.cwd).toBe(home);
    expect(s.status_file).toBe(path.join(home, "st/a.json"));
    expect(s.cmd).toBe("~/bin/a");
    expect(s.args).toEqual(["~/keep", "~"]);
    expect(s.env).toEqual({ DATA: "~/data" });
  });

  test("relative paths resolve against the config file's folder, not the process cwd", async () => {
    const dir = tmpDir();
    const file = write(dir, "conf/mux.toml", `
status_socket = "run/d.sock"
[servers.a]
socket = "./socks/a.sock"
cmd = "a"
cwd = ".."
status_file = "st/a.json"
`);
    expect(process.cwd()).not.toBe(path.join(dir, "conf"));
    const cfg = await loadConfig(file);
    expect(cfg.statusSocket).toBe(path.join(dir, "conf/run/d.sock"));
    expect(cfg.servers[0]!.socket).toBe(path.join(dir, "conf/socks/a.sock"));
    expect(cfg.servers[0]!.cwd).toBe(dir);
    expect(cfg.servers[0]!.status_file).toBe(path.join(dir, "conf/st/a.json"));
  });

  test("a .json file with the same shape gives the same result as the TOML one", async () => {
    const dir = tmpDir();
    const { name: _name, ...table } = FULL_SERVER;
    const json = JSON.stringify({ status_socket: "/run/mux/daemon.sock", servers: { memory: table } });
    const fromJson = await loadConfig(write(dir, "mux.json", json));
    const fromToml = await loadConfig(write(dir, "mux.toml", FULL_TOML));
    expect(fromJson.file.endsWith(".json")).toBe(true);
    expect({ ...fromJson, file: "" }).toEqual({ ...fromToml, file: "" });
  });

  test("servers come back in file order and the result is plain, JSON-round-trippable data", async () => {
    const dir = tmpDir();
    const text = ["zeta", "alpha", "mid.v2"].map((n) => `[servers."${n}"]\nsocket = "${n}.sock"\ncmd = "c"\n`);
    const cfg: LoadedConfig = await parseConfigText(text.join("\n"), path.join(dir, "mux.toml"), "toml");
    expect(cfg.servers.map((s) => s.name)).toEqual(["zeta", "alpha", "mid.v2"]);
    expect(JSON.parse(JSON.stringify(cfg))).toEqual(cfg);
  });
});

describe("selectServers", () => {
  const servers = ["a", "b", "c"].map((name) => ({ ...FULL_SERVER, name, socket: `/tmp/${name}.sock` }));
  test("--only keeps the named servers, in file order, ignoring blanks", () => {
    expect(selectServers(servers, "c, a,,").map((s) => s.name)).toEqual(["a", "c"]);
  });
  test("--except drops the named servers", () => {
    expect(selectServers(servers, undefined, "b").map((s) => s.name)).toEqual(["a", "c"]);
  });
  test("neither flag returns every server", () => {
    expect(selectServers(servers)).toEqual(servers);
  });
});

describe("start-up cost", () => {
  test("importing load.ts, errors.ts and paths.ts does not load arktype; parsing does", () => {
    const probe = `
      const n = () => Object.keys(require.cache).filter((k) => k.includes("/arktype/")).length;
      const { parseConfigText } = await import("./src/config/load.ts");
      await import("./src/config/errors.ts"); await import("./src/config/paths.ts");
      const before = n();
      await parseConfigText('[servers.a]\\nsocket = "/tmp/a.sock"\\ncmd = "a"', "/tmp/m.toml", "toml");
      console.log(before, n() > 0);`;
    const root = path.resolve(import.meta.dir, "../..");
    const r = Bun.spawnSync([process.execPath, "-e", probe], { cwd: root });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim()).toBe("0 true");
  });
});
