#!/usr/bin/env bun
/**
 * Build the standalone executables (`bun run build` = `bun build.ts`).
 *
 *   bun build.ts                          host binaries   -> dist/rmcp-mux, dist/rmcp-mux-proxy
 *   bun build.ts --target=bun-linux-arm64 one target      -> dist/linux-arm64/{rmcp-mux,rmcp-mux-proxy,SHA256SUMS}
 *   bun build.ts --all                    linux-x64, linux-arm64, darwin-x64, darwin-arm64
 *                                                          -> dist/<target>/{rmcp-mux,rmcp-mux-proxy,SHA256SUMS}
 *
 * Each binary is one `bun build --compile` call (one executable per call); the two binaries of a
 * target are compiled in parallel. Cross targets make Bun fetch that platform's runtime once (from
 * the npm registry) and cache it.
 *
 * Flags and why:
 *   --compile --minify --sourcemap=none    one self-contained file, no sidecar map
 *   --bytecode --format=esm                precompiled bytecode: `rmcp-mux --help` starts in ~10 ms
 *                                          instead of ~40 ms (measured here), the proxy in ~10 ms
 *   --no-compile-autoload-dotenv           a stray .env in the daemon's cwd must not change its environment
 *   --no-compile-autoload-bunfig           same for a stray bunfig.toml
 *   --external @opentui/core-linux-x64-musl
 *                                          @opentui/core 0.8.x imports this package, which is unpublished
 *                                          (see /work/shared/bun-notes.md); it is only reached on musl.
 *                                          Other @opentui/core-<platform> packages that are not installed
 *                                          are external too (see OPENTUI_NATIVE below).
 *   --define MUX_BUILD_VERSION="<package.json version>"
 *   --define MUX_BUILD_COMMIT="<git short sha | unknown>"
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
 *
 * Exits non-zero, printing the compiler's output, when any compile fails.
 */
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";

const ROOT = import.meta.dir;
const DIST = join(ROOT, "dist");

const BINARIES = [
  { name: "rmcp-mux", entry: "src/cli/main.ts" },
  { name: "rmcp-mux-proxy", entry: "src/proxy/main.ts" },
] as const;

const ALL_TARGETS = ["bun-linux-x64", "bun-linux-arm64", "bun-darwin-x64", "bun-darwin-arm64"] as const;

// @opentui/core picks its native library at run time with
//   import(`@opentui/core-${platform}-${arch}${OPENTUI_LIBC === "musl" ? "-musl" : ""}`)
// written out per platform; the bundler drops the branches for other platforms than the target's, and
// must resolve the rest. `@opentui/core-linux-x64-musl` is unpublished (see bun-notes), so it is always
// external. For cross targets the registry may not have that platform's package either (0.8.1 is only
// published for linux-x64 here): any native package that is not installed is made external too, and the
// build warns when that is the target's own, i.e. the dashboard will not load in that binary.
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

const USAGE = `usage: bun build.ts [--target=bun-<os>-<arch>] [--all]

  (no flags)               build for this machine into dist/
  --target=bun-linux-arm64 build for one target into dist/linux-arm64/ (with SHA256SUMS)
  --all                    build ${ALL_TARGETS.map((t) => t.slice(4)).join(", ")} into dist/<target>/`;

interface Options {
  /** undefined = host build into dist/ */
  targets: string[] | undefined;
}

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

function parseArgs(argv: string[]): Options {
  const targets: string[] = [];
  let all = false;
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
    } else {
      fail(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  if (all) return { targets: [...ALL_TARGETS] };
  return { targets: targets.length > 0 ? [...new Set(targets)] : undefined };
}

/** Accept `bun-linux-arm64` and the short `linux-arm64`. */
function normalizeTarget(value: string): string {
  const target = value.startsWith("bun-") ? value : `bun-${value}`;
  if (!/^bun-(linux|darwin|windows)-(x64|arm64|aarch64)(-[a-z0-9-]+)?$/.test(target)) {
    fail(`unsupported target ${JSON.stringify(value)} (expected e.g. bun-linux-x64, bun-darwin-arm64)`);
  }
  return target;
}

async function readVersion(): Promise<string> {
  const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as { version?: unknown };
  if (typeof pkg.version !== "string" || pkg.version === "") fail("package.json has no version");
  return pkg.version;
}

function readCommit(): string {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "ignore",
    });
    const sha = r.stdout.toString().trim();
    if (r.exitCode === 0 && /^[0-9a-f]{4,40}$/.test(sha)) return sha;
  } catch {
    // git not installed
  }
  return "unknown";
}

interface Job {
  name: string;
  entry: string;
  outfile: string;
  target: string | undefined;
  externals: string[];
}

/** Is `pkg` resolvable from @opentui/core's folder (where its dynamic import looks)? */
function opentuiNative(): { installed: boolean; has: (pkg: string) => boolean } {
  let coreDir: string;
  try {
    coreDir = dirname(Bun.resolveSync("@opentui/core/package.json", ROOT));
  } catch {
    return { installed: false, has: () => false };
  }
  return {
    installed: true,
    has: (pkg) => {
      try {
        Bun.resolveSync(`${pkg}/package.json`, coreDir);
        return true;
      } catch {
        return false;
      }
    },
  };
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
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...job.externals.flatMap((e) => ["--external", e]),
    "--define",
    `MUX_BUILD_VERSION=${JSON.stringify(version)}`,
    "--define",
    `MUX_BUILD_COMMIT=${JSON.stringify(commit)}`,
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

async function main(): Promise<void> {
  const { targets } = parseArgs(process.argv.slice(2));

  for (const b of BINARIES) {
    if (!(await Bun.file(join(ROOT, b.entry)).exists())) fail(`missing entry point ${b.entry}`);
  }

  const version = await readVersion();
  const commit = readCommit();
  console.log(`build: rmcp-mux ${version} (${commit}) with bun ${Bun.version}`);

  // Host build: dist/<binary>. Targeted builds: dist/<os>-<arch>/<binary> + SHA256SUMS.
  const groups: { dir: string; target: string | undefined }[] = targets
    ? targets.map((t) => ({ dir: join(DIST, t.slice("bun-".length)), target: t }))
    : [{ dir: DIST, target: undefined }];

  const native = opentuiNative();
  const missingNative = OPENTUI_NATIVE.filter((p) => !ALWAYS_EXTERNAL.includes(p) && !native.has(p));
  const externals = [...ALWAYS_EXTERNAL, ...(native.installed ? missingNative : [])];

  const started = performance.now();
  let failed = false;
  // Targets one after the other (each compile holds a ~100 MB runtime in memory); the two
  // binaries of a target in parallel.
  for (const group of groups) {
    await mkdir(group.dir, { recursive: true });
    const exe = group.target?.includes("windows") ? ".exe" : "";
    const jobs: Job[] = BINARIES.map((b) => ({
      name: b.name,
      entry: b.entry,
      outfile: join(group.dir, b.name + exe),
      target: group.target,
      externals,
    }));
    const tuiPkg = opentuiPackageFor(group.target);
    if (native.installed && missingNative.includes(tuiPkg)) {
      console.warn(
        `build: WARNING ${group.target ?? "host"}: ${tuiPkg} is not installed (or not published for this ` +
          `@opentui/core version), so the dashboard will not start in this binary; everything else works.`,
      );
    }
    // Remove old outputs first so a failed build never leaves a stale binary that looks fresh.
    await Promise.all(jobs.map((j) => rm(j.outfile, { force: true })));
    const results = await Promise.all(jobs.map((j) => compile(j, version, commit)));

    for (const r of results) {
      const label = `${r.job.target ?? "host"} ${r.job.name}`;
      if (!r.ok) {
        failed = true;
        console.error(`build: FAILED ${label} (${r.job.entry})\n${r.output}`);
        continue;
      }
      const size = (await stat(r.job.outfile)).size;
      console.log(
        `  ${relative(ROOT, r.job.outfile).padEnd(32)} ${mb(size).padStart(9)}  ${(r.ms / 1000).toFixed(1)}s`,
      );
    }

    if (!failed && group.target) {
      const lines = await Promise.all(jobs.map(async (j) => `${await sha256(j.outfile)}  ${basename(j.outfile)}\n`));
      const sums = join(group.dir, "SHA256SUMS");
      await writeFile(sums, lines.join(""));
      console.log(`  ${relative(ROOT, sums)}`);
    }
    if (failed) break;
  }

  if (failed) process.exit(1);
  console.log(`build: done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

await main().catch((err: unknown) => {
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
