/**
 * install / uninstall / status as plans of steps (write a file, run a command), so that `--dry-run` prints
 * exactly what a real run does. The service managers are run by name from PATH: `systemctl --user`, `launchctl`.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ServiceLocation } from "./platform.ts";
import { configOfLaunchdPlist, configOfSystemdUnit } from "./render.ts";

export type FileState = "new" | "changed" | "unchanged";

export type Step =
  | { kind: "write"; path: string; content: string; state: FileState }
  | { kind: "mkdir"; path: string }
  | { kind: "remove"; path: string }
  /** `unless`: a check run first; when it succeeds the command is skipped. `mayFail`: why a failure is fine. */
  | { kind: "run"; argv: string[]; unless?: string[]; mayFail?: string };

export interface Plan {
  location: ServiceLocation;
  steps: Step[];
  /** Lines printed after the steps (where the logs are, how to start it later). */
  notes: string[];
}

export function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

export function fileState(file: string, content: string): FileState {
  const old = readIfExists(file);
  return old === null ? "new" : old === content ? "unchanged" : "changed";
}

const SYSTEMCTL = ["systemctl", "--user"];

function uid(): number {
  return process.getuid?.() ?? 0;
}

function launchdDomain(): string {
  return `gui/${uid()}`;
}

export function planInstall(loc: ServiceLocation, content: string, opts: { start: boolean }): Plan {
  const state = fileState(loc.file, content);
  const steps: Step[] = [];
  const notes: string[] = [];
  if (loc.platform === "systemd") {
    steps.push({ kind: "write", path: loc.file, content, state });
    const startNow = [
      [...SYSTEMCTL, "daemon-reload"],
      [...SYSTEMCTL, "enable", loc.id],
      // An unchanged unit keeps its running daemon (start is a no-op then); a new or edited one is (re)started.
      [...SYSTEMCTL, state === "unchanged" ? "start" : "restart", loc.id],
    ];
    if (opts.start) for (const argv of startNow) steps.push({ kind: "run", argv });
    else notes.push(`not started (--no-start); to start it: ${startNow.map(shellLine).join(" && ")}`);
    notes.push(`logs: ${loc.logHint}`);
    notes.push("to keep it running while you are logged out: loginctl enable-linger $USER");
  } else {
    const domain = launchdDomain();
    const target = `${domain}/${loc.id}`;
    if (loc.logPath) steps.push({ kind: "mkdir", path: path.dirname(loc.logPath) });
    steps.push({ kind: "write", path: loc.file, content, state });
    const startNow: Step[] =
      state === "unchanged"
        ? [
            { kind: "run", argv: ["launchctl", "enable", target] },
            // Already loaded with this very plist: leave the running daemon alone.
            { kind: "run", argv: ["launchctl", "bootstrap", domain, loc.file], unless: ["launchctl", "print", target] },
          ]
        : [
            { kind: "run", argv: ["launchctl", "bootout", target], mayFail: "it was not loaded" },
            { kind: "run", argv: ["launchctl", "enable", target] },
            { kind: "run", argv: ["launchctl", "bootstrap", domain, loc.file] },
          ];
    if (opts.start) steps.push(...startNow);
    else notes.push(`not started (--no-start); to start it: launchctl bootstrap ${domain} ${shellQuote(loc.file)}`);
    notes.push(`logs: ${loc.logHint}`);
  }
  return { location: loc, steps, notes };
}

export function planUninstall(loc: ServiceLocation): Plan {
  const steps: Step[] = [];
  const notes: string[] = [];
  const installed = existsSync(loc.file);
  if (loc.platform === "systemd") {
    steps.push({ kind: "run", argv: [...SYSTEMCTL, "disable", "--now", loc.id], mayFail: "it was not loaded" });
    if (installed) steps.push({ kind: "remove", path: loc.file });
    // `disable` removes it; when systemctl could not be reached, this still must not dangle.
    if (loc.wantsLink && isLink(loc.wantsLink)) steps.push({ kind: "remove", path: loc.wantsLink });
    steps.push({ kind: "run", argv: [...SYSTEMCTL, "daemon-reload"], mayFail: "the user manager is not running" });
  } else {
    steps.push({ kind: "run", argv: ["launchctl", "bootout", `${launchdDomain()}/${loc.id}`], mayFail: "it was not loaded" });
    if (installed) steps.push({ kind: "remove", path: loc.file });
    if (loc.logPath) notes.push(`the log stays: ${loc.logPath}`);
  }
  if (!installed) notes.unshift(`${loc.file} did not exist`);
  return { location: loc, steps, notes };
}

function isLink(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

// ---- printing and running ---------------------------------------------------------------------------------------

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

function stepLine(step: Extract<Step, { kind: "run" }>): string {
  const cmd = shellLine(step.argv);
  if (step.unless) return `${shellLine(step.unless)} >/dev/null 2>&1 || ${cmd}`;
  return step.mayFail ? `${cmd} || true    # fails when ${step.mayFail}` : cmd;
}

/** The dry run: file contents verbatim (so they can be reviewed or copied), commands as shell lines. */
export function describePlan(plan: Plan, action: string): string {
  const out = [`# dry run of rmcp-mux service ${action} (${plan.location.platform}, ${plan.location.id}): nothing is written or run`];
  for (const step of plan.steps) {
    if (step.kind === "write") {
      out.push(`# write ${step.path} (${step.state}):`);
      out.push(step.content.replace(/\n$/, ""));
      out.push("# end of file");
    } else if (step.kind === "mkdir") out.push(`mkdir -p ${shellQuote(step.path)}`);
    else if (step.kind === "remove") out.push(`rm -f ${shellQuote(step.path)}`);
    else out.push(stepLine(step));
  }
  for (const n of plan.notes) out.push(`# ${n}`);
  return `${out.join("\n")}\n`;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Runner = (argv: string[]) => Promise<RunResult>;

/** Runs a command from PATH; a missing program is exit 127 with a readable message, not a throw. */
export const spawnRunner: Runner = async (argv) => {
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
};

/** Carries the plan out, reporting each step on `write`; returns the exit code (1 when a required step failed). */
export async function executePlan(plan: Plan, write: (line: string) => void, run: Runner = spawnRunner): Promise<number> {
  for (const step of plan.steps) {
    if (step.kind === "mkdir") {
      mkdirSync(step.path, { recursive: true });
    } else if (step.kind === "write") {
      if (step.state === "unchanged") {
        write(`unchanged: ${step.path}`);
        continue;
      }
      mkdirSync(path.dirname(step.path), { recursive: true });
      // Write beside it and rename: a unit file is never seen half-written.
      const tmp = `${step.path}.tmp-${process.pid}`;
      writeFileSync(tmp, step.content, { mode: 0o644 });
      renameSync(tmp, step.path);
      write(`wrote ${step.path} (${step.state})`);
    } else if (step.kind === "remove") {
      rmSync(step.path, { force: true });
      write(`removed ${step.path}`);
    } else {
      if (step.unless && (await run(step.unless)).code === 0) {
        write(`skipped: ${shellLine(step.argv)} (${shellLine(step.unless)} succeeded: already loaded)`);
        continue;
      }
      const r = await run(step.argv);
      if (r.code === 0) {
        write(`ran: ${shellLine(step.argv)}`);
        continue;
      }
      const detail = (r.stderr.trim() || r.stdout.trim()).split("\n").join(" / ");
      if (step.mayFail) {
        write(`ran: ${shellLine(step.argv)} (exit ${r.code}, fine when ${step.mayFail}: ${detail})`);
        continue;
      }
      process.stderr.write(`rmcp-mux: ${shellLine(step.argv)} failed (exit ${r.code}): ${detail}\n`);
      return 1;
    }
  }
  for (const n of plan.notes) write(n);
  return 0;
}

// ---- status -----------------------------------------------------------------------------------------------------

/** The config an installed unit runs with, read back from the file. */
export function configOfInstalled(loc: ServiceLocation, content: string): string | null {
  return loc.platform === "systemd" ? configOfSystemdUnit(content) : configOfLaunchdPlist(content);
}

/** The query that tells whether the service manager has the service loaded and running. */
export function managerQuery(loc: ServiceLocation): string[] {
  return loc.platform === "systemd"
    ? [...SYSTEMCTL, "show", loc.id, "--property=LoadState,ActiveState,SubState,MainPID,UnitFileState,NRestarts"]
    : ["launchctl", "print", `${launchdDomain()}/${loc.id}`];
}

/** One line from the query's answer: loaded/active, pid, enabled. */
export function summarizeManager(loc: ServiceLocation, r: RunResult): { line: string; running: boolean } {
  if (loc.platform === "systemd") {
    if (r.code !== 0) return { line: `unknown (systemctl --user failed: ${firstLine(r)})`, running: false };
    const p = Object.fromEntries(
      r.stdout
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    if (p.LoadState === "not-found") return { line: "not loaded (systemd does not know the unit)", running: false };
    const running = p.ActiveState === "active";
    const parts = [
      `${p.LoadState ?? "?"}, ${p.ActiveState ?? "?"} (${p.SubState ?? "?"})`,
      ...(p.MainPID && p.MainPID !== "0" ? [`pid ${p.MainPID}`] : []),
      ...(p.UnitFileState ? [p.UnitFileState] : []),
      ...(p.NRestarts && p.NRestarts !== "0" ? [`${p.NRestarts} restart(s)`] : []),
    ];
    return { line: parts.join(", "), running };
  }
  if (r.code !== 0) return { line: `not loaded (launchctl print: ${firstLine(r)})`, running: false };
  const state = /^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim();
  const pid = /^\s*pid = (\d+)$/m.exec(r.stdout)?.[1];
  const lastExit = /^\s*last exit code = (.+)$/m.exec(r.stdout)?.[1]?.trim();
  const parts = [`loaded, ${state ?? "state unknown"}`, ...(pid ? [`pid ${pid}`] : []), ...(lastExit ? [`last exit ${lastExit}`] : [])];
  return { line: parts.join(", "), running: state === "running" };
}

function firstLine(r: RunResult): string {
  return (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).split("\n")[0] as string;
}
