/** The message families, built and wired to each other once per router. */
import type { Family, RouterContext } from "../context.ts";
import type { Families } from "../dispatch.ts";
import { Phase, type Session } from "../session.ts";
import type { RouterHost } from "../types.ts";
import { Batches } from "./batch.ts";
import { CancelProgress } from "./cancel-progress.ts";
import { Lifecycle } from "./lifecycle.ts";
import { Logging } from "./logging.ts";
import { Resources } from "./resources.ts";
import { RootsChanged } from "./roots-changed.ts";
import { ServerRequests, type Candidate } from "./server-requests.ts";
import { SessionMeta } from "./session-meta.ts";
import { SharingWatch } from "./sharing-watch.ts";
import { Tasks } from "./tasks.ts";
import { Eras } from "../era/eras.ts";
import { InputRounds } from "../era/input-rounds.ts";
import { Listen } from "../era/listen.ts";
import { RequestLogs } from "../era/request-logs.ts";
import { defines } from "../versions.ts";

type Msg = Record<string, unknown>;

/** What the families need of the router itself. */
export interface FamilyWiring {
  sessions: ReadonlyMap<number, Session>;
  /** Routes one parsed client message (a batch item) as if it had arrived alone. */
  dispatch(c: Session, msg: Msg, line: string): void;
  /** Routes a client request (a queued one, once the backend is ready). */
  request(c: Session, msg: Msg, line: string, deadline: number): void;
}

export function createFamilies(ctx: RouterContext, host: RouterHost, w: FamilyWiring): Families {
  const batches = new Batches({
    send: (cid, line) => host.toClient(cid, line),
    reply: (cid, line) => ctx.emit(cid, line),
    rawIdOf: (line) => ctx.rawIdOf(line),
    dispatch: (cid, msg, line) => {
      const c = w.sessions.get(cid);
      if (c !== undefined) w.dispatch(c, msg, line);
    },
  });
  const tasks = new Tasks(ctx);
  const sharing = new SharingWatch(ctx, host);
  // Read when roots change, so it follows whatever the lifecycle declared to the backend.
  const roots: RootsChanged = new RootsChanged(ctx, () => lifecycle.declaredCapabilities);
  // Input rounds answer the backend through server-requests, which hands modern clients' requests to them.
  const rounds = new InputRounds(ctx, () => serverRequests);
  const serverRequests: ServerRequests = new ServerRequests({
    // A modern client takes no requests: what it is asked becomes an input round (see era/input-rounds.ts).
    toClient: (cid, line) => (w.sessions.get(cid)?.era === "modern" ? rounds.toModern(cid, line) : ctx.emit(cid, line)),
    toBackend: (line) => host.toBackend(line),
    backendReady: () => ctx.backendState() === "ready",
    candidates: (cap, accepts) => {
      const out: Candidate[] = [];
      for (const c of w.sessions.values()) {
        // A modern client takes every such request, as an input round (its own version is not a 2025 one).
        if (c.phase === Phase.Ready && c.caps[cap] && (c.era === "modern" || accepts(c.version))) out.push({ id: c.id, busy: c.open > 0 });
      }
      return out;
    },
    rootsAsked: () => {
      roots.rootsAsked();
      sharing.rootsAsked();
    },
    taskOwner: (taskId, cap, accepts) => {
      const owner = w.sessions.get(tasks.ownerOf(taskId) ?? -1);
      return owner !== undefined && owner.caps[cap] && (owner.era === "modern" || accepts(owner.version)) ? owner.id : undefined;
    },
    defines: (cid, method) => {
      const c = w.sessions.get(cid);
      return c !== undefined && defines(c.version, method);
    },
  });
  // The backend's own capabilities decide what the mux may answer in its place (never a faked success).
  const backendCaps = () => lifecycle.capabilities;
  const logging = new Logging(ctx, backendCaps);
  const resources = new Resources(ctx, backendCaps);
  const lifecycle: Lifecycle = new Lifecycle(ctx, host, w.request, (replay) => {
    // What the previous process was told is told to this one, then waiting clients go on.
    logging.backendReady();
    resources.backendReady();
    roots.backendReady();
    listen.backendReady();
    lifecycle.backendReady(replay);
  });
  const cancelProgress = new CancelProgress(ctx, batches, serverRequests);
  const listen = new Listen(ctx, resources, () => lifecycle.capabilities, () => lifecycle.muxEnvelope());
  const eras = new Eras(ctx, lifecycle, logging, tasks, listen, new RequestLogs(ctx, logging), rounds);
  return { lifecycle, cancelProgress, logging, resources, tasks, serverRequests, batches, eras, sharing, roots, meta: new SessionMeta() };
}

/** The families that keep state per client, in the order a leaving client is forgotten by them. */
export function perClient(f: Families): Family[] {
  const e = f.eras;
  // After server-requests: a roots merge finishes without the client before the backend is told to ask again.
  return [f.resources, f.logging, f.tasks, f.batches, f.serverRequests, e, e.listen, e.logs, e.rounds, f.roots, f.meta];
}
