/**
 * A server's instances, by key ("global", a workspace, "client:N"): which one a client joins, the
 * `max_instances` cap, and when an instance with no client left stops (at once, after `idle_timeout_ms`, or never).
 *
 * No I/O of its own: instances come from `create`, time from the injected timers, so the rules are unit-tested
 * on a hand-moved clock (test/runtime/pool.test.ts).
 */
import type { Timers } from "./supervisor.ts";

export interface Pooled {
  key: string;
  readonly clients: Set<number>;
  stop(why: string): Promise<void>;
}

export interface PoolRules<T extends Pooled> {
  max: number;
  create(key: string, cwd: string | undefined): T;
  /** How long an instance with no client left lives on: 0 at once, null for ever. */
  idleMs(inst: T): number | null;
  /** An instance retired (no client left, or its work done) has stopped: its process is gone. */
  retired(inst: T, why: string): void;
}

/** The server is stopping: no instance starts any more, so none can outlive it. */
export class PoolClosedError extends Error {
  constructor() {
    super("the server is stopping");
  }
}

export class InstanceCapError extends Error {
  constructor(
    readonly key: string,
    readonly max: number,
  ) {
    super(`max_instances (${max}) reached: no instance can start for ${key}; raise max_instances or share this server`);
  }
}

export class Pool<T extends Pooled> {
  private readonly byKey = new Map<string, T>();
  private closed = false;
  private readonly idle = new Map<T, unknown>();

  constructor(
    private readonly rules: PoolRules<T>,
    private readonly timers: Timers,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  all(): IterableIterator<T> {
    return this.byKey.values();
  }

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  /** The instance for `key`, started in `cwd` when there is none yet; past the cap, an `InstanceCapError`. */
  obtain(key: string, cwd: string | undefined): T {
    if (this.closed) throw new PoolClosedError();
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    if (this.byKey.size >= this.rules.max) throw new InstanceCapError(key, this.rules.max);
    const inst = this.rules.create(key, cwd);
    this.byKey.set(key, inst);
    return inst;
  }

  join(inst: T, cid: number): void {
    inst.clients.add(cid);
    this.cancelIdle(inst);
  }

  leave(inst: T, cid: number): void {
    if (!inst.clients.delete(cid) || inst.clients.size > 0 || this.byKey.get(inst.key) !== inst) return;
    this.settle(inst);
  }

  /** Apply the idle rule to an instance with no client (again, after the rules changed). */
  settle(inst: T): void {
    if (inst.clients.size > 0) return;
    this.cancelIdle(inst);
    const ms = this.rules.idleMs(inst);
    if (ms === null) return;
    if (ms === 0) return void this.retire(inst, "its last client left");
    this.idle.set(
      inst,
      this.timers.setTimer(ms, () => {
        this.idle.delete(inst);
        if (inst.clients.size === 0) this.retire(inst, `no client for ${ms} ms (idle_timeout_ms)`);
      }),
    );
  }

  /** Find `inst` under another key from now on (its first client's workspace became known). */
  rekey(inst: T, key: string): void {
    if (this.byKey.get(inst.key) === inst) this.byKey.delete(inst.key);
    inst.key = key;
    this.byKey.set(key, inst);
  }

  private cancelIdle(inst: T): void {
    const t = this.idle.get(inst);
    if (t === undefined) return;
    this.timers.clearTimer(t);
    this.idle.delete(inst);
  }

  /** Stop `inst` now and forget it. */
  retire(inst: T, why: string): void {
    this.cancelIdle(inst);
    if (this.byKey.get(inst.key) === inst) this.byKey.delete(inst.key);
    void inst.stop(why).then(() => this.rules.retired(inst, why));
  }

  /** Stop every instance (the server is going down). */
  async stopAll(why: string): Promise<void> {
    // A client placed while these stop (a probe's end, a late roots answer) must not start a new one.
    this.closed = true;
    for (const t of this.idle.values()) this.timers.clearTimer(t);
    this.idle.clear();
    const all = [...this.byKey.values()];
    this.byKey.clear();
    await Promise.all(all.map((i) => i.stop(why)));
  }
}
