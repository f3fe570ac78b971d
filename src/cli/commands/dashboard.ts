/** `rmcp-mux dashboard`: the live dashboard, attached to a daemon that is already running (left running on quit). */
import { defineCommand } from "citty";
import { connectControl } from "../../control/client.ts";
import { cliErrors, statusSocketOf, daemonTargetArgs } from "../resolve.ts";

export async function runDashboardCommand(args: { socket?: string; config?: string }): Promise<number> {
  const socket = await statusSocketOf(args);
  // Fail fast on a wrong path; once attached, a daemon that goes away is waited for instead.
  (await connectControl(socket)).close();
  const { startDashboard } = await import("../../tui/app.ts");
  const dashboard = await startDashboard({ socket });
  await dashboard.done;
  return 0;
}

export default defineCommand({
  meta: { name: "dashboard", description: "Live dashboard of a running daemon (j/k move, r restart, s stop, S start, q quit)" },
  args: {
    ...daemonTargetArgs,
  },
  async run({ args }) {
    process.exitCode = await cliErrors(() => runDashboardCommand(args));
  },
});
