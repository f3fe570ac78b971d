/** `rmcp-mux daemon-status`: the running daemon's status, as a table or JSON. */
import { defineCommand } from "citty";
import { controlRequest } from "../../control/client.ts";
import { renderStatus } from "../format.ts";
import { cliErrors, statusSocketOf, daemonTargetArgs } from "../resolve.ts";

export async function printStatus(args: { socket?: string; config?: string; json?: boolean }): Promise<number> {
  const socket = await statusSocketOf(args);
  const answer = await controlRequest(socket, { cmd: "status" });
  if (!answer.ok || !answer.status) {
    process.stderr.write(`rmcp-mux: ${answer.ok ? "the daemon sent no status" : answer.error}\n`);
    return 1;
  }
  process.stdout.write(args.json ? `${JSON.stringify(answer.status, null, 2)}\n` : `${renderStatus(answer.status)}\n`);
  return 0;
}

export default defineCommand({
  meta: { name: "daemon-status", description: "Show the running daemon's servers, clients and counters" },
  args: {
    json: { type: "boolean", description: "Print JSON instead of a table" },
    ...daemonTargetArgs,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(() => printStatus(args));
  },
});
