/**
 * The service files, rendered from the templates in tools/ (embedded in the compiled binary as text).
 * Pure: same inputs, same bytes; no file system, no environment.
 */
import plistTemplate from "../../tools/launchd/rmcp-mux.plist.in" with { type: "text" };
import unitTemplate from "../../tools/systemd/rmcp-mux.service.in" with { type: "text" };
import { UsageError } from "../errors.ts";

export interface ServiceSpec {
  /** The service's name: the unit is `<name>.service`, the launchd label `dev.rmcp-mux.<name>`. */
  name: string;
  /** What runs the daemon, absolute: the compiled binary, or bun + the entry script (see src/cli/self.ts). */
  command: string[];
  /** The config, absolute; the unit passes it as `--config`. */
  configPath: string;
  /** The daemon's working directory (the config's folder). */
  workingDirectory: string;
  /** PATH for the daemon and its servers (the installing shell's: servers are often `npx ...`). */
  pathEnv: string;
  /** Seconds the service manager waits for the graceful stop before SIGKILL. */
  stopTimeoutSec: number;
  /** launchd only: where stdout and stderr go. */
  logPath: string;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkName(name: string): string {
  if (!NAME_PATTERN.test(name) || name.length > 200)
    throw new UsageError(`--name must be letters, digits, "-", "_", "." (starting with a letter or digit), was ${JSON.stringify(name)}`);
  return name;
}

export function launchdLabel(name: string): string {
  return `dev.rmcp-mux.${name}`;
}

/** Substitutes every `@KEY@`; a key the template lacks, or a placeholder left over, is a bug worth a loud error. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  for (const key of Object.keys(values))
    if (!template.includes(`@${key}@`)) throw new Error(`template has no @${key}@`);
  // A replacer function: a value containing `$&` or `$1` must come out literally.
  const out = template.replace(/@([A-Z_]+)@/g, (whole, key: string) => values[key] ?? whole);
  const left = /@[A-Z_]+@/.exec(out);
  if (left) throw new Error(`template placeholder ${left[0]} has no value`);
  return out;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function refuseControl(what: string, value: string): void {
  if (CONTROL.test(value)) throw new UsageError(`${what} contains a control character (newline, tab, ...): ${JSON.stringify(value)}`);
}

// ---- systemd ----------------------------------------------------------------------------------------------------

/** Characters a systemd word may hold without quotes (`%` is doubled separately, `$` is not among them). */
const SYSTEMD_PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word of a systemd command line or setting (systemd.syntax(7) "Quoting", systemd.unit(5) "Specifiers"):
 * `%` doubled, quoted when it holds anything but plain characters, `\` and `"` escaped inside the quotes.
 * `dollar` doubles `$` (ExecStart arguments are subject to `$VAR` expansion; the executable and Environment= are not).
 */
export function systemdWord(value: string, opts: { dollar: boolean }): string {
  let s = value.replaceAll("%", "%%");
  if (opts.dollar) s = s.replaceAll("$", () => "$$");
  if (s !== "" && SYSTEMD_PLAIN.test(s)) return s;
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** ExecStart=: the executable (absolute, no `$` doubling: systemd executes it as written) then the arguments. */
export function systemdExecStart(argv: string[]): string {
  const [exe, ...args] = argv;
  if (exe === undefined) throw new Error("empty command");
  if (!exe.startsWith("/")) throw new UsageError(`the program to run must be an absolute path, was ${JSON.stringify(exe)}`);
  // systemd refuses an executable path with quotes or backslashes ("Executable name contains special characters").
  if (/["'\\]/.test(exe)) throw new UsageError(`systemd cannot run a program whose path contains quotes or backslashes: ${exe}`);
  for (const a of argv) refuseControl("the service's command line", a);
  return [systemdWord(exe, { dollar: false }), ...args.map((a) => systemdWord(a, { dollar: true }))].join(" ");
}

/** WorkingDirectory= takes the rest of the line verbatim (no quoting), with specifiers: only `%` needs care. */
export function systemdPathSetting(value: string): string {
  refuseControl("the working directory", value);
  if (!value.startsWith("/")) throw new UsageError(`the working directory must be absolute, was ${JSON.stringify(value)}`);
  if (value !== value.trimEnd()) throw new UsageError(`systemd cannot use a directory whose name ends in white space: ${JSON.stringify(value)}`);
  return value.replaceAll("%", "%%");
}

export function renderSystemdUnit(spec: ServiceSpec): string {
  checkName(spec.name);
  refuseControl("PATH", spec.pathEnv);
  refuseControl("the config path", spec.configPath);
  return fillTemplate(unitTemplate, {
    NAME: spec.name,
    // JSON in a comment: read back by `service status`, and never ends in a backslash (a line continuation).
    CONFIG_JSON: JSON.stringify(spec.configPath),
    PATH_ENV: systemdWord(`PATH=${spec.pathEnv}`, { dollar: false }),
    WORKING_DIRECTORY: systemdPathSetting(spec.workingDirectory),
    EXEC_START: systemdExecStart([...spec.command, "--config", spec.configPath]),
    TIMEOUT_STOP_SEC: String(spec.stopTimeoutSec),
  });
}

/** The config path recorded in a unit this module rendered (its `# config:` line), or null. */
export function configOfSystemdUnit(unit: string): string | null {
  const m = /^# config: (".*")$/m.exec(unit);
  if (!m) return null;
  try {
    const v: unknown = JSON.parse(m[1] as string);
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}

// ---- launchd ----------------------------------------------------------------------------------------------------

/** XML's five entities; `&` first when escaping and last when unescaping, so no text is replaced twice. */
const XML_ENTITIES: ReadonlyArray<readonly [string, string]> = [
  ["&", "&amp;"],
  ["<", "&lt;"],
  [">", "&gt;"],
  ['"', "&quot;"],
  ["'", "&apos;"],
];

export function xmlEscape(value: string): string {
  return XML_ENTITIES.reduce((v, [ch, entity]) => v.replaceAll(ch, entity), value);
}

function xmlUnescape(value: string): string {
  return XML_ENTITIES.reduceRight((v, [ch, entity]) => v.replaceAll(entity, ch), value);
}

/** A `<string>` value: XML 1.0 cannot carry control characters at all, so they are refused, not escaped. */
function plistString(what: string, value: string): string {
  refuseControl(what, value);
  return xmlEscape(value);
}

export function renderLaunchdPlist(spec: ServiceSpec): string {
  checkName(spec.name);
  for (const a of spec.command) refuseControl("the service's command line", a);
  const args = [...spec.command, "--config", spec.configPath].map((a) => `\t\t<string>${plistString("the command line", a)}</string>`);
  return fillTemplate(plistTemplate, {
    LABEL: launchdLabel(spec.name),
    PROGRAM_ARGUMENTS: args.join("\n"),
    WORKING_DIRECTORY: plistString("the working directory", spec.workingDirectory),
    PATH: plistString("PATH", spec.pathEnv),
    EXIT_TIMEOUT: String(spec.stopTimeoutSec),
    LOG_PATH: plistString("the log path", spec.logPath),
  });
}

/** The config path in a plist this module rendered (the argument after `--config`), or null. */
export function configOfLaunchdPlist(plist: string): string | null {
  const m = /<string>--config<\/string>\s*<string>([^<]*)<\/string>/.exec(plist);
  return m ? xmlUnescape(m[1] as string) : null;
}
