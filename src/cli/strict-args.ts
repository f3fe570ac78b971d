/**
 * citty ignores flags it does not know, so a typo (`rewire --dryrun`) silently runs the real thing. This one check,
 * run before citty for every command, walks the command line against the definitions of the command (and
 * subcommand) it names and reports the first flag or argument none of them declares. Pure apart from resolving
 * the lazily loaded subcommand definitions.
 */
import type { ArgsDef, CommandDef } from "citty";

type Resolvable<T> = T | Promise<T> | (() => T) | (() => Promise<T>);

async function resolve<T>(v: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

export interface Unknown {
  /** The offending token as typed, without any `=value`. */
  token: string;
  /** The command it was given to: ["rewire"], ["service", "install"], or [] for the main command. */
  command: string[];
  kind: "option" | "argument";
}

/** The command path argv names, and the first token no definition accepts (if any). */
export async function checkArgs(root: CommandDef<any>, argv: readonly string[]): Promise<{ command: string[]; unknown?: Unknown }> {
  let cmd = root;
  const command: string[] = [];
  let defs: ArgsDef = (await resolve(cmd.args as Resolvable<ArgsDef>)) ?? {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("-") && a !== "-") {
      const token = a.split("=")[0]!;
      const name = token.replace(/^--?/, "");
      const def = defOf(defs, name, token.startsWith("--"));
      if (def === undefined) return { command, unknown: { token, command, kind: "option" } };
      if ((def.type === "string" || def.type === "enum") && !a.includes("=")) i++;
      continue;
    }
    const subs = await resolve(cmd.subCommands as Resolvable<Record<string, Resolvable<CommandDef<any>>>>);
    if (subs && Object.hasOwn(subs, a)) {
      cmd = (await resolve(subs[a]))!;
      command.push(a);
      defs = (await resolve(cmd.args as Resolvable<ArgsDef>)) ?? {};
      continue;
    }
    if (Object.values(defs).some((d) => d.type === "positional")) continue;
    return { command, unknown: { token: a, command, kind: "argument" } };
  }
  return { command };
}

/** The definition a flag names: `--name`, `--no-name` for booleans, or an alias (`-x` / `--x`). */
function defOf(defs: ArgsDef, name: string, long: boolean): { type?: string } | undefined {
  if (name === "help" || name === "h" || name === "version" || name === "v") return { type: "boolean" };
  for (const [key, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const aliases = "alias" in def && def.alias !== undefined ? [def.alias].flat() : [];
    if (long && (key === name || (def.type === "boolean" && name === `no-${key}`))) return def;
    if (aliases.includes(name)) return def;
  }
  return undefined;
}
