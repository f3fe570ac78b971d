/**
 * What a server's child is started with. A server whose command is `npx PKG` (or `npm exec PKG`)
 * would otherwise live under an `npm exec` process (~65 MB) and an `sh -c BIN`, for as long as the
 * server runs. Here npm is asked once where npx would find PKG, and the bin's node script is then
 * spawned directly, with the same args, env and cwd.
 *
 * npm is asked rather than its `_npx` cache read: `npm exec --package=SPEC -- node -e PROBE` installs
 * a missing package exactly as npx would (same cache folder, same registry, same `@latest` check,
 * a local project's copy first), and runs PROBE with the PATH npx would run the bin with. PROBE
 * only reports that PATH and the package's manifest; the bin and its interpreter are picked here
 * (npx-resolve.ts). The cache's layout and hashing stay npm's business.
 */
import { existsSync, openSync, readSync, closeSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { Subprocess } from "bun";
import { killGroup } from "./leftovers.ts";
import type { Logger } from "./log.ts";
import { binsOf, chooseBin, interpreterOf, type NpxPlan, probeArgv, readNpx } from "./npx-resolve.ts";

/** Runs inside npm's environment, as `node -e` (npm quotes it for `sh -c`). Reports npm's PATH and the package's manifest. */
const PROBE = [
  "var fs=require(`fs`),p=require(`path`),name=process.argv[1],dirs=(process.env.PATH||``).split(p.delimiter);",
  "var out={node:process.execPath,path:process.env.PATH||``};",
  "for(var d of dirs){if(p.basename(d)!==`.bin`)continue;",
  "try{var m=JSON.parse(fs.readFileSync(p.join(d,`..`,name,`package.json`),`utf8`));out.version=m.version;out.bin=m.bin===undefined?null:m.bin;out.dir=p.join(d,`..`,name);break}catch(e){}}",
  "console.log(`RMCP_MUX_NPX `+JSON.stringify(out))",
].join("");
const MARK = "RMCP_MUX_NPX ";

export interface Resolved {
  /** node, the bin's path as npx would run it, then the server's args. */
  argv: string[];
  /** The files that must still exist for `argv` to be reused. */
  files: string[];
  /** For the log and the status: `@scope/pkg 1.2.3`. */
  what: string;
}

export type Resolution = { resolved: Resolved } | { asWritten: string };

export interface ResolveOptions {
  cwd?: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Called with the npm process once it runs, so its owner can end it early. */
  onSpawn?: (p: Subprocess) => void;
}

/** Ask npm where npx would find `plan`'s package (installing it if npx would), then pick its bin. */
export async function resolveNpx(plan: NpxPlan, o: ResolveOptions): Promise<Resolution> {
  const env = { ...process.env, ...o.env, npm_config_update_notifier: "false" };
  let proc: Subprocess<"ignore", "pipe", "pipe">;
  try {
    // Its own process group, so that ending it early also ends the sh and node npm starts below it.
    proc = Bun.spawn(probeArgv(plan, PROBE), { cwd: o.cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
  } catch (e) {
    return { asWritten: `cannot run ${plan.tool}: ${(e as Error).message}` };
  }
  o.onSpawn?.(proc);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(proc.pid, "SIGKILL");
  }, o.timeoutMs);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (timedOut) return { asWritten: `npm did not answer within ${o.timeoutMs} ms` };
  const line = out.split("\n").find((l) => l.startsWith(MARK));
  if (code !== 0 || line === undefined) {
    const last = err.trim().split("\n").filter(Boolean).at(-1) ?? `exit code ${code}`;
    return { asWritten: `npm could not resolve ${plan.spec}: ${last}` };
  }
  const found = JSON.parse(line.slice(MARK.length)) as { node: string; path: string; version?: string; bin?: unknown; dir?: string };
  if (found.dir === undefined) return { asWritten: `npm ran, but ${plan.name} is in none of its node_modules folders` };
  return pickBin(plan, found as Required<typeof found>);
}

/** The bin npx would run (the first match on npm's PATH, as `sh -c BIN` finds it) and how it runs. */
function pickBin(plan: NpxPlan, found: { node: string; path: string; version: string; bin: unknown }): Resolution {
  const choice = chooseBin(plan.name, binsOf(plan.name, found.bin), plan.command);
  if ("asWritten" in choice) return choice;
  const file = found.path
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.join(d, choice.bin))
    .find((f) => isFile(f));
  if (file === undefined) return { asWritten: `bin ${choice.bin} of ${plan.name} is not on npm's PATH` };
  const how = interpreterOf(firstLine(file), found.node);
  if ("asWritten" in how) return how;
  return {
    resolved: { argv: [how.node, file, ...plan.args], files: [how.node, file], what: `${plan.name} ${found.version}` },
  };
}

function isFile(f: string): boolean {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
}

function firstLine(file: string): string {
  const buf = Buffer.alloc(256);
  const fd = openSync(realpathSync(file), "r");
  try {
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("utf8").split("\n")[0] ?? "";
  } finally {
    closeSync(fd);
  }
}

export interface LaunchConfig {
  name: string;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  launch: "resolve" | "as-written";
}

type State =
  | { kind: "unresolved" }
  | { kind: "resolving"; done: Promise<void> }
  | { kind: "direct"; r: Resolved }
  | { kind: "as-written"; reason: string };

const RESOLVE_TIMEOUT_MS = 180_000;

/**
 * One server's launch: its command as written, or — for npx — the resolved node command. Resolves
 * once, and again after `refresh()` or when a resolved file has gone; the child's supervisor asks
 * `argv()` before each spawn.
 */
export class Launch {
  private readonly written: string[];
  private readonly plan: NpxPlan | null;
  private state: State = { kind: "unresolved" };
  private readonly waiters = new Set<() => void>();
  private again = false;
  private probe: Subprocess | null = null;
  private disposed = false;

  constructor(
    private readonly config: LaunchConfig,
    private readonly log: Logger,
    private readonly resolve: (plan: NpxPlan, o: ResolveOptions) => Promise<Resolution> = resolveNpx,
  ) {
    this.written = [config.cmd, ...config.args];
    const reading = config.launch === "as-written" ? null : readNpx(config.cmd, config.args);
    this.plan = reading !== null && "plan" in reading ? reading.plan : null;
    if (reading !== null && "asWritten" in reading) {
      this.state = { kind: "as-written", reason: reading.asWritten };
      log("info", `running ${config.cmd} as written: ${reading.asWritten}`);
    }
  }

  /** The argv to spawn now; null while npm is being asked (then `ready` runs once it has answered). */
  argv(ready: () => void): string[] | null {
    if (this.plan === null) return this.written;
    const st = this.state;
    if (st.kind === "as-written") return this.written;
    if (st.kind === "direct") {
      const gone = st.r.files.find((f) => !existsSync(f));
      if (gone === undefined) return st.r.argv;
      this.log("warn", `${gone} is gone; asking npm for ${this.plan.spec} again`);
      this.begin();
    } else if (st.kind === "unresolved") this.begin();
    this.waiters.add(ready);
    return null;
  }

  /** Forget the resolution and ask npm again now; resolves once it has answered. The running child is left alone. */
  refresh(): Promise<void> {
    if (this.plan === null) return Promise.resolve();
    if (this.state.kind === "resolving") {
      this.again = true;
      return this.state.done;
    }
    return this.begin();
  }

  /** What runs (or will run): the resolved command, else the command as written. */
  get command(): string[] {
    return this.state.kind === "direct" ? this.state.r.argv : this.written;
  }

  /** A short note for the status; undefined for commands that are not npx. */
  get note(): string | undefined {
    if (this.plan === null && this.state.kind !== "as-written") return undefined;
    switch (this.state.kind) {
      case "direct":
        return `npx resolved to ${this.state.r.what}; started without npm`;
      case "as-written":
        return `as written: ${this.state.reason}`;
      default:
        return `asking npm for ${this.plan?.spec}`;
    }
  }

  /** The server is going away: stop asking npm. */
  dispose(): void {
    this.disposed = true;
    if (this.probe !== null) killGroup(this.probe.pid, "SIGKILL");
  }

  private begin(): Promise<void> {
    const plan = this.plan as NpxPlan;
    const done = (async () => {
      let out: Resolution;
      do {
        this.again = false;
        const started = performance.now();
        out = await this.resolve(plan, {
          cwd: this.config.cwd,
          env: this.config.env,
          timeoutMs: RESOLVE_TIMEOUT_MS,
          onSpawn: (p) => (this.probe = p),
        }).catch((e: unknown): Resolution => ({ asWritten: `resolution failed: ${(e as Error).message}` }));
        this.probe = null;
        if (this.disposed) return;
        if (!this.again && "resolved" in out) {
          const ms = Math.round(performance.now() - started);
          this.log("info", `npx ${plan.spec} resolved in ${ms} ms to ${out.resolved.what}: runs without npm as ${out.resolved.argv.slice(0, 2).join(" ")}`);
        }
      } while (this.again);
      if ("resolved" in out) this.state = { kind: "direct", r: out.resolved };
      else {
        this.state = { kind: "as-written", reason: out.asWritten };
        this.log("warn", `running ${this.config.cmd} as written: ${out.asWritten}`);
      }
      const waiting = [...this.waiters];
      this.waiters.clear();
      for (const w of waiting) w();
    })();
    this.state = { kind: "resolving", done };
    return done;
  }
}
