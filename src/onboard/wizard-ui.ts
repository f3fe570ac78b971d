/**
 * The wizard's screens as text and its answers as data. Line-oriented on purpose (numbered checklists, y/N
 * questions): it works in any terminal, over ssh, and under a script feeding stdin. Pure: input and output go
 * through the Io it is given.
 */
import path from "node:path";
import { expandHome, socketPathTooLong } from "../config/paths.ts";
import { serverKey } from "../hosts/entry.ts";
import type { HostFileResult } from "../hosts/types.ts";
import type { PlannedServer } from "./merge.ts";
import { shellLine } from "./report.ts";

/** How the wizard talks to a person; the terminal version lives in the command, tests script this. */
export interface Io {
  /** The answer line, or null when input ended. */
  ask(prompt: string): Promise<string | null>;
  say(text: string): void;
}

export class InputEnded extends Error {
  override readonly name = "InputEnded";
}

/** An answer, or InputEnded: a wizard that runs out of input must stop, never guess the rest. */
export async function ask(io: Io, prompt: string): Promise<string> {
  const a = await io.ask(prompt);
  if (a === null) throw new InputEnded("input ended before the wizard finished; nothing more was written");
  return a;
}

export type ToggleAnswer = { done: true } | { set: boolean[] } | { error: string };

/** Enter ends the step; "a"/"n" select all/none; numbers (spaces or commas, ranges like 2-4) flip those rows. */
export function applyToggle(input: string, checked: readonly boolean[]): ToggleAnswer {
  const s = input.trim().toLowerCase();
  if (s === "") return { done: true };
  if (s === "a" || s === "all") return { set: checked.map(() => true) };
  if (s === "n" || s === "none") return { set: checked.map(() => false) };
  const next = [...checked];
  for (const part of s.split(/[\s,]+/)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const from = Number(m?.[1]);
    const to = Number(m?.[2] ?? m?.[1]);
    if (!m || from < 1 || to > checked.length || from > to)
      return { error: `"${part}" is not a number from 1 to ${checked.length} (or a range like 1-3)` };
    for (let i = from; i <= to; i++) next[i - 1] = !next[i - 1];
  }
  return { set: next };
}

export interface Row {
  label: string;
  detail?: string;
}

/** A checklist step: show it, apply toggles until Enter, return the final choice. */
export async function pick(io: Io, title: string, rows: readonly Row[], initial: boolean[]): Promise<boolean[]> {
  let checked = initial;
  for (;;) {
    io.say(`\n${title}\n${checklist(rows, checked)}`);
    const r = applyToggle(await ask(io, `${TOGGLE_HELP}: `), checked);
    if ("done" in r) return checked;
    if ("error" in r) io.say(r.error);
    else checked = r.set;
  }
}

export function checklist(rows: readonly Row[], checked: readonly boolean[]): string {
  const width = Math.max(...rows.map((r) => r.label.length));
  const num = String(rows.length).length;
  return rows
    .map((r, i) => {
      const head = `  ${String(i + 1).padStart(num)}. [${checked[i] ? "x" : " "}] ${r.label.padEnd(width)}`;
      return `${head}${r.detail ? `  ${r.detail}` : ""}`.trimEnd();
    })
    .join("\n");
}

export const TOGGLE_HELP = 'Toggle with numbers (e.g. "2 4" or "1-3"), a = all, n = none, Enter = continue';

/** y/yes only: anything else, including Enter, is "no", since these questions write files. */
export function isYes(answer: string | null): boolean {
  return answer !== null && /^\s*y(es)?\s*$/i.test(answer);
}

/** One row per server: its command line, the hosts that list it, its env keys (never values). */
export function serverRows(servers: readonly PlannedServer[]): Row[] {
  return servers.map((s) => {
    const env = Object.keys(s.env);
    const hosts = [...new Set(s.sources.map((e) => e.host))].join(", ");
    return { label: s.name, detail: `${shellLine(s.cmd, s.args)}  (${hosts}${env.length ? `; env: ${env.join(", ")}` : ""})` };
  });
}

/** One row per host file, naming the entries that would become proxy entries. */
export function hostRows(files: readonly HostFileResult[], served: ReadonlySet<string>, show: (p: string) => string): Row[] {
  return files.map((r) => {
    const names = r.entries.filter((e) => e.kind === "stdio" && served.has(serverKey(e))).map((e) => e.name);
    return { label: r.host.id, detail: `${show(r.spec.path)}  (${names.join(", ")})` };
  });
}

/** Enter keeps the default; a folder whose socket paths would not fit in sun_path is refused and asked again. */
export async function askSocketDir(io: Io, current: string, servers: readonly PlannedServer[], show: (p: string) => string): Promise<string> {
  const longest = Math.max(0, ...servers.map((s) => s.name.length));
  for (;;) {
    const a = (await ask(io, `\nSocket folder [${show(current)}]: `)).trim();
    const dir = a ? path.resolve(expandHome(a)) : current;
    if (!socketPathTooLong(path.join(dir, `${"x".repeat(longest)}.sock`))) return dir;
    io.say(`${dir} is too long for Unix socket paths (about 100 bytes in all); pick a shorter folder.`);
  }
}

export interface SummaryInput {
  config: string;
  configExists: boolean;
  added: string[];
  kept: string[];
  socketDir: string;
  rewire: string[];
  proxy: string;
}

export function summary(s: SummaryInput): string {
  const lines = [
    "Summary",
    `  Config:   ${s.config} (${s.configExists ? "existing file, new servers appended" : "new file, mode 0600"})`,
    `  Servers:  ${s.added.length ? s.added.join(", ") : "none to add"}${s.kept.length ? `  (already in the config: ${s.kept.join(", ")})` : ""}`,
    `  Sockets:  ${s.socketDir}/<server>.sock`,
    `  Rewire:   ${s.rewire.length ? s.rewire.join(", ") : "none (later: rmcp-mux rewire --host NAME)"}`,
  ];
  if (s.rewire.length) lines.push(`  Proxy:    ${s.proxy}`, "            (each file is backed up next to itself first)");
  return lines.join("\n");
}
