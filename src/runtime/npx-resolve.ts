/**
 * The pure half of launching `npx PACKAGE` servers without npm in between: read an npx (or
 * `npm exec`) command line into what to resolve, and pick the bin and interpreter npx itself would
 * have run. No I/O here; npx-launch.ts asks npm and the file system.
 *
 * Whatever this cannot read with certainty becomes `{ asWritten: reason }`: the daemon then runs
 * the command as written and logs the reason once.
 */

/** An npx command line this file understood. */
export interface NpxPlan {
  /** `npx` or `npm` as written (a path is kept: resolution runs the same npm). */
  tool: string;
  /** True for `npm exec` / `npm x`. */
  npmExec: boolean;
  /** The package spec as written (`name`, `name@1.2.3`, `@scope/name@latest`). */
  spec: string;
  /** The package name without its version. */
  name: string;
  /** The command named with `-p PKG CMD`; null when npx picks the package's own bin. */
  command: string | null;
  /** npm options to repeat when asking npm (`--registry=…`, `--prefer-offline`, `--no`, …). */
  npmFlags: string[];
  /** Whether npm may install the package when missing (false only with `--no`/`--no-yes`). */
  install: boolean;
  /** The server's own arguments. */
  args: string[];
}

export type NpxReading = { plan: NpxPlan } | { asWritten: string } | null;

/** npm options that only steer where and how the package is fetched: safe to repeat when resolving. */
const PASS_BOOL = new Set(["--prefer-offline", "--prefer-online", "--offline", "--silent", "-q", "--quiet"]);
const PASS_VALUE = new Set(["--registry", "--cache", "--userconfig", "--loglevel"]);

const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/**
 * `null` when the command is not npx at all (nothing to say); otherwise the plan, or why the
 * command line is left as written.
 */
export function readNpx(cmd: string, args: readonly string[]): NpxReading {
  const tool = basename(cmd);
  let rest: readonly string[];
  let npmExec = false;
  if (tool === "npx") rest = args;
  else if (tool === "npm" && (args[0] === "exec" || args[0] === "x")) {
    rest = args.slice(1);
    npmExec = true;
  } else return null;

  const packages: string[] = [];
  const npmFlags: string[] = [];
  let install = true;
  let i = 0;
  let sawDashes = false;
  for (; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--") {
      sawDashes = true;
      i++;
      break;
    }
    if (!a.startsWith("-")) break;
    const eq = a.indexOf("=");
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    if (flag === "-y" || flag === "--yes") {
      if (inline === "false") install = false;
      else if (inline !== undefined && inline !== "true") return { asWritten: `unknown value in ${a}` };
    } else if (flag === "--no" || flag === "--no-yes") install = false;
    else if (flag === "-c" || flag === "--call") return { asWritten: `${flag} runs a shell command` };
    else if (flag === "-p" || flag === "--package") {
      const v = inline ?? rest[++i];
      if (v === undefined) return { asWritten: `${flag} has no value` };
      packages.push(v);
    } else if (PASS_BOOL.has(flag) && inline === undefined) npmFlags.push(flag);
    else if (PASS_VALUE.has(flag)) {
      const v = inline ?? rest[++i];
      if (v === undefined) return { asWritten: `${flag} has no value` };
      npmFlags.push(`${flag}=${v}`);
    } else return { asWritten: `unknown ${tool === "npx" ? "npx" : "npm exec"} option ${flag}` };
  }
  const positional = rest[i];
  const after = rest.slice(i + 1);
  // `npm exec pkg --flag` hands --flag to npm itself unless it follows `--`; npx passes it on.
  if (npmExec && !sawDashes && after.some((a) => a.startsWith("-")))
    return { asWritten: "npm exec reads options after the package as its own (put them after --)" };
  if (packages.length > 1) return { asWritten: `several packages (${packages.join(", ")})` };
  if (positional === undefined) return { asWritten: "no package or command given" };
  const spec = packages[0] ?? positional;
  const name = packageName(spec);
  if (name === null) return { asWritten: `${spec} is not a registry package name` };
  if (install) npmFlags.push("--yes");
  else npmFlags.push("--no");
  return {
    plan: {
      tool: cmd,
      npmExec,
      spec,
      name,
      command: packages.length === 1 ? positional : null,
      npmFlags,
      install,
      args: after,
    },
  };
}

/** `name`, `name@range`, `@scope/name`, `@scope/name@range` → the name; anything else (git, file, url) → null. */
export function packageName(spec: string): string | null {
  const m = /^((?:@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*)(?:@([^\s/:]+))?$/i.exec(spec);
  return m ? (m[1] as string) : null;
}

/** The argv that asks npm, in the package's npx environment, where it lives (see npx-launch.ts). */
export function probeArgv(plan: NpxPlan, probeScript: string): string[] {
  return [
    plan.tool,
    ...(plan.npmExec ? ["exec"] : []),
    ...plan.npmFlags,
    `--package=${plan.spec}`,
    "--",
    "node",
    "-e",
    probeScript,
    plan.name,
  ];
}

/** A manifest's `bin` field as a map (a string names one bin after the package, scope dropped). */
export function binsOf(name: string, bin: unknown): Record<string, string> {
  if (typeof bin === "string") return { [name.replace(/^@[^/]+\//, "")]: bin };
  if (bin === null || typeof bin !== "object") return {};
  return Object.fromEntries(Object.entries(bin).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/**
 * The bin npx runs: the one named with `-p`, else the only one, else the one named after the
 * package (npx's own rule). Several bins and none named after the package is an error in npx.
 */
export function chooseBin(name: string, bins: Record<string, string>, command: string | null): { bin: string } | { asWritten: string } {
  const names = Object.keys(bins);
  if (command !== null)
    return names.includes(command) ? { bin: command } : { asWritten: `${command} is not a bin of ${name}` };
  if (names.length === 0) return { asWritten: `${name} has no bin` };
  if (names.length === 1) return { bin: names[0] as string };
  const own = name.replace(/^@[^/]+\//, "");
  if (names.includes(own)) return { bin: own };
  return { asWritten: `${name} has several bins (${names.join(", ")}) and none is named ${own}` };
}

/**
 * How the bin's first line runs it: `#!/usr/bin/env node` → the node npm's PATH finds (`pathNode`);
 * `#!/abs/path/node` → that node. Anything else (interpreter options, another interpreter, a native
 * file) is left to npx.
 */
export function interpreterOf(firstLine: string, pathNode: string): { node: string } | { asWritten: string } {
  const m = /^#!\s*(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(firstLine.replace(/\r$/, ""));
  if (m !== null) {
    const [, prog, arg] = m as unknown as [string, string, string | undefined];
    if (basename(prog) === "env" && arg === "node") return { node: pathNode };
    if (basename(prog) === "node" && arg === undefined) return { node: prog };
  }
  const shown = firstLine.length > 60 ? `${firstLine.slice(0, 60)}…` : firstLine;
  return { asWritten: `the bin does not start with a plain node #! line (${JSON.stringify(shown)})` };
}
