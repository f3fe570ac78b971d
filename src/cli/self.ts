/**
 * How to run this very program again: the compiled binary alone, or bun plus the entry script.
 * In a compiled binary Bun.main lives in the embedded /$bunfs filesystem.
 */
export function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}
