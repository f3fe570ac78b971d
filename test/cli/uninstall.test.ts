/**
 * `rmcp-mux uninstall` on a copy of the fixture home: a rewired host, a service unit written by `service install`,
 * binaries, a stale socket and pid record. It removes what it promises, keeps the rest (and says so), and changes
 * nothing at all when a host file could not be restored. systemctl is a stand-in on PATH that records its calls.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { copyHome, HOST_FILES, mux, removeHomes, where, CLI, REPO } from "../onboard/fixture-home.ts";

afterAll(removeHomes);

const FAKE_SYSTEMCTL = `#!/bin/sh\necho "systemctl $*" >> "$FAKE_LOG"\nexit 0\n`;
const UNIT_HEADER = "# Written by `rmcp-mux service install`; `rmcp-mux service uninstall --name rmcp-mux` removes it.\n";

/** Every path under `dir`, sorted, with file contents: what a run may not change. */
function snapshot(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => !p.startsWith(".bun"))
    .sort()
    .map((p) => {
      const full = path.join(dir, p);
      try {
        return `${p}\n${readFileSync(full, "utf8")}`;
      } catch {
        return p;
      }
    });
}

async function world() {
  const h = copyHome();
  const bin = path.join(h.root, "bin");
  const fake = path.join(h.root, "fake");
  mkdirSync(bin);
  mkdirSync(fake);
  writeFileSync(path.join(fake, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
  for (const b of ["rmcp-mux", "other-tool"]) writeFileSync(path.join(bin, b), "#!/bin/sh\n", { mode: 0o755 });
  symlinkSync("rmcp-mux", path.join(bin, "rmcp-mux-proxy")); // as install.sh lays them out
  const manifest = path.join(h.home, ".rmcp-servers/rmcp-mux/mux.toml");
  const scan = await mux(["scan", ...where(h), "--manifest", manifest]);
  expect(scan.code).toBe(0);
  const cursor = path.join(h.home, HOST_FILES.cursor!);
  const original = readFileSync(cursor, "utf8");
  const rewire = await mux(["rewire", "--host", "cursor", ...where(h), "--config", manifest, "--proxy", path.join(bin, "rmcp-mux-proxy")]);
  expect(rewire.code).toBe(0);
  expect(readFileSync(cursor, "utf8")).not.toBe(original);
  // the daemon's leftovers: a stale socket (its process exited without removing it) and a pid record
  const sockets = path.join(h.home, ".rmcp-mux/sockets");
  mkdirSync(sockets, { recursive: true });
  const stale = path.join(sockets, "memory.sock");
  const made = Bun.spawnSync([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(stale)}, socket: { data() {} } }); process.exit(0);`]);
  expect(made.exitCode).toBe(0);
  writeFileSync(`${stale}.pid`, "12345\n");
  writeFileSync(path.join(h.home, ".rmcp-mux/notes.txt"), "mine\n");
  const units = path.join(h.home, ".config/systemd/user");
  mkdirSync(units, { recursive: true });
  writeFileSync(path.join(units, "rmcp-mux.service"), `${UNIT_HEADER}[Service]\nExecStart=/bin/true\n`);
  writeFileSync(path.join(units, "mine.service"), "[Service]\nExecStart=/bin/true\n");
  const log = path.join(h.root, "calls.log");
  const run = async (extra: string[]) => {
    const p = Bun.spawn([process.execPath, CLI, "uninstall", ...where(h), "--bin-dir", bin, ...extra], {
      cwd: REPO,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, PATH: `${fake}:${process.env.PATH}`, FAKE_LOG: log, NO_COLOR: "1" },
    });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { stdout, stderr, code };
  };
  return { ...h, bin, manifest, cursor, original, stale, units, log, run };
}

describe("rmcp-mux uninstall", () => {
  test("--dry-run says everything it would do and changes nothing", async () => {
    const w = await world();
    const before = [snapshot(w.home), snapshot(w.bin)];
    const r = await w.run(["--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would restore ~/${HOST_FILES.cursor} (cursor: `);
    expect(r.stdout).toContain(`rm -f ${path.join(w.units, "rmcp-mux.service")}`);
    expect(r.stdout).toContain(`would remove ${path.join(w.bin, "rmcp-mux")}\n`);
    expect(r.stdout).toContain(`would remove ${path.join(w.bin, "rmcp-mux-proxy")}\n`);
    expect(r.stdout).toContain("would remove ~/.rmcp-mux/sockets/memory.sock\n");
    expect(r.stdout).toContain("would remove ~/.rmcp-mux/sockets/memory.sock.pid\n");
    expect(r.stdout).toContain("would remove the folder ~/.rmcp-mux/sockets\n");
    expect(r.stdout).toContain("kept ~/.rmcp-servers/rmcp-mux/mux.toml");
    expect([snapshot(w.home), snapshot(w.bin)]).toEqual(before);
    expect(existsSync(w.log)).toBe(false);
  }, 60_000);

  test("restores the host, removes the service, leftovers and binaries; keeps mux.toml, backups and other files", async () => {
    const w = await world();
    const r = await w.run([]);
    if (process.env.MUX_TEST_VERBOSE === "1") console.error(r.stdout);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(w.cursor, "utf8")).toBe(w.original);
    expect(r.stdout).toContain(`restored ~/${HOST_FILES.cursor} (cursor: `);
    expect(readFileSync(w.log, "utf8")).toContain("systemctl --user disable --now rmcp-mux.service");
    expect(readdirSync(w.units)).toEqual(["mine.service"]);
    expect(readdirSync(w.bin)).toEqual(["other-tool"]);
    expect(r.stdout).toContain("removed ~/.rmcp-mux/sockets/memory.sock\n");
    expect(r.stdout).toContain("removed the folder ~/.rmcp-mux/sockets\n");
    expect(existsSync(w.stale)).toBe(false);
    expect(existsSync(`${w.stale}.pid`)).toBe(false);
    expect(existsSync(path.dirname(w.stale))).toBe(false);
    expect(readFileSync(path.join(w.home, ".rmcp-mux/notes.txt"), "utf8")).toBe("mine\n"); // not ours: stays, and so does its folder
    expect(existsSync(w.manifest)).toBe(true);
    expect(r.stdout).toContain("kept ~/.rmcp-servers/rmcp-mux/mux.toml");
    // the rewire's backup and the version the restore replaced are both kept, and listed
    const backups = readdirSync(path.dirname(w.cursor)).filter((n) => n.endsWith(".bak"));
    expect(backups.filter((n) => n.endsWith(".rmcp-mux.bak"))).toHaveLength(1);
    expect(backups.filter((n) => n.endsWith(".pre-restore.bak"))).toHaveLength(1);
    for (const b of backups) expect(r.stdout).toContain(`kept ~/${path.dirname(HOST_FILES.cursor!)}/${b}`);
    // run again: nothing left to do, nothing changed
    const again = await w.run([]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing of rmcp-mux was found to remove");
  }, 60_000);

  test("the host file gets back only the entries rewire changed: one the host added since stays", async () => {
    const w = await world();
    const doc = JSON.parse(readFileSync(w.cursor, "utf8"));
    doc.mcpServers.later = { command: "later-server", args: [] };
    writeFileSync(w.cursor, JSON.stringify(doc, null, 2));
    const r = await w.run([]);
    expect(r.code).toBe(0);
    const after = JSON.parse(readFileSync(w.cursor, "utf8"));
    expect(after.mcpServers.later).toEqual({ command: "later-server", args: [] });
    const { later: _, ...rest } = after.mcpServers;
    expect(rest).toEqual(JSON.parse(w.original).mcpServers);
  }, 60_000);

  test("an entry changed since the rewire stops the uninstall before any change", async () => {
    const w = await world();
    const doc = JSON.parse(readFileSync(w.cursor, "utf8"));
    const name = Object.keys(doc.mcpServers)[0]!;
    doc.mcpServers[name].args = [...doc.mcpServers[name].args, "--edited"];
    writeFileSync(w.cursor, JSON.stringify(doc, null, 2));
    const before = [snapshot(w.home), snapshot(w.bin)];
    const r = await w.run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`~/${HOST_FILES.cursor}: ${name}`);
    expect(r.stderr).toContain("nothing was changed");
    expect([snapshot(w.home), snapshot(w.bin)]).toEqual(before);
  }, 60_000);

  test("a host file that runs the proxy without a backup stops it before any change", async () => {
    const w = await world();
    const gemini = path.join(w.home, HOST_FILES.gemini!);
    writeFileSync(gemini, JSON.stringify({ mcpServers: { hand: { command: path.join(w.bin, "rmcp-mux-proxy"), args: ["--socket", "/tmp/x.sock"] } } }));
    const before = [snapshot(w.home), snapshot(w.bin)];
    const r = await w.run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`~/${HOST_FILES.gemini} runs rmcp-mux-proxy for hand and has no rmcp-mux backup to restore`);
    expect(r.stderr).toContain("nothing was changed");
    expect([snapshot(w.home), snapshot(w.bin)]).toEqual(before);
  }, 60_000);
});
