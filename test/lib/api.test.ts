import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { checkHealth, ConfigError, MuxConfig, spawnMuxServer } from "../../src/index.ts";

const FIXTURE = join(import.meta.dir, "../fixtures/fixture-server.ts");
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync("/tmp/mx-lib-");
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("library API", () => {
  test("MuxConfig fills the same defaults as mux.toml and refuses bad values naming the key", async () => {
    const cfg = await new MuxConfig("/tmp/x.sock", "srv").withServiceName("svc").withMaxClients(9).resolve();
    expect(cfg).toMatchObject({ name: "svc", socket: "/tmp/x.sock", cmd: "srv", args: [], max_active_clients: 9, max_connections: 256, request_timeout_ms: 30000 });
    expect((await new MuxConfig("/tmp/x.sock", "srv").withMaxConnections(12).resolve()).max_connections).toBe(12);
    const bad = new MuxConfig("/tmp/x.sock", "srv").withMaxClients(-1).resolve();
    await expect(bad).rejects.toBeInstanceOf(ConfigError);
    await expect(bad).rejects.toThrow("max_active_clients");
  });

  test("spawnMuxServer serves a real child, restarts it, and stop removes the socket", async () => {
    const socket = join(tmp(), "lib.sock");
    const handle = await spawnMuxServer(new MuxConfig(socket, process.execPath).withArgs([FIXTURE]).withServiceName("lib"));
    const health = await checkHealth(socket);
    expect(health.serverInfo?.name).toBe("fixture");
    const pid = handle.status().pid;
    expect(pid).toBeGreaterThan(0);
    await handle.restart();
    expect(handle.status().pid).not.toBe(pid);
    expect(handle.status().restarts).toBe(1);
    await handle.stop();
    await handle.wait();
    expect(existsSync(socket)).toBe(false);
  });

  test("the example in examples/library.ts runs", async () => {
    const socket = join(tmp(), "ex.sock");
    const p = Bun.spawn([process.execPath, join(import.meta.dir, "../../examples/library.ts"), socket, process.execPath, FIXTURE], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    expect(out).toContain("fixture answered ping");
    expect(out).toContain("stopped");
  });

  test("importing the library loads no CLI, dashboard or onboarding code", async () => {
    const probe = `await import(${JSON.stringify(join(import.meta.dir, "../../src/index.ts"))});
      const loaded = Object.keys(require.cache);
      console.log(JSON.stringify(loaded.filter((f) => /citty|opentui|\\/src\\/(cli|tui|hosts|onboard)\\//.test(f))));`;
    const p = Bun.spawn([process.execPath, "-e", probe], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(JSON.parse(out)).toEqual([]);
  });

  // A program embedding the library decides where the daemon's log goes: a function, nowhere, or stderr.
  test("setLogWriter sends the log to a function or silences it; RMCP_MUX_LOG=off silences it too", async () => {
    const run = async (mode: string, env: Record<string, string> = {}) => {
      const socket = join(tmp(), `${mode}.sock`);
      const probe = `
        const { MuxConfig, setLogWriter, spawnMuxServer } = await import(${JSON.stringify(join(import.meta.dir, "../../src/index.ts"))});
        const lines = [];
        if (${JSON.stringify(mode)} === "capture") setLogWriter((l) => lines.push(l));
        if (${JSON.stringify(mode)} === "silent") setLogWriter(null);
        const h = await spawnMuxServer(new MuxConfig(${JSON.stringify(socket)}, process.execPath).withArgs([${JSON.stringify(FIXTURE)}]).withServiceName("quiet"));
        await h.restart();
        await h.stop();
        console.log(JSON.stringify(lines));`;
      const p = Bun.spawn([process.execPath, "-e", probe], { stdout: "pipe", stderr: "pipe", env: { ...process.env, RMCP_MUX_LOG: "info", ...env } });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect({ mode, code }).toEqual({ mode, code: 0 });
      return { captured: JSON.parse(out) as string[], stderr: err };
    };
    const loud = await run("default");
    expect(loud.stderr).toContain("[quiet] started pid");
    const captured = await run("capture");
    expect(captured.stderr).not.toContain("[quiet]");
    expect(captured.captured.some((l) => l.includes("[quiet] started pid") && l.endsWith("\n"))).toBe(true);
    const silent = await run("silent");
    expect(silent.stderr).not.toContain("[quiet]");
    const off = await run("default", { RMCP_MUX_LOG: "off" });
    expect(off.stderr).not.toContain("[quiet]");
  }, 60_000);
});
