#!/usr/bin/env bun
/**
 * The one executable: `rmcp-mux` and `rmcp-mux-proxy` are the same file (the proxy is a link to it), told
 * apart by the name they were run by. One file means one set of pages in the page cache: the Bun runtime's
 * code that the daemon and every host session's proxy touch is counted once, not once for the daemon and
 * again for the proxies. Each side is a chunk of its own (`--splitting`), so a proxy never loads the CLI.
 */
export {};

const name = process.argv0.slice(Math.max(process.argv0.lastIndexOf("/"), process.argv0.lastIndexOf("\\")) + 1);

// Anywhere in the name, any case: `rmcp-mux-proxy.exe`, `RMCP-MUX-PROXY` on a case-insensitive disk, a wrapper's
// `.rmcp-mux-proxy-wrapped`. A copy under a name of one's own runs the proxy as `rmcp-mux proxy`.
if (/rmcp-mux-proxy/i.test(name)) {
  const { proxyMain } = await import("./proxy/main.ts");
  process.exit(await proxyMain(process.argv.slice(2)));
} else {
  await import("./cli/main.ts");
}
