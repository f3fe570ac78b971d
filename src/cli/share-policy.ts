/**
 * What `rmcp-mux check` says about each server's `share`: the configured value, and, when a running daemon
 * serves that server, the policy in force and why (for "auto", once decided). Pure, so it is tested on fixed input.
 */
import type { SharingStatus } from "../control/protocol.ts";

const MEANS: Record<SharingStatus["policy"], string> = {
  shared: "one process for every client",
  "per-workspace": "one process per workspace",
  "per-client": "one process per client",
  "session-aware": "one process; each request names its client's session",
};

/**
 * One line for one server. `setting`: its `share` in the file; `live`: the daemon's report of it, undefined
 * when no daemon runs or it does not serve this server (or is too old to say); `daemon`: whether one answered.
 */
export function shareLine(setting: SharingStatus["share"], live: SharingStatus | undefined, daemon: boolean): string {
  const head = `share = "${setting}"`;
  if (live === undefined) {
    if (setting !== "auto") return `${head}: ${MEANS[setting]}`;
    const why = daemon ? "the running daemon does not report it" : "no daemon is running";
    return `${head}: decided when the server's first process starts (${why})`;
  }
  const stale = live.share !== setting ? ` (the daemon runs with share = "${live.share}"; reload to apply this file)` : "";
  const decided = live.decided ?? live.share !== "auto";
  if (!decided) return `${head}: not decided yet, shared until the server shows something (${live.reason})${stale}`;
  return `${head}: ${live.policy}, ${MEANS[live.policy]} (${live.reason})${stale}`;
}
