#!/usr/bin/env bun
/**
 * Build the standalone executables and release archives (`bun run build` = `bun build.ts`).
 *
 *   bun build.ts                          host binary     -> dist/rmcp-mux, dist/rmcp-mux-proxy (-> rmcp-mux)
 *   bun build.ts --target=bun-linux-arm64 one target      -> dist/linux-arm64/{rmcp-mux,rmcp-mux-proxy,SHA256SUMS,NOTES}
 *                                                          + dist/release/rmcp-mux-<version>-linux-arm64.tar.gz
 *                                                          + dist/release/SHA256SUMS
 *   bun build.ts --all                    linux-x64, linux-arm64, darwin-x64, darwin-arm64, each as above
 *   --outdir=DIR                          write into DIR instead of dist/ (the tests use a temp folder)
 *
 * Release layout (what install.sh downloads; upload dist/release/* as the assets of release <tag>):
 *
 *   dist/release/SHA256SUMS                               sha256 of every archive in dist/release/
 *   dist/release/rmcp-mux-<version>-<os>-<arch>.tar.gz    rmcp-mux-<version>-<os>-<arch>/{rmcp-mux,rmcp-mux-proxy,NOTES}
 *
 * One executable, two names: `rmcp-mux-proxy` is a symbolic link to `rmcp-mux` (in dist/ and in the
 * archive), and src/entry.ts picks the proxy or the CLI by the name it was run by. Every host session runs
 * a proxy beside the daemon; with one file, the runtime's pages they all touch are in memory once. Two
 * executables cost 8 proxy sessions of server-everything 160 MB of PSS, one costs 133 MB (measured here).
 * A Windows target gets a copy instead of a link.
 *
 * <os> is `linux` or `darwin` and <arch> `x64` or `arm64`, i.e. `uname -s` lower-cased and `uname -m`
 * with x86_64/amd64 -> x64 and aarch64/arm64 -> arm64, so install.sh can pick its archive by name.
 * `--all` empties dist/release/ first (a release is one consistent set); `--target` adds or replaces
 * that target's archive, and SHA256SUMS is rewritten over every archive in the folder.
 * The archives are written by this script (plain ustar + gzip, no `tar` binary needed), with uid/gid 0,
 * modes 0755/0644 and the commit's timestamp, so the same commit and Bun give the same bytes.
 *
 * NOTES (in dist/<target>/ and in the archive) says what was built, from which commit, and whether the
 * dashboard's native library is in the binary (see OPENTUI_NATIVE below).
 *
 * Each target is one `bun build --compile` call. Cross targets make Bun fetch that platform's runtime once (from
 * the npm registry) and cache it.
 *
 * Flags and why:
 *   --compile --minify --sourcemap=none    one self-contained file, no sidecar map
 *   --bytecode --format=esm                precompiled bytecode: `rmcp-mux --help` starts in ~10 ms
 *                                          instead of ~40 ms (measured here), the proxy in ~10 ms
 *   --splitting                            modules reached only through import() (the dashboard, the
 *                                          HTTP front, onboarding, arktype) become chunks of their own
 *                                          that a process never touches unless it imports them: the
 *                                          idle daemon's PSS went from 49.6 to 45.1 MB (measured here)
 *   --no-compile-autoload-dotenv           a stray .env in the daemon's cwd must not change its environment
 *   --no-compile-autoload-bunfig           same for a stray bunfig.toml
 *   --external @opentui/core-linux-x64-musl
 *                                          @opentui/core imports this package, which the npm registry has
 *                                          not had since 0.5.x; it is only reached on musl.
 *                                          Other @opentui/core-<platform> packages that are not installed
 *                                          are external too (see OPENTUI_NATIVE below).
 *   --define MUX_BUILD_VERSION="<package.json version>"
 *   --define MUX_BUILD_COMMIT="<git short sha[-dirty] | unknown>"   (-dirty: tracked files differ from HEAD)
 *
 * The two defines are bare global identifiers, replaced at bundle time. `src/version.ts` reads them
 * behind a `typeof` guard (a bare reference would throw ReferenceError when unbuilt), so that
 * `bun src/cli/main.ts` (no build step) and the tests still work:
 *
 *   declare const MUX_BUILD_VERSION: string | undefined;
 *   declare const MUX_BUILD_COMMIT: string | undefined;
 *   export const VERSION = typeof MUX_BUILD_VERSION !== "undefined" ? MUX_BUILD_VERSION : pkg.version;
 *   export const COMMIT  = typeof MUX_BUILD_COMMIT  !== "undefined" ? MUX_BUILD_COMMIT  : "dev";
 *
 * (`typeof X === "string"` works the same.) A build outside git bakes in the commit "unknown".
 * `rmcp-mux --version` prints both: `rmcp-mux 0.1.0 (abc1234)`.
 *
 * Exits non-zero, printing the compiler's output, when any compile fails.
 */
import { createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

const ROOT = import.meta.dir;

const BINARIES = [
  // Hosts start one proxy per session: --smol (a smaller heap) takes ~8 MB off each proxy's peak (55 -> 47 MB
  // measured under 20k echo requests) at no measurable cost in time; the daemon's throughput and peak were the
  // same with it (8 clients x 32 in flight, three runs each, measured here), so the one binary has it.
  { name: "rmcp-mux", entry: "src/entry.ts", execArgv: ["--smol"] as string[] },
] as const;
/** Other names of the executable: links to it (copies on Windows), told apart by src/entry.ts. */
const LINKS = ["rmcp-mux-proxy"] as const;

const ALL_TARGETS = ["bun-linux-x64", "bun-linux-arm64", "bun-darwin-x64", "bun-darwin-arm64"] as const;

// @opentui/core picks its native library at run time with
//   import(`@opentui/core-${platform}-${arch}${OPENTUI_LIBC === "musl" ? "-musl" : ""}`)
// written out per platform; the bundler drops the branches for other platforms than the target's, and
// must resolve the rest. `@opentui/core-linux-x64-musl` is unpublished after 0.5.x, so it is always
// external. bun installs only the host's native package, so a build whose targets lack theirs first runs
// `bun install --os='*' --cpu='*'` (the lockfile lists every platform's). We stay on @opentui/core 0.4.5: 0.8.1
// is published for linux-x64 only here, darwin-* and linux-arm64 stop at 0.4.5. Any native package still
// missing is made external, and the build warns when that is the target's own, i.e. the dashboard will not
// load in that binary. NOTES in dist/<target>/ and in the archive says so too.
const ALWAYS_EXTERNAL = ["@opentui/core-linux-x64-musl"];
const OPENTUI_NATIVE = [
  "darwin-x64",
  "darwin-arm64",
  "linux-x64",
  "linux-arm64",
  "linux-x64-musl",
  "linux-arm64-musl",
  "win32-x64",
  "win32-arm64",
].map((p) => `@opentui/core-${p}`);

const USAGE = `usage: bun build.ts [--target=bun-<os>-<arch>]... [--all] [--outdir=DIR]

  (no flags)               build for this machine into dist/
  --target=bun-linux-arm64 build for one target into dist/linux-arm64/ (with SHA256SUMS and NOTES)
                           and dist/release/rmcp-mux-<version>-linux-arm64.tar.gz (+ release/SHA256SUMS)
  --all                    the same for ${ALL_TARGETS.map((t) => t.slice(4)).join(", ")}
  --outdir=DIR             write into DIR instead of dist/`;

interface Options {
  /** undefined = host build into outdir */
  targets: string[] | undefined;
  all: boolean;
  outdir: string;
}

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

function parseArgs(argv: string[]): Options {
  const targets: string[] = [];
  let all = false;
  let outdir = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--all") {
      all = true;
    } else if (arg === "--target" || arg.startsWith("--target=")) {
      const value = arg === "--target" ? argv[++i] : arg.slice("--target=".length);
      if (!value) fail(`--target needs a value, e.g. --target=bun-linux-arm64\n${USAGE}`);
      targets.push(normalizeTarget(value));
    } else if (arg === "--outdir" || arg.startsWith("--outdir=")) {
      const value = arg === "--outdir" ? argv[++i] : arg.slice("--outdir=".length);
      if (!value) fail(`--outdir needs a value\n${USAGE}`);
      outdir = resolve(value);
    } else {
      fail(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  if (all) return { targets: [...ALL_TARGETS], all, outdir };
  return { targets: targets.length > 0 ? [...new Set(targets)] : undefined, all, outdir };
}

/** Accept `bun-linux-arm64` and the short `linux-arm64`; `aarch64` is spelled `arm64` (one name per archive). */
function normalizeTarget(value: string): string {
  const target = (value.startsWith("bun-") ? value : `bun-${value}`).replace(/-aarch64(?=$|-)/, "-arm64");
  if (!/^bun-(linux|darwin|windows)-(x64|arm64)(-[a-z0-9-]+)?$/.test(target)) {
    fail(`unsupported target ${JSON.stringify(value)} (expected e.g. bun-linux-x64, bun-darwin-arm64)`);
  }
  return target;
}

async function readVersion(): Promise<string> {
  const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as { version?: unknown };
  if (typeof pkg.version !== "string" || !/^[0-9A-Za-z.+-]+$/.test(pkg.version)) {
    fail("package.json has no usable version");
  }
  return pkg.version;
}

function git(args: string[]): string | undefined {
  try {
    const r = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
    const out = r.stdout.toString().trim();
    return r.exitCode === 0 && out !== "" ? out : undefined;
  } catch {
    return undefined; // git not installed
  }
}

/** HEAD's short sha, with `-dirty` when tracked files differ from it; its commit time for the archives. */
function readCommit(): { sha: string; time: number } {
  const sha = git(["rev-parse", "--short", "HEAD"]);
  if (sha && /^[0-9a-f]{4,40}$/.test(sha)) {
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== undefined;
    const time = Number(git(["log", "-1", "--format=%ct", "HEAD"]));
    return {
      sha: dirty ? `${sha}-dirty` : sha,
      time: Number.isInteger(time) && time > 0 ? time : Math.floor(Date.now() / 1000),
    };
  }
  return { sha: "unknown", time: Math.floor(Date.now() / 1000) };
}

interface Job {
  name: string;
  entry: string;
  execArgv: string[];
  outfile: string;
  target: string | undefined;
  externals: string[];
}

/** Is `pkg` resolvable from @opentui/core's folder (where its dynamic import looks)? Which version? */
function opentuiNative(): { coreVersion: string | undefined; version: (pkg: string) => string | undefined } {
  let coreDir: string;
  try {
    coreDir = dirname(Bun.resolveSync("@opentui/core/package.json", ROOT));
  } catch {
    return { coreVersion: undefined, version: () => undefined };
  }
  const versionOf = (file: string): string =>
    String((require(file) as { version?: unknown }).version ?? "?");
  return {
    coreVersion: versionOf(join(coreDir, "package.json")),
    version: (pkg) => {
      // Looked up on disk first: Bun.resolveSync remembers a miss, and build() installs missing packages.
      const direct = join(ROOT, "node_modules", pkg, "package.json");
      if (existsSync(direct)) return versionOf(direct);
      try {
        return versionOf(Bun.resolveSync(`${pkg}/package.json`, coreDir));
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * Why is `pkg`@`version` missing? Asks the registry (`bun pm view`, best effort, 15 s) so the warning and
 * NOTES say whether it is unpublished or only not installed (bun installs the host's optional
 * dependencies only; `bun install --os='*' --cpu='*'` installs every platform's).
 */
async function registryStatus(pkg: string, version: string): Promise<string> {
  try {
    const proc = Bun.spawn([process.execPath, "pm", "view", pkg, "versions", "--json"], {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout: 15_000,
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    const versions = code === 0 ? (JSON.parse(out) as unknown) : undefined;
    if (Array.isArray(versions)) {
      if (versions.includes(version)) {
        return `it is published but not installed here: run \`bun install --os='*' --cpu='*'\` and build again`;
      }
      return `the npm registry does not publish ${pkg}@${version} (its newest is ${String(versions.at(-1) ?? "none")})`;
    }
  } catch {
    // offline, or an answer that is not JSON
  }
  return `it is not installed here, and the npm registry could not be asked whether it publishes ${pkg}@${version}`;
}

/** `bun-darwin-arm64-baseline` -> `@opentui/core-darwin-arm64`; the host when target is undefined. */
function opentuiPackageFor(target: string | undefined): string {
  if (!target) return `@opentui/core-${process.platform}-${process.arch}`;
  const [, os, arch] = /^bun-([a-z0-9]+)-([a-z0-9]+)/.exec(target) ?? [];
  return `@opentui/core-${os === "windows" ? "win32" : os}-${arch === "aarch64" ? "arm64" : arch}`;
}

interface Result {
  job: Job;
  ok: boolean;
  ms: number;
  output: string;
}

async function compile(job: Job, version: string, commit: string): Promise<Result> {
  const args = [
    process.execPath, // the bun running this script
    "build",
    job.entry,
    "--compile",
    "--minify",
    "--sourcemap=none",
    "--bytecode",
    "--format=esm",
    "--splitting",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...job.externals.flatMap((e) => ["--external", e]),
    "--define",
    `MUX_BUILD_VERSION=${JSON.stringify(version)}`,
    "--define",
    `MUX_BUILD_COMMIT=${JSON.stringify(commit)}`,
    ...job.execArgv.map((a) => `--compile-exec-argv=${a}`),
    ...(job.target ? [`--target=${job.target}`] : []),
    `--outfile=${job.outfile}`,
  ];
  const started = performance.now();
  const proc = Bun.spawn(args, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const ms = performance.now() - started;
  return { job, ok: code === 0, ms, output: (stderr + stdout).trim() };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  const stream = Bun.file(path).stream();
  for await (const chunk of stream) hasher.update(chunk);
  return hasher.digest("hex");
}

// ---- release archives: a minimal ustar writer, gzip-compressed by node:zlib (streamed) ----

interface TarEntry {
  /** path inside the archive; a trailing "/" makes a folder */
  name: string;
  mode: number;
  /** file to copy in, or literal text */
  source?: { path: string } | { text: string };
  /** a symbolic link to this path instead of a file */
  link?: string;
}

const encoder = new TextEncoder();

function tarHeader(name: string, size: number, mode: number, mtime: number, type: "0" | "2" | "5", link = ""): Uint8Array {
  const h = new Uint8Array(512);
  const put = (offset: number, length: number, value: string) => {
    const bytes = encoder.encode(value);
    if (bytes.length > length) throw new Error(`tar: ${JSON.stringify(value)} does not fit ${length} bytes`);
    h.set(bytes, offset);
  };
  const octal = (offset: number, length: number, n: number) => put(offset, length, `${n.toString(8).padStart(length - 1, "0")}\0`);
  put(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, size); // 11 octal digits: up to 8 GiB
  octal(136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  put(156, 1, type);
  put(157, 100, link);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

async function* tarStream(entries: TarEntry[], mtime: number): AsyncGenerator<Uint8Array> {
  for (const e of entries) {
    if (e.name.endsWith("/")) {
      yield tarHeader(e.name, 0, e.mode, mtime, "5");
      continue;
    }
    if (e.link !== undefined) {
      yield tarHeader(e.name, 0, e.mode, mtime, "2", e.link);
      continue;
    }
    const text = e.source && "text" in e.source ? encoder.encode(e.source.text) : undefined;
    const file = e.source && "path" in e.source ? Bun.file(e.source.path) : undefined;
    const size = text ? text.length : (await stat(file!.name!)).size;
    yield tarHeader(e.name, size, e.mode, mtime, "0");
    let written = 0;
    if (text) {
      yield text;
      written = text.length;
    } else {
      for await (const chunk of file!.stream()) {
        written += chunk.length;
        yield chunk;
      }
    }
    if (written !== size) throw new Error(`tar: ${e.name} changed while it was archived`);
    if (size % 512 !== 0) yield new Uint8Array(512 - (size % 512));
  }
  yield new Uint8Array(1024); // end of archive: two zero blocks
}

async function writeTarGz(outfile: string, entries: TarEntry[], mtime: number): Promise<void> {
  const tmp = `${outfile}.tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(tarStream(entries, mtime)), createGzip({ level: 6 }), createWriteStream(tmp));
    await rename(tmp, outfile);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** SHA256SUMS over every rmcp-mux-*.tar.gz in the release folder, sorted by name. */
async function writeReleaseSums(releaseDir: string): Promise<string> {
  const names = (await readdir(releaseDir)).filter((n) => /^rmcp-mux-.+\.tar\.gz$/.test(n)).sort();
  const lines = await Promise.all(names.map(async (n) => `${await sha256(join(releaseDir, n))}  ${n}\n`));
  const sums = join(releaseDir, "SHA256SUMS");
  await writeFile(`${sums}.tmp`, lines.join(""));
  await rename(`${sums}.tmp`, sums);
  return sums;
}

async function main(): Promise<void> {
  const { targets, all, outdir } = parseArgs(process.argv.slice(2));

  for (const b of BINARIES) {
    if (!(await Bun.file(join(ROOT, b.entry)).exists())) fail(`missing entry point ${b.entry}`);
  }

  const version = await readVersion();
  const commit = readCommit();
  console.log(`build: rmcp-mux ${version} (${commit.sha}) with bun ${Bun.version}`);
  const show = (p: string) => {
    const r = relative(process.cwd(), p);
    return r.startsWith("..") ? p : r;
  };

  // Host build: <outdir>/<binary>. Targeted builds: <outdir>/<os>-<arch>/<binary> + SHA256SUMS + NOTES,
  // and <outdir>/release/rmcp-mux-<version>-<os>-<arch>.tar.gz.
  const groups: { dir: string; target: string | undefined; platform: string | undefined }[] = targets
    ? targets.map((t) => ({ dir: join(outdir, t.slice("bun-".length)), target: t, platform: t.slice("bun-".length) }))
    : [{ dir: outdir, target: undefined, platform: undefined }];
  const releaseDir = join(outdir, "release");
  if (targets) {
    if (all) await rm(releaseDir, { recursive: true, force: true });
    await mkdir(releaseDir, { recursive: true });
  }

  let native = opentuiNative();
  // bun installs only the host's optional dependencies; a cross target needs its own platform's native library.
  const wanted = groups.map((g) => opentuiPackageFor(g.target));
  if (native.coreVersion && wanted.some((p) => !native.version(p))) {
    console.log("build: installing the other platforms' @opentui/core native packages (bun install --os='*' --cpu='*')");
    const proc = Bun.spawn([process.execPath, "install", "--frozen-lockfile", "--os=*", "--cpu=*"], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) console.warn(`build: WARNING bun install --os='*' --cpu='*' failed (the NOTES will say which dashboards are missing):\n${err}`);
    native = opentuiNative();
  }
  const missingNative = OPENTUI_NATIVE.filter((p) => !ALWAYS_EXTERNAL.includes(p) && !native.version(p));
  const externals = [...ALWAYS_EXTERNAL, ...(native.coreVersion ? missingNative : [])];

  const started = performance.now();
  let failed = false;
  const withoutDashboard: string[] = [];
  const archives: Promise<{ path: string; ms: number }>[] = [];
  // Targets one after the other (each compile holds a ~100 MB runtime in memory); a target's archive is
  // compressed while the next one compiles.
  for (const group of groups) {
    await mkdir(group.dir, { recursive: true });
    const exe = group.target?.includes("windows") ? ".exe" : "";
    const jobs: Job[] = BINARIES.map((b) => ({
      name: b.name,
      entry: b.entry,
      execArgv: [...b.execArgv],
      outfile: join(group.dir, b.name + exe),
      target: group.target,
      externals,
    }));
    const tuiPkg = opentuiPackageFor(group.target);
    const tuiVersion = native.version(tuiPkg);
    const dashboard = !native.coreVersion
      ? "UNAVAILABLE: @opentui/core was not installed when this was built."
      : tuiVersion
        ? `included (@opentui/core ${native.coreVersion}, ${tuiPkg} ${tuiVersion}).`
        : `UNAVAILABLE in this binary: it needs ${tuiPkg}@${native.coreVersion} (the native library ` +
          `of @opentui/core ${native.coreVersion}), and ${await registryStatus(tuiPkg, native.coreVersion)}. ` +
          `\`rmcp-mux --tui\` and \`rmcp-mux dashboard\` stop with "Failed to initialize OpenTUI render library: ` +
          `Cannot find package '${tuiPkg}'"; everything else works.`;
    if (!tuiVersion) {
      withoutDashboard.push(group.platform ?? "host");
      console.warn(`build: WARNING ${group.platform ?? "host"}: dashboard ${dashboard}`);
    }
    // Remove old outputs first so a failed build never leaves a stale binary that looks fresh.
    const links = LINKS.map((l) => join(group.dir, l + exe));
    await Promise.all([...[...jobs.map((j) => j.outfile), ...links].map((f) => rm(f, { force: true })), rm(join(group.dir, "NOTES"), { force: true })]);
    const results = await Promise.all(jobs.map((j) => compile(j, version, commit.sha)));

    for (const r of results) {
      const label = `${r.job.target ?? "host"} ${r.job.name}`;
      if (!r.ok) {
        failed = true;
        console.error(`build: FAILED ${label} (${r.job.entry})\n${r.output}`);
        continue;
      }
      const size = (await stat(r.job.outfile)).size;
      console.log(`  ${show(r.job.outfile).padEnd(32)} ${mb(size).padStart(9)}  ${(r.ms / 1000).toFixed(1)}s`);
    }
    if (failed) break;
    const main = jobs[0]!.outfile;
    for (const l of links) {
      // Where links cannot be made (Windows without the right), a copy on disk; the archive has its own link entry.
      const linked = exe ? false : await symlink(basename(main), l).then(() => true, () => false);
      if (!linked) await copyFile(main, l);
      console.log(`  ${show(l).padEnd(32)} ${linked ? "->" : "a copy of"} ${basename(main)}`);
    }
    if (!group.target || !group.platform) continue;

    const files = [main, ...links];
    const sumLines = await Promise.all(files.map(async (f) => `${await sha256(f)}  ${basename(f)}\n`));
    const sums = join(group.dir, "SHA256SUMS");
    await writeFile(sums, sumLines.join(""));
    const notes =
      `rmcp-mux ${version} (commit ${commit.sha}) for ${group.platform}\n` +
      `built with Bun ${Bun.version} (--target=${group.target}) on ${process.platform}-${process.arch}\n` +
      `binaries: ${basename(main)}, and ${links.map((l) => basename(l)).join(", ")} (${exe ? "a copy" : "a link to it"}: one program, two names)\n` +
      `dashboard: ${dashboard}\n`;
    const notesFile = join(group.dir, "NOTES");
    await writeFile(notesFile, notes);
    console.log(`  ${show(sums)}\n  ${show(notesFile)}`);

    const stem = `rmcp-mux-${version}-${group.platform}`;
    const archive = join(releaseDir, `${stem}.tar.gz`);
    const t0 = performance.now();
    archives.push(
      writeTarGz(
        archive,
        [
          { name: `${stem}/`, mode: 0o755 },
          { name: `${stem}/${basename(main)}`, mode: 0o755, source: { path: main } },
          ...links.map((l) => (exe ? { name: `${stem}/${basename(l)}`, mode: 0o755, source: { path: l } } : { name: `${stem}/${basename(l)}`, mode: 0o777, link: basename(main) })),
          { name: `${stem}/NOTES`, mode: 0o644, source: { text: notes } },
        ],
        commit.time,
      ).then(() => ({ path: archive, ms: performance.now() - t0 })),
    );
  }

  // Settle every archive before reporting, so a failure never leaves one half-written.
  const written = await Promise.allSettled(archives);
  for (const w of written) {
    if (w.status === "rejected") {
      failed = true;
      console.error(`build: FAILED writing a release archive: ${String(w.reason)}`);
    } else {
      const size = (await stat(w.value.path)).size;
      console.log(`  ${show(w.value.path).padEnd(32)} ${mb(size).padStart(9)}  ${(w.value.ms / 1000).toFixed(1)}s`);
    }
  }
  if (failed) process.exit(1);
  if (targets) console.log(`  ${show(await writeReleaseSums(releaseDir))}`);
  if (withoutDashboard.length > 0) {
    console.warn(`build: NOTE the dashboard is unavailable in the ${withoutDashboard.join(", ")} binaries (see NOTES)`);
  }
  console.log(`build: done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

await main().catch((err: unknown) => {
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
