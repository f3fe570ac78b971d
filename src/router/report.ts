/** What the router reports about itself: the status counters, and every table's size for leak checks. */
import type { Families } from "./dispatch.ts";
import type { Session } from "./session.ts";
import type { RouterFootprint, RouterStats } from "./types.ts";

export function routerStats(
  sessions: ReadonlyMap<number, Session>,
  slots: { readonly active: number; readonly waiting: number },
  counters: { served: number; timeouts: number; cancelled: number },
  f: Families,
): RouterStats {
  let queued = 0;
  // Clients' requests only: the mux's own (heartbeat pings, the handshake, subscriptions) are not "pending requests".
  let pending = 0;
  const versions: Record<string, number> = {};
  for (const c of sessions.values()) {
    queued += c.queue.length;
    pending += c.open;
    if (c.version !== "") versions[c.version] = (versions[c.version] ?? 0) + 1;
  }
  return {
    connected: sessions.size,
    active: slots.active,
    waiting: slots.waiting,
    pending,
    queued,
    ...counters,
    subscriptions: f.resources.subscriptions.size,
    versions,
  };
}

export function routerFootprint(sessions: ReadonlyMap<number, Session>, pending: number, f: Families): RouterFootprint {
  const sr = f.serverRequests.footprint;
  return {
    clients: sessions.size,
    pending,
    progress: f.cancelProgress.size,
    subscriptions: f.resources.subscriptions.size,
    logLevels: f.logging.levels.size,
    tasks: f.tasks.size,
    batches: f.batches.size,
    serverRequests: sr.open,
    serverRequestIds: sr.byBackend,
    elicitations: sr.elicitations,
    workspaces: f.meta.size,
    eras: f.eras.size,
  };
}
