/**
 * The dashboard's state, and the one pure function that changes it: status snapshots, connection
 * news, key presses and action results go in; a new model and at most one effect come out.
 * No terminal, no sockets, no clock: the tests drive it with plain values.
 */
import type { ControlAnswer } from "../control/protocol.ts";
import type { DaemonStatus } from "../runtime/status.ts";

export type Key = "up" | "down" | "restart" | "stop" | "start" | "quit" | "help" | "escape";
export type ActionCmd = "restart" | "stop" | "start";
export type Tone = "info" | "ok" | "error";

export interface Link {
  state: "connecting" | "connected" | "lost";
  /** Why the link is lost, and when the next attempt is. */
  detail: string | null;
}

/** One `served` reading on the daemon's own clock (its uptime), for requests per second. */
interface Sample {
  t: number;
  served: number;
}

export interface Model {
  socket: string;
  link: Link;
  status: DaemonStatus | null;
  selected: string | null;
  samples: Record<string, Sample[]>;
  rps: Record<string, number | null>;
  message: { text: string; tone: Tone } | null;
  help: boolean;
}

export type Msg =
  | { type: "status"; status: DaemonStatus }
  | { type: "connected" }
  | { type: "lost"; error: string; retryMs: number; attempt: number }
  | { type: "key"; key: Key }
  | { type: "sent"; cmd: ActionCmd; name: string }
  | { type: "result"; cmd: ActionCmd; name: string; pidBefore: number | null; answer: ControlAnswer };

export type Effect = { type: "send"; cmd: ActionCmd; name: string; pidBefore: number | null } | { type: "quit" } | null;

/** Readings older than this (daemon ms) drop out of the rate. */
export const RATE_WINDOW_MS = 5000;
/** A rate over less than this would be noise: shown as unknown. */
export const RATE_MIN_SPAN_MS = 900;

export function initialModel(socket: string): Model {
  return { socket, link: { state: "connecting", detail: null }, status: null, selected: null, samples: {}, rps: {}, message: null, help: false };
}

/** A terminal key (name, the character it typed, modifiers) as a dashboard key, or null. */
export function keyOf(name: string, sequence: string, ctrl: boolean): Key | null {
  if (ctrl) return name === "c" ? "quit" : null;
  const byChar: Record<string, Key> = { j: "down", k: "up", r: "restart", s: "stop", S: "start", q: "quit", "?": "help" };
  if (sequence.length === 1 && byChar[sequence]) return byChar[sequence];
  const byName: Record<string, Key> = { down: "down", up: "up", escape: "escape" };
  return byName[name] ?? null;
}

export function selectedServer(m: Model) {
  return m.status?.servers.find((s) => s.name === m.selected) ?? null;
}

export function update(m: Model, msg: Msg): [Model, Effect] {
  switch (msg.type) {
    case "status":
      return [onStatus(m, msg.status), null];
    case "connected":
      return [{ ...m, link: { state: "connected", detail: null } }, null];
    case "lost": {
      const detail = `${msg.error}; reconnecting in ${(msg.retryMs / 1000).toFixed(1)}s (attempt ${msg.attempt})`;
      return [{ ...m, link: { state: "lost", detail } }, null];
    }
    case "key":
      return onKey(m, msg.key);
    case "sent":
      return [{ ...m, message: { text: `${progressive(msg.cmd)} ${msg.name}…`, tone: "info" } }, null];
    case "result":
      return [{ ...m, message: resultMessage(msg) }, null];
  }
}

function onStatus(m: Model, status: DaemonStatus): Model {
  const names = status.servers.map((s) => s.name);
  const selected = m.selected !== null && names.includes(m.selected) ? m.selected : (names[0] ?? null);
  const samples: Record<string, Sample[]> = {};
  const rps: Record<string, number | null> = {};
  const sameDaemon = m.status?.pid === status.pid;
  for (const s of status.servers) {
    const prev = sameDaemon ? (m.samples[s.name] ?? []) : [];
    const fresh = prev.length > 0 && prev[prev.length - 1]!.served > s.served ? [] : prev;
    const recent = fresh.filter((p) => status.uptimeMs - p.t <= RATE_WINDOW_MS);
    // After a gap in the readings, the newest old one still gives a rate (over the gap).
    const kept = recent.length === 0 && fresh.length > 0 ? fresh.slice(-1) : recent;
    const list = [...kept, { t: status.uptimeMs, served: s.served }];
    samples[s.name] = list;
    const first = list[0]!;
    const span = status.uptimeMs - first.t;
    rps[s.name] = span >= RATE_MIN_SPAN_MS ? ((s.served - first.served) * 1000) / span : null;
  }
  return { ...m, status, selected, samples, rps, link: { state: "connected", detail: null } };
}

function onKey(m: Model, key: Key): [Model, Effect] {
  const names = m.status?.servers.map((s) => s.name) ?? [];
  const at = m.selected === null ? -1 : names.indexOf(m.selected);
  switch (key) {
    case "quit":
      return [m, { type: "quit" }];
    case "escape":
      return m.help ? [{ ...m, help: false }, null] : [m, { type: "quit" }];
    case "help":
      return [{ ...m, help: !m.help }, null];
    case "up":
    case "down": {
      if (names.length === 0) return [m, null];
      const next = key === "down" ? Math.min(at + 1, names.length - 1) : Math.max(at - 1, 0);
      return [{ ...m, selected: names[next] ?? null }, null];
    }
    case "restart":
    case "stop":
    case "start": {
      const server = selectedServer(m);
      if (m.link.state !== "connected" || server === null) {
        return [{ ...m, message: { text: `${key}: not connected to the daemon, nothing sent`, tone: "error" } }, null];
      }
      return [m, { type: "send", cmd: key, name: server.name, pidBefore: server.pid }];
    }
  }
}

function progressive(cmd: ActionCmd): string {
  return { restart: "restarting", stop: "stopping", start: "starting" }[cmd];
}

function resultMessage(msg: Extract<Msg, { type: "result" }>): { text: string; tone: Tone } {
  const { cmd, name, answer } = msg;
  if (!answer.ok) return { text: `${cmd} ${name} failed: ${answer.error}`, tone: "error" };
  const s = answer.server;
  const pid = (p: number | null | undefined) => (p === null || p === undefined ? "-" : String(p));
  if (cmd === "restart") return { text: `restarted ${name}: pid ${pid(msg.pidBefore)} → ${pid(s?.pid)}`, tone: "ok" };
  if (cmd === "stop") return { text: `stopped ${name} (was pid ${pid(msg.pidBefore)}); now ${s?.state ?? "?"}`, tone: "ok" };
  return { text: `started ${name}: ${s?.state ?? "?"}, pid ${pid(s?.pid)}`, tone: "ok" };
}
