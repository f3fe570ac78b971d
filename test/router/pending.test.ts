import { describe, expect, test } from "bun:test";
import { append, PendingTable, unlink, type Chain, type Linked } from "../../src/router/pending.ts";

interface E extends Linked<E> {
  bid: number;
}
const e = (bid: number): E => ({ bid, prev: null, next: null });
const bids = (xs: E[]) => xs.map((x) => x.bid);

describe("PendingTable", () => {
  test("finds, takes and lists entries; a taken id is gone", () => {
    const t = new PendingTable<E>(8);
    for (const b of [3, 1, 2]) t.add(e(b));
    expect(t.size).toBe(3);
    expect(t.get(2)?.bid).toBe(2);
    expect(t.get(4)).toBeUndefined();
    expect(bids(t.list())).toEqual([1, 2, 3]);
    expect(t.take(2)?.bid).toBe(2);
    expect(t.take(2)).toBeUndefined();
    expect(t.get(2)).toBeUndefined();
    expect(t.size).toBe(2);
  });

  test("an id whose slot holds an older open entry is still found, and the slot's owner too", () => {
    const t = new PendingTable<E>(8);
    t.add(e(1));
    t.add(e(9)); // 9 & 7 === 1: same slot as 1
    t.add(e(17));
    expect(t.get(1)?.bid).toBe(1);
    expect(t.get(9)?.bid).toBe(9);
    expect(t.get(17)?.bid).toBe(17);
    expect(t.take(1)?.bid).toBe(1);
    // the slot is free now, but 9 and 17 live elsewhere: they must still be found, and taken once
    expect(t.get(9)?.bid).toBe(9);
    expect(t.take(17)?.bid).toBe(17);
    expect(t.take(17)).toBeUndefined();
    expect(bids(t.list())).toEqual([9]);
    expect(t.size).toBe(1);
  });

  test("grows when collisions pile up, keeping every entry", () => {
    const t = new PendingTable<E>(8);
    // one long-lived entry per slot, then a stream of newer ids that all collide
    for (let b = 0; b < 200; b++) t.add(e(b));
    expect(t.capacity).toBeGreaterThan(8);
    for (let b = 0; b < 200; b++) expect(t.get(b)?.bid).toBe(b);
    expect(t.size).toBe(200);
    expect(bids(t.list())).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test("stays one slot per id in the steady state of a pipelining client", () => {
    const t = new PendingTable<E>(64);
    for (let b = 1; b <= 100_000; b++) {
      t.add(e(b));
      if (b > 32) expect(t.take(b - 32)?.bid).toBe(b - 32);
    }
    expect(t.size).toBe(32);
    expect(t.capacity).toBe(64);
  });

  test("clear empties it", () => {
    const t = new PendingTable<E>(4);
    for (let b = 0; b < 10; b++) t.add(e(b));
    t.clear();
    expect(t.size).toBe(0);
    expect(t.list()).toEqual([]);
    expect(t.get(3)).toBeUndefined();
  });
});

describe("a client's chain", () => {
  const chain = (): Chain<E> => ({ first: null, last: null, open: 0 });
  const walk = (c: Chain<E>) => {
    const out: number[] = [];
    for (let p = c.first; p !== null; p = p.next) out.push(p.bid);
    const back: number[] = [];
    for (let p = c.last; p !== null; p = p.prev) back.push(p.bid);
    expect(back.reverse()).toEqual(out);
    return out;
  };

  test("keeps insertion order; removing the first, a middle and the last entry", () => {
    const c = chain();
    const xs = [1, 2, 3, 4].map(e);
    for (const x of xs) append(c, x);
    expect(walk(c)).toEqual([1, 2, 3, 4]);
    unlink(c, xs[1] as E);
    expect(walk(c)).toEqual([1, 3, 4]);
    unlink(c, xs[0] as E);
    expect(walk(c)).toEqual([3, 4]);
    unlink(c, xs[3] as E);
    expect(walk(c)).toEqual([3]);
    expect(c.open).toBe(1);
    unlink(c, xs[2] as E);
    expect(walk(c)).toEqual([]);
    expect(c.open).toBe(0);
  });

  test("removing an entry twice (or one never added) changes nothing", () => {
    const c = chain();
    const [a, b] = [e(1), e(2)];
    append(c, a);
    append(c, b);
    unlink(c, a);
    unlink(c, a);
    unlink(c, e(3));
    expect(walk(c)).toEqual([2]);
    expect(c.open).toBe(1);
  });
});
