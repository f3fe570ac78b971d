// Release packaging: `bun build.ts --target=<host>` writes binaries, NOTES, SHA256SUMS and the release
// archive; install.sh, run without a checkout, installs that archive from a release folder served on
// loopback, refuses a wrong checksum, and falls back to building from source when no archive fits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const HOST = `${process.platform}-${process.arch}`;
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/**
 * Stated timeouts, from measurements on the 2-core dev machine (each test alone, then within the full suite with a
 * load average of 5): an install from the archive 2.3–3 s alone, 4.4–11.3 s loaded; the archive checks 6.7 s loaded;
 * a refused install at most 1.2 s loaded; the source fallback 7.5 s loaded (its own 90 s below: a clone and two
 * compiles). About 5× the worst figure, so a busy machine slows these tests down without failing them.
 */
const INSTALL_MS = 60_000;
const REFUSAL_MS = 20_000;
/** The commit build.ts baked in, read from its log (HEAD may move while the tests run: others commit). */
let COMMIT = "";
const ARCHIVE = `rmcp-mux-${VERSION}-${HOST}.tar.gz`;
const BINARIES = ["rmcp-mux", "rmcp-mux-proxy"] as const;
const HOST_HAS_DASHBOARD = existsSync(join(ROOT, "node_modules", "@opentui", `core-${HOST}`, "package.json"));

let work = "";
let dist = "";
let release = "";
let standalone = ""; // a copy of install.sh outside any checkout
let bareRepo = ""; // a bare clone of this repository, tagged v<version>
let buildOut = "";
let buildMs = 0;
let server: ReturnType<typeof Bun.serve> | undefined;
let base = "";
const requests: string[] = [];
/** Release folders served as <base>/<ref>/<file>. */
const refs: Record<string, string> = {};

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

async function run(cmd: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {}) {
  // Async: the release server answers from this process, so a blocking spawn would deadlock it.
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? work,
    env: opts.env ?? process.env,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 90_000,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: stdout + stderr };
}

/** install.sh's environment: a temp INSTALL_DIR, the loopback releases, and no reachable source repo. */
function installEnv(installDir: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    INSTALL_DIR: installDir,
    MUX_RELEASE_URL: base,
    MUX_REPO: `file://${work}/no-such-repo`, // an unexpected fallback fails fast instead of reaching GitHub
    NO_COLOR: "1",
  };
  delete env.MUX_REF;
  delete env.MUX_PLATFORM;
  return { ...env, ...extra };
}

function newDir(name: string): string {
  return join(mkdtempSync(join(work, `${name}-`)), "bin");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "rmcp-mux-release-"));
  dist = join(work, "dist");
  release = join(dist, "release");

  const started = performance.now();
  const build = await run([process.execPath, join(ROOT, "build.ts"), `--target=${HOST}`, `--outdir=${dist}`], {
    cwd: ROOT,
  });
  buildMs = performance.now() - started;
  buildOut = build.out;
  if (build.code !== 0) throw new Error(`bun build.ts --target=${HOST} failed:\n${build.out}`);
  COMMIT = /^build: rmcp-mux \S+ \((\S+)\) with bun /m.exec(build.out)?.[1] ?? "";

  // Good release under two refs; one whose SHA256SUMS line is wrong; one whose archive was altered.
  refs[`v${VERSION}`] = release;
  refs.latest = release;
  const badSums = join(work, "bad-sums");
  mkdirSync(badSums);
  linkSync(join(release, ARCHIVE), join(badSums, ARCHIVE));
  writeFileSync(join(badSums, "SHA256SUMS"), `${"0123456789abcdef".repeat(4)}  ${ARCHIVE}\n`);
  refs["bad-sums"] = badSums;
  const badArchive = join(work, "bad-archive");
  mkdirSync(badArchive);
  copyFileSync(join(release, ARCHIVE), join(badArchive, ARCHIVE));
  copyFileSync(join(release, "SHA256SUMS"), join(badArchive, "SHA256SUMS"));
  const fd = openSync(join(badArchive, ARCHIVE), "r+");
  const middle = Math.floor(statSync(join(badArchive, ARCHIVE)).size / 2);
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, middle);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd, byte, 0, 1, middle);
  closeSync(fd);
  refs["bad-archive"] = badArchive;
  // A release from before rmcp-mux-proxy became a link: the proxy is a file of its own in the archive.
  const oldLayout = join(work, "old-layout");
  const oldStem = join(oldLayout, "unpacked", ARCHIVE.replace(/\.tar\.gz$/, ""));
  mkdirSync(oldStem, { recursive: true });
  copyFileSync(join(dist, HOST, "rmcp-mux"), join(oldStem, "rmcp-mux"));
  writeFileSync(join(oldStem, "rmcp-mux-proxy"), "#!/bin/sh\necho old-layout proxy\n", { mode: 0o755 });
  const tar = Bun.spawnSync(["tar", "-czf", join(oldLayout, ARCHIVE), "-C", join(oldLayout, "unpacked"), ARCHIVE.replace(/\.tar\.gz$/, "")]);
  if (tar.exitCode !== 0) throw new Error(`tar: ${tar.stderr}`);
  writeFileSync(join(oldLayout, "SHA256SUMS"), `${sha256(join(oldLayout, ARCHIVE))}  ${ARCHIVE}\n`);
  refs["old-layout"] = oldLayout;

  standalone = join(work, "standalone", "install.sh");
  mkdirSync(join(work, "standalone"));
  copyFileSync(join(ROOT, "install.sh"), standalone);

  bareRepo = join(work, "repo.git");
  const clone = Bun.spawnSync(["git", "clone", "--quiet", "--bare", ROOT, bareRepo], { stdout: "pipe", stderr: "pipe" });
  const tag = Bun.spawnSync(["git", "-C", bareRepo, "tag", "-f", `v${VERSION}`, "HEAD"], { stdout: "pipe", stderr: "pipe" });
  if (clone.exitCode !== 0 || tag.exitCode !== 0) throw new Error(`git clone --bare: ${clone.stderr} ${tag.stderr}`);

  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const [, ref, file, ...rest] = path.split("/");
      const dir = ref ? refs[ref] : undefined;
      if (!dir || !file || rest.length > 0 || file.startsWith(".")) return new Response("not found\n", { status: 404 });
      const f = Bun.file(join(dir, file));
      return (await f.exists()) ? new Response(f) : new Response("not found\n", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
}, 120_000);

afterAll(() => {
  server?.stop(true);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("bun build.ts --target (release archive)", () => {
  test(`writes dist/${HOST}/{binaries,SHA256SUMS,NOTES} and release/${ARCHIVE} with its SHA256SUMS`, async () => {
    console.log(`build --target=${HOST}: ${(buildMs / 1000).toFixed(1)}s`);
    const targetDir = join(dist, HOST);
    for (const b of BINARIES) {
      expect(statSync(join(targetDir, b)).mode & 0o111).toBe(0o111);
    }
    // One executable; the proxy's name is a link to it (one file's pages in memory for daemon and proxies).
    expect(lstatSync(join(targetDir, "rmcp-mux-proxy")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(targetDir, "rmcp-mux-proxy"))).toBe("rmcp-mux");
    // Per-target sums cover both names.
    const targetSums = readFileSync(join(targetDir, "SHA256SUMS"), "utf8");
    expect(targetSums).toBe(BINARIES.map((b) => `${sha256(join(targetDir, b))}  ${b}\n`).join(""));

    // Release sums cover exactly the archive, in sha256sum's format.
    expect(readdirSync(release).sort()).toEqual(["SHA256SUMS", ARCHIVE].sort());
    expect(readFileSync(join(release, "SHA256SUMS"), "utf8")).toBe(`${sha256(join(release, ARCHIVE))}  ${ARCHIVE}\n`);
    const check = await run(["sha256sum", "-c", "SHA256SUMS"], { cwd: release });
    expect(check.out).toContain(`${ARCHIVE}: OK`);
    expect(check.code).toBe(0);

    // The archive: one folder named like the archive, the executable, the proxy's link to it, and NOTES.
    const stem = ARCHIVE.replace(/\.tar\.gz$/, "");
    const list = await run(["tar", "-tvzf", join(release, ARCHIVE)]);
    expect(list.code).toBe(0);
    const entries = list.out
      .trim()
      .split("\n")
      .map((l) => {
        // mode, then the name (and a link's "-> target"): from the archive's folder on, whatever tar's columns
        return `${l.trim().split(/\s+/)[0]} ${l.slice(l.indexOf(`${stem}/`))}`;
      });
    expect(entries).toEqual([
      `drwxr-xr-x ${stem}/`,
      `-rwxr-xr-x ${stem}/rmcp-mux`,
      `lrwxrwxrwx ${stem}/rmcp-mux-proxy -> rmcp-mux`,
      `-rw-r--r-- ${stem}/NOTES`,
    ]);

    // NOTES says what was built and whether the dashboard is in it; the build log says the same.
    const notes = readFileSync(join(targetDir, "NOTES"), "utf8");
    expect(notes).toContain(`rmcp-mux ${VERSION} (commit ${COMMIT}) for ${HOST}`);
    expect(notes).toContain(HOST_HAS_DASHBOARD ? "dashboard: included" : "dashboard: UNAVAILABLE");
    expect(buildOut).toContain(`release/${ARCHIVE}`);
    if (!HOST_HAS_DASHBOARD) expect(buildOut).toContain("WARNING");
  }, INSTALL_MS);

  test("the built binary's --version prints the version and the commit baked in", async () => {
    // A commit of this repository (with -dirty when the tracked files differ from it).
    const sha = /^([0-9a-f]{4,40})(-dirty)?$/.exec(COMMIT)?.[1];
    expect(sha).toBeDefined();
    const known = Bun.spawnSync(["git", "rev-parse", "--verify", "--quiet", `${sha}^{commit}`], { cwd: ROOT });
    expect(known.exitCode).toBe(0);
    const r = await run([join(dist, HOST, "rmcp-mux"), "--version"]);
    expect(r.out.trim()).toBe(`rmcp-mux ${VERSION} (${COMMIT})`);
    expect(r.code).toBe(0);
  }, REFUSAL_MS);
});

describe("install.sh without a checkout", () => {
  let installDir = "";

  test(`installs the ${HOST} release archive (MUX_REF picks the release), replacing an older install whose proxy was a file`, async () => {
    installDir = newDir("release");
    mkdirSync(installDir);
    writeFileSync(join(installDir, "rmcp-mux"), "#!/bin/sh\necho old\n", { mode: 0o755 });
    // The layout before the proxy became a link: a file of its own, which a host may be running right now.
    writeFileSync(join(installDir, "rmcp-mux-proxy"), "#!/bin/sh\necho old proxy\n", { mode: 0o755 });
    requests.length = 0;

    const r = await run(["sh", standalone], { env: installEnv(installDir, { MUX_REF: `v${VERSION}` }) });
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    expect(requests).toEqual([`/v${VERSION}/SHA256SUMS`, `/v${VERSION}/${ARCHIVE}`]);
    expect(r.out).toContain(`sha256 verified: ${sha256(join(release, ARCHIVE))}  ${ARCHIVE}`);
    expect(r.out).toContain(`installed ${installDir}/rmcp-mux\n`);
    expect(r.out).toContain(`installed ${installDir}/rmcp-mux-proxy -> rmcp-mux\n`);
    expect(r.out).not.toContain("from source");
    expect(r.out).toContain(`rmcp-mux ${VERSION} (${COMMIT}) is in ${installDir} (from ${base}/v${VERSION}/${ARCHIVE})`);
    // The temp folder is not on PATH, so the script says how to add it.
    expect(r.out).toContain(`export PATH="${installDir}:$PATH"`);

    expect(readdirSync(installDir).sort()).toEqual([...BINARIES]);
    for (const b of BINARIES) {
      const file = join(installDir, b);
      expect(statSync(file).mode & 0o777).toBe(0o755);
      expect(sha256(file)).toBe(sha256(join(dist, HOST, b)));
    }
    expect(readlinkSync(join(installDir, "rmcp-mux-proxy"))).toBe("rmcp-mux");
    const version = await run([join(installDir, "rmcp-mux"), "--version"]);
    expect(version.out.trim()).toBe(`rmcp-mux ${VERSION} (${COMMIT})`);
    const proxy = await run([join(installDir, "rmcp-mux-proxy"), "--help"]);
    expect(proxy.code).toBe(0);
  }, INSTALL_MS);

  test("a second run is idempotent: same files, left in place", async () => {
    expect(installDir).not.toBe("");
    const before = BINARIES.map((b) => lstatSync(join(installDir, b)).ino);
    const r = await run(["sh", standalone], { env: installEnv(installDir, { MUX_REF: `v${VERSION}` }) });
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`unchanged ${installDir}/rmcp-mux (already this build)`);
    expect(r.out).toContain(`unchanged ${installDir}/rmcp-mux-proxy -> rmcp-mux`);
    expect(r.out).not.toContain("installed /");
    expect(readdirSync(installDir).sort()).toEqual([...BINARIES]); // no temp files left behind
    expect(BINARIES.map((b) => lstatSync(join(installDir, b)).ino)).toEqual(before);
    for (const b of BINARIES) expect(sha256(join(installDir, b))).toBe(sha256(join(dist, HOST, b)));
  }, INSTALL_MS);

  test("a release from before the link keeps its own rmcp-mux-proxy file: the proxy name never runs a CLI-only build", async () => {
    const dir = newDir("old-layout");
    const r = await run(["sh", standalone], { env: installEnv(dir, { MUX_REF: "old-layout" }) });
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`installed ${dir}/rmcp-mux-proxy\n`);
    expect(lstatSync(join(dir, "rmcp-mux-proxy")).isSymbolicLink()).toBe(false);
    expect((await run([join(dir, "rmcp-mux-proxy")])).out).toBe("old-layout proxy\n");
  }, INSTALL_MS);

  test("piped into sh (curl | sh) without MUX_REF, it installs the latest release", async () => {
    const dir = newDir("latest");
    requests.length = 0;
    const r = await run(["sh"], { env: installEnv(dir), stdin: readFileSync(standalone, "utf8") });
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    expect(requests).toEqual(["/latest/SHA256SUMS", `/latest/${ARCHIVE}`]);
    const version = await run([join(dir, "rmcp-mux"), "--version"]);
    expect(version.out.trim()).toBe(`rmcp-mux ${VERSION} (${COMMIT})`);
  }, INSTALL_MS);

  test("a wrong SHA256SUMS line is refused: non-zero exit, nothing installed", async () => {
    const dir = newDir("bad-sums"); // does not exist yet, and must not afterwards
    requests.length = 0;
    const r = await run(["sh", standalone], { env: installEnv(dir, { MUX_REF: "bad-sums" }) });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`error: checksum mismatch for ${ARCHIVE}: SHA256SUMS says ${"0123456789abcdef".repeat(4)}`);
    expect(r.out).toContain("nothing was installed");
    expect(r.out).not.toContain("from source");
    expect(requests).toEqual(["/bad-sums/SHA256SUMS", `/bad-sums/${ARCHIVE}`]);
    expect(existsSync(dir)).toBe(false);
  }, REFUSAL_MS);

  test("a tampered archive is refused and the installed binaries stay as they were", async () => {
    const dir = newDir("bad-archive");
    mkdirSync(dir);
    writeFileSync(join(dir, "rmcp-mux"), "#!/bin/sh\necho old\n", { mode: 0o755 });
    const r = await run(["sh", standalone], { env: installEnv(dir, { MUX_REF: "bad-archive" }) });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`error: checksum mismatch for ${ARCHIVE}: SHA256SUMS says ${sha256(join(release, ARCHIVE))}`);
    expect(r.out).toContain("nothing was installed");
    expect(readdirSync(dir)).toEqual(["rmcp-mux"]);
    expect(readFileSync(join(dir, "rmcp-mux"), "utf8")).toBe("#!/bin/sh\necho old\n");
  }, REFUSAL_MS);

  test("no release at all (404) and no reachable source: says it falls back, then fails cleanly", async () => {
    const dir = newDir("no-release");
    const r = await run(["sh", standalone], { env: installEnv(dir, { MUX_REF: "no-such-release" }) });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`no release no-such-release at ${base} (could not download SHA256SUMS)`);
    expect(r.out).toContain(`building no-such-release of file://${work}/no-such-repo from source instead`);
    expect(r.out).toContain("error: could not fetch no-such-release");
    expect(existsSync(dir)).toBe(false);
  }, REFUSAL_MS);

  // Builds a clone from scratch (bun install --frozen-lockfile from Bun's cache, two compiles).
  test("no archive for the platform (MUX_PLATFORM=freebsd-x64): builds MUX_REF of MUX_REPO from source", async () => {
    const dir = newDir("source");
    requests.length = 0;
    const started = performance.now();
    const r = await run(["sh", standalone], {
      env: installEnv(dir, { MUX_REF: `v${VERSION}`, MUX_PLATFORM: "freebsd-x64", MUX_REPO: `file://${bareRepo}` }),
    });
    console.log(`source fallback: ${((performance.now() - started) / 1000).toFixed(1)}s`);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    expect(requests).toEqual([`/v${VERSION}/SHA256SUMS`]); // no archive fetched
    expect(r.out).toContain(`release v${VERSION} has no archive for freebsd-x64`);
    expect(r.out).toContain(`building v${VERSION} of file://${bareRepo} from source instead`);
    expect(r.out).toContain(`cloning file://${bareRepo} (v${VERSION})`);
    expect(r.out).toContain(`installed ${dir}/rmcp-mux\n`);
    expect(r.out).toMatch(/is in .* \(built from /);
    for (const b of BINARIES) {
      const help = await run([join(dir, b), "--help"]);
      expect(help.code).toBe(0);
    }
  }, 90_000);
});
