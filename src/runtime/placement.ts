/**
 * Which instance a client joins (docs/routing.md, "Sharing and placement").
 *
 * A client's key depends on the server's policy: "global" when shared, "client:N" per client, its workspace
 * per workspace (workspace.ts). A client's roots are known only after its handshake, and its `initialize`
 * must be answered once, so a roots-declaring client of a per-workspace or per-client server waits in the
 * lobby: the mux answers its `initialize` from the handshake of any instance of the same server, asks it
 * `roots/list` once it sent `notifications/initialized`, then hands it to its instance's router as an
 * already initialized session (Router.clientAdopted). Before any instance has answered `initialize`, a
 * short-lived probe instance (in the server's own cwd) is handshaken with the first waiting client's
 * parameters; it stops once its answer is cached, and the waiting clients go through the lobby. Should the
 * probe fail, the first client joins an instance under a provisional key that becomes its workspace once
 * its roots are known, with the others waiting meanwhile: two root sets never meet in one process.
 *
 * `share = "auto"`: the first instance decides from the router's hints; its first client stays where it is,
 * and until a hint arrives later clients share it.
 */
import type { ServerConfig } from "../config/schema.ts";
import type { SharePolicy, SharingHint } from "../router/sharing.ts";
import type { BackendState } from "../router/types.ts";
import { shapeHandshake } from "../router/versions.ts";
import { parseHello } from "../wire/hello.ts";
import type { Instance } from "./instance.ts";
import type { Conn } from "./conn.ts";
import { isInitialized, parseInitialize, refusalOf, rootsAnswer, rootsAsk } from "./lobby-lines.ts";
import type { Logger } from "./log.ts";
import { InstanceCapError, PoolClosedError, type Pool } from "./pool.ts";
import type { Timers } from "./supervisor.ts";
import { folderOf, GLOBAL, workspaceOfCwd } from "./workspace.ts";

export interface PlacementHost {
  /** Route one line of a placed client to its router. */
  route(c: Conn, line: string): void;
  close(c: Conn, why: string): void;
  /** A client joins an instance (its router session is created). */
  join(c: Conn, inst: Instance): void;
  changed(): void;
}

export class Placement {
  /** For "auto": what the first instance showed, once it showed something. */
  decision: SharingHint | null = null;
  private decider: Instance | null = null;
  private deciderFirst: Conn | null = null;
  /** An instance whose key waits for its first client's roots; clients that need a workspace wait meanwhile. */
  private provisional: Instance | null = null;
  private readonly waiting: Conn[] = [];
  /** The instance learning the handshake for clients that wait in the lobby; null when none runs. */
  private probe: Instance | null = null;
  private probeFailed = false;
  /** The last handshake result any instance gave (same program, same answer). */
  private handshake: string | null = null;

  constructor(
    private readonly config: ServerConfig,
    private readonly pool: Pool<Instance>,
    private readonly host: PlacementHost,
    private readonly log: Logger,
    private readonly timers: Timers,
  ) {}

  /** The policy in force: the configured one, or for "auto" the decision (null: none yet, so shared). */
  get policy(): SharePolicy | null {
    return this.config.share === "auto" ? (this.decision?.policy ?? null) : this.config.share;
  }

  get reason(): string {
    if (this.config.share !== "auto") return `share = "${this.config.share}" in the config`;
    return this.decision?.reason ?? "no sign of state from the server yet";
  }

  private get sharedNow(): boolean {
    const p = this.policy;
    return p === null || p === "shared" || p === "session-aware";
  }

  /** A new client: a shared server places it at once (its first line is still checked for a hello). */
  connected(c: Conn): void {
    if (this.sharedNow) this.place(c, GLOBAL, undefined, null);
  }

  /** Every line of a client that is not simply routed (unplaced, refused, watched or asked). */
  line(c: Conn, line: string): void {
    if (c.fresh) {
      c.fresh = false;
      const hello = parseHello(line);
      if (hello !== null) {
        c.cwd ??= hello.cwd;
        c.fresh = c.inst === null; // the next line is the client's first message
        if (c.inst !== null && c.workspace === null) {
          c.workspace = workspaceOfCwd(c.cwd);
          this.tellWorkspace(c);
        }
        return;
      }
      if (c.inst === null && c.held === null && c.refused === null) return this.first(c, line);
      if (c.workspace === null) {
        c.workspace = workspaceOfCwd(c.cwd);
        this.tellWorkspace(c);
      }
    }
    if (c.rootsAsk !== null && line.includes(c.rootsAsk) && this.rootsAnswered(c, line)) return;
    if (c.refused !== null) return this.refuse(c, line);
    if (c === this.deciderFirst && c.init === null) c.init = parseInitialize(line);
    const isInit = c.afterInit !== null && isInitialized(line);
    if (c.held !== null) {
      // As many as a client waiting for a slot may send (the router's admission): a flood is no waiting client.
      if (c.held.length >= MAX_HELD) return this.host.close(c, `it sent over ${MAX_HELD} messages before it could be placed`);
      if (!isInit) c.held.push(line);
    } else if (c.inst !== null) this.host.route(c, line);
    if (isInit) {
      c.initDone = true;
      const then = c.afterInit as () => void;
      c.afterInit = null;
      then();
    }
  }

  /** The client's first message, on a server that is not shared now. */
  private first(c: Conn, line: string): void {
    const init = parseInitialize(line);
    c.init = init;
    const caps = (init?.params as { capabilities?: Record<string, unknown> } | undefined)?.capabilities;
    const perClient = this.policy === "per-client";
    if (caps?.roots == null) {
      c.workspace = workspaceOfCwd(c.cwd);
      return this.place(c, perClient ? `client:${c.cid}` : c.workspace, folderOf(c.workspace), line);
    }
    const handshake = this.cachedHandshake();
    if (handshake !== null) {
      // The lobby: answered as the instance would, its roots asked once it says it is initialized.
      c.held = [];
      // Shaped as the router shapes it: the client's own version when the server's can serve it.
      const asked = (init?.params as { protocolVersion?: unknown } | undefined)?.protocolVersion;
      const { version, result } = shapeHandshake(handshake, typeof asked === "string" ? asked : "");
      c.answered = version;
      c.link.send(`{"jsonrpc":"2.0","id":${JSON.stringify(init?.id)},"result":${result}}`);
      c.afterInit = () => this.askRoots(c);
      return;
    }
    if (this.provisional !== null || this.probe !== null || !this.probeFailed) {
      c.held = [line];
      this.waiting.push(c);
      if (this.provisional === null && this.probe === null) this.startProbe(line);
      return;
    }
    if (perClient) return this.place(c, `client:${c.cid}`, folderOf(workspaceOfCwd(c.cwd)), line);
    this.place(c, `first:${c.cid}`, folderOf(workspaceOfCwd(c.cwd)), line);
    if (c.inst === null) return;
    this.provisional = c.inst;
    this.awaitInit(c);
  }

  /**
   * A provisional client is asked its roots once it says it is initialized. One that never does (its
   * handshake failed, yet it stays) must not hold back the clients waiting behind it: asked anyway.
   */
  private awaitInit(c: Conn): void {
    const inst = c.inst;
    c.afterInit = () => this.askRoots(c);
    this.timers.setTimer(this.config.request_timeout_ms, () => {
      if (this.provisional !== inst || c.afterInit === null || c.inst !== inst) return;
      this.log("warn", `client ${c.cid} did not finish its handshake in ${this.config.request_timeout_ms} ms; its roots are asked now`);
      c.afterInit = null;
      this.askRoots(c);
    });
  }

  /** Join the instance for `key` (started when there is none); `line`, when given, is routed there. */
  private place(c: Conn, key: string, cwd: string | undefined, line: string | null): void {
    let inst: Instance;
    try {
      inst = this.pool.obtain(key, cwd);
    } catch (e) {
      if (e instanceof PoolClosedError) return this.host.close(c, e.message);
      if (!(e instanceof InstanceCapError)) throw e;
      this.log("warn", `client ${c.cid} refused: ${e.message}`);
      c.refused = e.message;
      if (line !== null) this.refuse(c, line);
      return;
    }
    if (inst === this.decider && this.deciderFirst === null && inst.clients.size === 0) {
      this.deciderFirst = c;
      c.afterInit = () => {};
    }
    this.host.join(c, inst);
    this.tellWorkspace(c);
    if (line !== null) this.host.route(c, line);
  }

  /** The router stamps each client's workspace on what it forwards when the server is session-aware. */
  private tellWorkspace(c: Conn): void {
    if (c.inst !== null && c.workspace !== null) c.inst.router.setClientWorkspace(c.cid, c.workspace);
  }

  /** A refused client: each request gets the `max_instances` error at once, never a hang. */
  private refuse(c: Conn, line: string): void {
    const error = refusalOf(line, c.refused as string, this.config.max_instances);
    if (error !== null) c.link.send(error);
  }

  private askRoots(c: Conn): void {
    const ask = rootsAsk(c.cid);
    c.rootsAsk = ask.id;
    c.link.send(ask.line);
    c.rootsTimer = this.timers.setTimer(this.config.request_timeout_ms, () => {
      this.log("warn", `client ${c.cid} did not answer roots/list in ${this.config.request_timeout_ms} ms; placed by its folder`);
      this.rootsKnown(c, null);
    });
  }

  /** True when `line` was the answer to the mux's `roots/list`. */
  private rootsAnswered(c: Conn, line: string): boolean {
    const workspace = rootsAnswer(line, c.rootsAsk as string);
    if (workspace === undefined) return false;
    this.rootsKnown(c, workspace);
    return true;
  }

  private rootsKnown(c: Conn, roots: string | null): void {
    this.timers.clearTimer(c.rootsTimer);
    c.rootsAsk = null;
    c.workspace = roots ?? workspaceOfCwd(c.cwd);
    this.log("debug", `client ${c.cid} workspace: ${c.workspace}`);
    if (c.held !== null) return this.adopt(c);
    // A placed client: its instance takes its workspace as key, unless another has it.
    const inst = c.inst;
    if (inst !== null && this.pool.get(c.workspace) === undefined && (this.policy === "per-workspace" || inst.key.startsWith("first:"))) {
      this.pool.rekey(inst, c.workspace);
    }
    this.tellWorkspace(c);
    if (this.provisional === inst) this.settled();
    this.host.changed();
  }

  /** A lobby client's workspace is known: it joins its instance as an initialized session, then its lines follow. */
  private adopt(c: Conn): void {
    const held = c.held as string[];
    c.held = null;
    const key = this.policy === "per-client" ? `client:${c.cid}` : (c.workspace as string);
    this.place(c, key, folderOf(c.workspace as string), null);
    if (c.inst !== null) c.inst.router.clientAdopted(c.cid, c.init ?? {}, c.answered);
    for (const l of held) this.line(c, l);
  }

  /** The provisional instance has its key: clients that waited for it are placed now. */
  private settled(): void {
    this.provisional = null;
    for (const c of this.waiting.splice(0)) {
      const held = c.held as string[];
      c.held = null;
      const [first, ...rest] = held;
      if (first === undefined) continue;
      this.first(c, first);
      for (const l of rest) this.line(c, l);
    }
  }

  /** Under "auto", the first instance ever made is the one whose hints decide. */
  created(inst: Instance): void {
    if (this.config.share === "auto" && this.decider === null) this.decider = inst;
    if (this.policy === "session-aware") inst.router.setSessionAware(true);
  }

  /** Handshake a probe instance with a waiting client's `initialize` (its answer goes to no client). */
  private startProbe(initLine: string): void {
    let inst: Instance;
    try {
      inst = this.pool.obtain(PROBE_KEY, undefined);
    } catch (e) {
      if (!(e instanceof InstanceCapError)) throw e;
      return this.probeDone(false);
    }
    this.probe = inst;
    this.log("info", "learning the server's handshake from a short-lived process (no instance has answered initialize yet)");
    inst.router.clientConnected(PROBE_CID);
    inst.router.clientLine(PROBE_CID, initLine);
  }

  /** An instance's backend moved: the probe is done once it is ready (or cannot become so). */
  backendState(inst: Instance, state: BackendState): void {
    if (inst !== this.probe) return;
    // Not inside the router's own call: it finishes its handshake bookkeeping first.
    if (state === "ready") queueMicrotask(() => this.probeDone(true));
    else if (state === "failed" || state === "stopped") queueMicrotask(() => this.probeDone(false));
  }

  /** What the probe's router answered its handshake: an error means this probe will not learn it. */
  probeAnswered(line: string): void {
    if (this.probe === null || !line.includes('"error"')) return;
    try {
      const msg = JSON.parse(line) as { method?: unknown; error?: unknown };
      if (msg.method === undefined && msg.error !== undefined) queueMicrotask(() => this.probeDone(false));
    } catch {
      // not an answer of the router's making: nothing to learn from it
    }
  }

  private probeDone(ok: boolean): void {
    const probe = this.probe;
    if (probe !== null) {
      this.cachedHandshake();
      this.probe = null;
      this.pool.retire(probe, ok ? "the handshake is known" : "it could not complete a handshake");
    }
    if (!ok) this.probeFailed = true;
    this.settled();
  }

  /** A client left (whatever it was doing). */
  gone(c: Conn): void {
    if (c.rootsAsk !== null) this.timers.clearTimer(c.rootsTimer);
    c.rootsAsk = null;
    const w = this.waiting.indexOf(c);
    if (w >= 0) this.waiting.splice(w, 1);
    if (this.deciderFirst === c) this.deciderFirst = null;
    if (c.inst !== null && this.provisional === c.inst) this.settled();
  }

  /** The handshake result of any instance, kept once seen (same program, same answer). */
  private cachedHandshake(): string | null {
    for (const i of this.pool.all()) {
      const h = i.router.handshake;
      if (h !== null) return (this.handshake = h);
    }
    return this.handshake;
  }

  /** A hint from a router: under "auto", the first instance's hints decide the policy. */
  hint(from: Instance, hint: SharingHint): void {
    if (this.config.share !== "auto" || from !== this.decider) return;
    if (this.decision?.policy === hint.policy) return;
    this.decision = hint;
    this.log("info", `share = "auto": ${hint.policy} (${hint.reason})`);
    // One shared process that tells clients apart by the _meta stamped on each request.
    if (hint.policy === "session-aware") for (const i of this.pool.all()) i.router.setSessionAware(true);
    const first = this.deciderFirst;
    if (first !== null && first.inst === from) {
      if (hint.policy === "per-client" && this.pool.get(`client:${first.cid}`) === undefined) this.pool.rekey(from, `client:${first.cid}`);
      if (hint.policy === "per-workspace") this.keyByWorkspace(first, from);
    }
    // An instance nobody uses may have to go under the new policy (per client: at once).
    for (const i of [...this.pool.all()]) this.pool.settle(i);
    this.host.changed();
  }

  /** The first instance takes its first client's workspace as its key (asking its roots when it declared them). */
  private keyByWorkspace(c: Conn, inst: Instance): void {
    const caps = (c.init?.params as { capabilities?: Record<string, unknown> } | undefined)?.capabilities;
    if (caps?.roots == null) {
      c.workspace = workspaceOfCwd(c.cwd);
      if (this.pool.get(c.workspace) === undefined) this.pool.rekey(inst, c.workspace);
      return;
    }
    this.provisional = inst;
    this.pool.rekey(inst, `first:${c.cid}`);
    if (c.initDone) this.askRoots(c);
    else this.awaitInit(c);
  }
}

/** The probe's key in the pool, and the client id its handshake is sent under (no real client has it). */
const PROBE_KEY = "handshake";
export const PROBE_CID = 0;
const MAX_HELD = 1024;
