/**
 * The one table of method rules. A method listed here is handled by its family; every other request is
 * forwarded with only its id rewritten, every other client notification is passed on, and every other
 * backend notification goes to each client that finished its handshake.
 *
 * The router's fast path (requests forwarded without `JSON.parse`) skips exactly the request methods
 * listed here, and the key list it compares with is derived from this table, so a rule added here can
 * never be bypassed. Rules keyed by a name inside `params` rather than by method are in `PARAM_RULES`;
 * the fast path's scan refuses lines holding those names (a test ties the two lists).
 */
import type { Batches } from "./families/batch.ts";
import type { CancelProgress } from "./families/cancel-progress.ts";
import type { Lifecycle } from "./families/lifecycle.ts";
import type { Logging } from "./families/logging.ts";
import type { Resources } from "./families/resources.ts";
import type { RootsChanged } from "./families/roots-changed.ts";
import type { ServerRequests } from "./families/server-requests.ts";
import type { SessionMeta } from "./families/session-meta.ts";
import type { SharingWatch } from "./families/sharing-watch.ts";
import type { Tasks } from "./families/tasks.ts";
import type { Eras } from "./era/eras.ts";
import type { Session } from "./session.ts";

export interface Families {
  lifecycle: Lifecycle;
  cancelProgress: CancelProgress;
  logging: Logging;
  resources: Resources;
  tasks: Tasks;
  serverRequests: ServerRequests;
  batches: Batches;
  sharing: SharingWatch;
  roots: RootsChanged;
  meta: SessionMeta;
  /** The 2026-07-28 era and the bridges between eras (era/). */
  eras: Eras;
}

type Msg = Record<string, unknown>;

export interface RequestRule {
  handle(c: Session, msg: Msg, line: string, deadline: number): void;
  /** Handled at once, even before the backend is ready (otherwise the request waits in its client's queue). */
  beforeReady?: boolean;
}

export type NotificationRule = (c: Session, msg: Msg, line: string) => void;
export type ServerNotificationRule = (line: string) => void;

export interface DispatchTable {
  /** Client requests. */
  readonly request: ReadonlyMap<string, RequestRule>;
  /** Client notifications. */
  readonly notification: ReadonlyMap<string, NotificationRule>;
  /** Backend notifications. */
  readonly server: ReadonlyMap<string, ServerNotificationRule>;
}

/**
 * Names inside `params` that carry a rule: `_meta.progressToken` (cancel-progress), `task` (tasks), a
 * per-request log level and a retry's `inputResponses` (era/).
 */
export const PARAM_RULES: readonly string[] = ["progressToken", "task", "inputResponses", "io.modelcontextprotocol/logLevel"];

/** The method of a backend notification line (these are rare: parsing it is fine). */
function methodOfLine(line: string): string {
  return String((JSON.parse(line) as { method?: unknown }).method);
}

export function dispatchTable(f: Families): DispatchTable {
  const { lifecycle, cancelProgress, resources, tasks, serverRequests, eras, sharing, roots } = f;
  const { listen, logs } = eras;
  const tagged: ServerNotificationRule = (l) => listen.serverNotification(methodOfLine(l), l);
  const subscription: RequestRule = { handle: (c, m, l, d) => eras.listen.subscription(c, m, l, d) };
  const ownTask: RequestRule = { handle: (c, m, l, d) => tasks.ownTask(c, m, l, d) };
  return {
    request: new Map<string, RequestRule>([
      [
        "initialize",
        {
          handle: (c, m, l) => {
            eras.noteInitialize(c, m);
            lifecycle.initialize(c, m, l);
          },
          beforeReady: true,
        },
      ],
      ["server/discover", { handle: (c, m, l, d) => eras.discover(c, m, l, d), beforeReady: true }],
      ["subscriptions/listen", { handle: (c, m, l, d) => listen.listen(c, m, l, d) }],
      ["ping", { handle: (c, m, l) => lifecycle.ping(c, m, l), beforeReady: true }],
      ["logging/setLevel", { handle: (c, m, l, d) => f.logging.setLevel(c, m, l, d) }],
      ["resources/subscribe", subscription],
      ["resources/unsubscribe", subscription],
      ["tasks/get", ownTask],
      ["tasks/result", ownTask],
      ["tasks/cancel", ownTask],
      ["tasks/list", { handle: (c, m, l, d) => tasks.list(c, m, l, d) }],
      [
        "tools/list",
        {
          // Its answer is read for sharing hints only where nothing reshapes it (a client of the backend's era).
          handle: (c, m, l, d) =>
            sharing.wantsTools && (c.era === "modern") === lifecycle.modernBackend ? sharing.listTools(c, m, l, d) : eras.request(c, m, l, d),
        },
      ],
    ]),
    notification: new Map<string, NotificationRule>([
      [
        "notifications/initialized",
        (c) => {
          lifecycle.initialized();
          roots.clientJoined(c);
        },
      ],
      ["notifications/roots/list_changed", (c) => roots.clientChanged(c)],
      ["notifications/cancelled", (c, m) => listen.cancelled(c, m) || cancelProgress.clientCancelled(c, m)],
    ]),
    server: new Map<string, ServerNotificationRule>([
      ["notifications/progress", (l) => cancelProgress.serverProgress(l)],
      ["notifications/cancelled", (l) => cancelProgress.serverCancelled(l)],
      ["notifications/message", (l) => logs.serverMessage(l)],
      ["notifications/tasks/status", (l) => tasks.serverStatus(l)],
      ["notifications/elicitation/complete", (l) => serverRequests.serverElicitationComplete(l)],
      ["notifications/resources/updated", tagged],
      ["notifications/tools/list_changed", tagged],
      ["notifications/prompts/list_changed", tagged],
      ["notifications/resources/list_changed", tagged],
      ["notifications/subscriptions/acknowledged", tagged],
    ]),
  };
}
