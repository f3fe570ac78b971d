/** The accept gate on its own: a fake socket list and a hand-set descriptor count. */
import { describe, expect, test } from "bun:test";
import { AcceptGate, type Pausable } from "../../src/runtime/accept-gate.ts";

function fakeSocket() {
  const s = { paused: false, pauses: 0, resumes: 0, fail: false };
  const p: Pausable = {
    pause: () => {
      s.paused = true;
      s.pauses++;
    },
    resume: async () => {
      s.resumes++;
      if (s.fail) return false;
      s.paused = false;
      return true;
    },
  };
  return { s, p };
}

function setup(limit = 128) {
  let fds = 10;
  const logs: string[] = [];
  const gate = new AcceptGate();
  const sock = fakeSocket();
  gate.register(sock.p);
  gate.configure({ limit, countFds: () => fds, log: (level, m) => void logs.push(`${level} ${m}`), recheckMs: 60_000 });
  const open = (n: number) => {
    for (let i = 0; i < n; i++) {
      fds++;
      gate.opened();
    }
  };
  const close = (n: number) => {
    for (let i = 0; i < n; i++) {
      fds--;
      gate.closed();
    }
  };
  return { gate, sock: sock.s, logs, open, close, setFds: (n: number) => (fds = n), check: () => gate.check() };
}

describe("accept gate", () => {
  test("pauses at limit - reserve, once, and resumes below limit - 2 × reserve", async () => {
    const h = setup(128); // reserve 16: pause at 112 open, resume at 96
    expect(h.gate.reserve).toBe(16);
    h.open(101); // 111 open
    expect(h.sock.paused).toBe(false);
    h.open(1); // 112
    expect(h.sock.paused).toBe(true);
    h.open(5); // connections already in the queue still arrive: no second pause, no second log
    expect(h.sock.pauses).toBe(1);
    expect(h.logs.filter((l) => l.includes("not accepting connections"))).toHaveLength(1);
    expect(h.logs[0]).toMatch(/^warn 112 of 128 file descriptors open/);
    h.close(20); // 97: still above the resume mark
    await h.gate.settled();
    expect(h.sock.paused).toBe(true);
    h.close(1); // 96
    await h.gate.settled();
    expect(h.sock.paused).toBe(false);
    expect(h.logs.at(-1)).toMatch(/^info 96 file descriptors open: accepting connections again/);
    h.gate.dispose();
  });

  test("descriptors that are not connections count too (a child's pipes, files), at the next count", () => {
    const h = setup(128);
    h.setFds(105);
    h.check(); // the periodic count: no connection needs to arrive (a process out of descriptors accepts none)
    expect(h.sock.paused).toBe(false);
    h.open(7); // 112, though only 7 connections
    expect(h.sock.paused).toBe(true);
    h.gate.dispose();
  });

  test("a socket that cannot listen again stays paused and is tried again", async () => {
    const h = setup(128);
    const s = fakeSocket();
    h.gate.register(s.p);
    h.open(102);
    expect(s.s.paused).toBe(true);
    s.s.fail = true;
    h.close(30);
    await h.gate.settled();
    expect(h.gate.paused).toBe(true);
    s.s.fail = false;
    h.check();
    await h.gate.settled();
    expect(h.gate.paused).toBe(false);
    expect(s.s.paused).toBe(false);
    h.gate.dispose();
  });

  test("a socket registered while paused starts paused; an unconfigured gate only counts", () => {
    const h = setup(128);
    h.open(102);
    const late = fakeSocket();
    h.gate.register(late.p);
    expect(late.s.paused).toBe(true);
    h.gate.dispose();
    const idle = new AcceptGate();
    const s = fakeSocket();
    idle.register(s.p);
    for (let i = 0; i < 100_000; i++) idle.opened();
    expect(s.s.paused).toBe(false);
  });

  test("the reserve grows with the limit", () => {
    expect(setup(20_000).gate.reserve).toBe(1250);
    expect(setup(64).gate.reserve).toBe(16);
  });
});
