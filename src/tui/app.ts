/**
 * The dashboard: model + view + link, wired together. It runs in its own process (the CLI's
 * `dashboard` command, or the front half of `--tui`), never inside the daemon: opentui puts stdin
 * in raw mode and takes over the signals, which a router must not have done to it.
 */
import { type CliRenderer, createCliRenderer, type KeyEvent } from "@opentui/core";
import { type Backoff, type DashboardLink, openLink } from "./connection.ts";
import { type Effect, initialModel, keyOf, type Model, type Msg, update } from "./model.ts";
import { createView } from "./view.ts";

export interface DashboardOptions {
  /** The daemon's control socket. */
  socket: string;
  /** A renderer to draw on (tests pass opentui's test renderer); by default the terminal, owned and restored here. */
  renderer?: CliRenderer;
  backoff?: Backoff;
}

export interface Dashboard {
  /** Resolves once the dashboard has quit (q, Esc, Ctrl+C, a signal) and the terminal is restored. */
  readonly done: Promise<void>;
  model(): Model;
  quit(): Promise<void>;
}

/** The terminal renderer the dashboard wants: Ctrl+C is a key (so quitting is one path), no mouse. */
export function terminalRenderer(): Promise<CliRenderer> {
  return createCliRenderer({ exitOnCtrlC: false, useMouse: false, targetFps: 30 });
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const owned = opts.renderer === undefined;
  const renderer = opts.renderer ?? (await terminalRenderer());
  const view = createView(renderer);
  let model = initialModel(opts.socket);
  let finished = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const dispatch = (msg: Msg) => {
    if (finished) return;
    let effect: Effect;
    [model, effect] = update(model, msg);
    if (!renderer.isDestroyed) view.render(model);
    if (effect?.type === "quit") void quit();
    if (effect?.type === "send") {
      const { cmd, name, pidBefore } = effect;
      dispatch({ type: "sent", cmd, name });
      void link.send(cmd, name).then((answer) => dispatch({ type: "result", cmd, name, pidBefore, answer }));
    }
  };

  const link: DashboardLink = openLink(
    opts.socket,
    {
      status: (status) => dispatch({ type: "status", status }),
      connected: () => dispatch({ type: "connected" }),
      lost: (error, retryMs, attempt) => dispatch({ type: "lost", error, retryMs, attempt }),
    },
    opts.backoff,
  );

  const onKey = (e: KeyEvent) => {
    const key = keyOf(e.name, e.sequence, e.ctrl);
    if (key !== null) dispatch({ type: "key", key });
  };
  renderer.keyInput.on("keypress", onKey);

  let quitting: Promise<void> | null = null;
  const quit = (): Promise<void> => {
    quitting ??= (async () => {
      finished = true;
      link.close();
      renderer.keyInput.off("keypress", onKey);
      renderer.off("destroy", onDestroyed);
      view.destroy();
      if (owned && !renderer.isDestroyed) {
        // destroy() restores the terminal at once, or after the frame being drawn: its "destroy" event marks that.
        const restored = new Promise<void>((r) => renderer.once("destroy", () => queueMicrotask(r)));
        renderer.destroy();
        await Promise.race([restored, Bun.sleep(1000)]);
      }
      resolveDone();
    })();
    return quitting;
  };
  // A signal (SIGTERM, SIGHUP, …) makes opentui destroy the renderer, restoring the terminal: quit with it.
  const onDestroyed = () => void quit();
  renderer.on("destroy", onDestroyed);

  view.render(model);
  return { done, model: () => model, quit };
}
