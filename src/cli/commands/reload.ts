/**
 * `rmcp-mux reload`: ask the running daemon to re-read its config (the same as sending it SIGHUP),
 * and print what changed, or why the new config was refused.
 */
import { defineCommand } from "citty";
import { controlRequest } from "../../control/client.ts";
import { cliErrors, statusSocketOf, daemonTargetArgs } from "../resolve.ts";

export async function reloadDaemon(args: { socket?: string; config?: string; json?: boolean }): Promise<number> {
  const socket = await statusSocketOf(args);
  // A reload waits for the config check child and for the changed servers' children to end.
  const answer = await controlRequest(socket, { cmd: "reload" }, 120_000);
  if (!answer.ok || answer.reload === undefined) {
    const why = answer.ok ? "the daemon sent no reload summary" : answer.error;
    // --json promises JSON on stdout whatever happened: a script reads `error` instead of parsing stderr.
    if (args.json) process.stdout.write(`${JSON.stringify({ error: `reload refused, nothing changed: ${why}` }, null, 2)}\n`);
    else process.stderr.write(`rmcp-mux: reload refused, nothing changed: ${why}\n`);
    return 1;
  }
  const r = answer.reload;
  if (args.json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } else {
    const groups = [
      ["added", r.added],
      ["removed", r.removed],
      ["changed (restarted)", r.changed],
      ["unchanged", r.unchanged],
    ] as const;
    process.stdout.write("reloaded\n");
    for (const [label, names] of groups) {
      if (names.length > 0) process.stdout.write(`  ${label.padEnd(20)} ${names.join(", ")}\n`);
    }
  }
  for (const f of r.failed) process.stderr.write(`rmcp-mux: ${f.name} did not start: ${f.error}\n`);
  return r.failed.length > 0 ? 1 : 0;
}

export default defineCommand({
  meta: { name: "reload", description: "Make the running daemon re-read its config (like SIGHUP) and show what changed" },
  args: {
    json: { type: "boolean", description: 'Print the summary as JSON (a refused file: {"error": "..."}, exit 1)' },
    ...daemonTargetArgs,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(() => reloadDaemon(args));
  },
});
