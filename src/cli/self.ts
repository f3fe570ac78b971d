/**
 * How to run this very program again (the daemon validates its config in a `check` child; `--tui`
 * starts the daemon as a child): the compiled binary alone, or bun plus the entry script.
 */

/** True in a `bun build --compile` binary: Bun then names the entry point inside its embedded /$bunfs. */
export function isCompiled(argv: readonly string[] = process.argv): boolean {
  const script = argv[1];
  return script === undefined || script.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(script);
}

/** The command line that runs this program again with `args`: the binary itself, or bun + the script. */
export function selfCommand(args: string[] = [], argv: readonly string[] = process.argv, execPath = process.execPath): string[] {
  return isCompiled(argv) ? [execPath, ...args] : [execPath, argv[1] as string, ...args];
}
