/** The child's lifecycle as decisions, driven by a hand-moved clock: no process is started. */
import { describe, expect, test } from "bun:test";
import { Supervisor, type SupervisorEffects } from "../../src/runtime/supervisor.ts";
import { ManualClock } from "../router/harness.ts";

const OPTS = { restart_backoff_ms: 100, restart_backoff_max_ms: 1000, max_restarts: 3, stable_run_ms: 5000 };

function setup(opts = OPTS, spawnErrors: string[] = []) {
  const clock = new ManualClock();
  const events: string[] = [];
  let nextPid = 100;
  const ended: number[] = [];
  const fx: SupervisorEffects = {
    spawn: () => {
      const error = spawnErrors.shift();
      if (error !== undefined) return { error };
      events.push(`spawn ${nextPid}`);
      return { pid: nextPid++ };
    },
    endChild: async () => {
      ended.push(sv.childPid as number);
    },
    backendStarted: () => events.push("started"),
    backendExited: (why, willRestart) => events.push(`exited(${willRestart ? "restart" : "final"}): ${why}`),
    backendStopped: () => events.push("stopped"),
    log: () => {},
    changed: () => {},
  };
  const sv: Supervisor = new Supervisor(opts, fx, clock);
  const take = () => events.splice(0);
  return { sv, clock, take, ended };
}

describe("supervisor", () => {
  test("a crash backs off, doubling, and the next child starts when the delay is over", () => {
    const { sv, clock, take } = setup();
    sv.want();
    expect(take()).toEqual(["spawn 100", "started"]);
    sv.childExited("exit code 1");
    expect(take()).toEqual(["exited(restart): exit code 1"]);
    expect(sv.backingOff).toBe(true);
    expect(sv.statusReason).toBe("exit code 1; restarting in 100 ms");
    clock.advance(99);
    expect(take()).toEqual([]);
    clock.advance(1);
    expect(take()).toEqual(["spawn 101", "started"]);
    expect(sv.restarts).toBe(1);
    expect(sv.lastRestartReason).toBe("exit code 1");
    expect(sv.statusReason).toBeNull();
    sv.childExited("exit code 1");
    expect(sv.statusReason).toBe("exit code 1; restarting in 200 ms");
  });

  test("max_restarts consecutive failed runs, then it gives up: a final exit and no more children", () => {
    const { sv, clock, take } = setup({ ...OPTS, max_restarts: 2 });
    sv.want();
    for (let i = 0; i < 2; i++) {
      sv.childExited("exit code 7");
      clock.advance(1000);
    }
    take();
    sv.childExited("exit code 7");
    expect(take()).toEqual(["exited(final): exit code 7; gave up after 3 failed runs (max_restarts=2)"]);
    expect(sv.backingOff).toBe(false);
    clock.advance(10_000);
    expect(take()).toEqual([]);
    // an operator's start tries again, with a fresh count
    sv.startChild();
    expect(take()).toEqual(["spawn 103", "started"]);
  });

  test("a run that lasted stable_run_ms resets the count of failures", () => {
    const { sv, clock, take } = setup({ ...OPTS, max_restarts: 1 });
    sv.want();
    sv.childExited("exit code 1");
    clock.advance(100);
    clock.advance(6000); // the second child runs past stable_run_ms
    take();
    sv.childExited("exit code 1");
    expect(take()).toEqual(["exited(restart): exit code 1"]);
    expect(sv.statusReason).toBe("exit code 1; restarting in 100 ms");
  });

  test("an operator's restart replaces the child at once and is not a failure", async () => {
    const { sv, take, ended } = setup({ ...OPTS, max_restarts: 1 });
    sv.want();
    take();
    await sv.restart("restarted by an operator");
    expect(ended).toEqual([100]);
    sv.childExited("exit code 0");
    expect(take()).toEqual(["exited(restart): restarted by an operator", "spawn 101", "started"]);
    expect(sv.restarts).toBe(1);
    // a crash now is the first failure, not the second
    sv.childExited("exit code 1");
    expect(take()).toEqual(["exited(restart): exit code 1"]);
  });

  test("an unhealthy child is ended and its run counts as failed, under the unhealthy reason", async () => {
    const { sv, take, ended } = setup();
    sv.want();
    take();
    await sv.replaceUnhealthy("heartbeat: 3 pings in a row got no answer");
    await sv.replaceUnhealthy("again"); // already being ended: once only
    expect(ended).toEqual([100]);
    sv.childExited("killed by SIGTERM");
    expect(take()).toEqual(["exited(restart): heartbeat: 3 pings in a row got no answer"]);
    expect(sv.backingOff).toBe(true);
  });

  test("operator stop: the backend is stopped, nothing restarts it (not even a client), start brings it back", async () => {
    const { sv, clock, take } = setup();
    sv.want();
    take();
    await sv.stopChild();
    expect(take()).toEqual(["stopped"]);
    sv.childExited("exit code 0");
    expect(take()).toEqual(["exited(final): stopped by an operator", "stopped"]);
    sv.want();
    clock.advance(10_000);
    expect(take()).toEqual([]);
    sv.startChild();
    expect(take()).toEqual(["spawn 101", "started"]);
  });

  test("a child that cannot be spawned is a failed run too", () => {
    const { sv, clock, take } = setup(OPTS, ["command not found: nope"]);
    sv.want();
    expect(take()).toEqual(["exited(restart): command not found: nope"]);
    clock.advance(100);
    expect(take()).toEqual(["spawn 100", "started"]);
  });

  test("stopping: what is open fails with the reason, and the child's exit starts nothing", async () => {
    const { sv, clock, take, ended } = setup();
    sv.want();
    take();
    await sv.stop("the daemon is shutting down");
    expect(ended).toEqual([100]);
    sv.childExited("exit code 0");
    expect(take()).toEqual(["exited(final): the daemon is shutting down", "exited(final): the daemon is shutting down"]);
    sv.want();
    sv.startChild();
    await sv.restart("x");
    clock.advance(10_000);
    expect(take()).toEqual([]);
  });

  test("a crash during backoff's wait is impossible, but a restart during it starts at once and cancels the timer", async () => {
    const { sv, clock, take } = setup();
    sv.want();
    sv.childExited("exit code 1");
    take();
    await sv.restart("restarted by an operator");
    expect(take()).toEqual(["spawn 101", "started"]);
    clock.advance(1000);
    expect(take()).toEqual([]); // the cancelled backoff timer spawns nothing
  });
});
