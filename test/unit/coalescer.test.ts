import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collapseDirtyPaths, DirtyPathCoalescer, type CoalescerTimers } from '../../main/engine/coalescer.ts';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements CoalescerTimers {
  #now = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  now(): number {
    return this.#now;
  }
  get pendingTimers(): number {
    return this.#timers.size;
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const t of this.#timers) if (t[1].at <= end && (next === undefined || t[1].at < next[1].at)) next = t;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}

function setup(opts: { quietMs?: number; maxDelayMs?: number; maxPerDir?: number; maxTotal?: number } = {}) {
  const clock = new FakeClock();
  const flushes: string[][] = [];
  const c = new DirtyPathCoalescer({ ...opts, timers: clock, onFlush: (p) => flushes.push(p) });
  return { clock, flushes, c };
}

const limits = { maxPerDir: 3, maxTotal: 5 };
const many = (dir: string, n: number) => Array.from({ length: n }, (_, i) => (dir === '' ? `f${i}` : `${dir}/f${i}`));

describe('collapseDirtyPaths', () => {
  const cases: { name: string; input: string[]; expected: string[] }[] = [
    { name: 'empty stays empty', input: [], expected: [] },
    { name: 'duplicates collapse', input: ['a', 'a', 'b/c', 'b/c'], expected: ['a', 'b/c'] },
    { name: 'descendant folds into dirty ancestor', input: ['a/b/c', 'a', 'a/d'], expected: ['a'] },
    { name: 'similar prefix is not an ancestor', input: ['a', 'ab/c', 'a-b'], expected: ['a', 'a-b', 'ab/c'] },
    { name: 'root absorbs everything', input: ['x/y', '', 'z'], expected: [''] },
    { name: 'exactly maxPerDir in one dir stays', input: many('d', 3), expected: many('d', 3) },
    { name: 'more than maxPerDir in one dir collapses to the dir', input: many('d', 4), expected: ['d'] },
    { name: 'crowded root collapses to root', input: many('', 4), expected: [''] },
    {
      name: 'collapse cascades when the parent becomes crowded',
      input: [...many('p/a', 4), 'p/b', 'p/c', 'p/d'],
      expected: ['p'],
    },
    {
      name: 'only direct children count toward maxPerDir',
      input: ['d/1/x', 'd/2/x', 'd/3/x', 'd/4/x'],
      expected: ['d/1/x', 'd/2/x', 'd/3/x', 'd/4/x'],
    },
    { name: 'nested but spread out stays', input: ['d/1/x', 'd/2/x', 'e/y'], expected: ['d/1/x', 'd/2/x', 'e/y'] },
    {
      name: 'more than maxTotal collapses to root',
      input: ['a/x', 'b/x', 'c/x', 'd/x', 'e/x', 'f/y'],
      expected: [''],
    },
    {
      name: 'exactly maxTotal stays',
      input: ['a/x', 'b/x', 'c/x', 'd/x', 'e/x'],
      expected: ['a/x', 'b/x', 'c/x', 'd/x', 'e/x'],
    },
    {
      name: 'sorted parents-first',
      input: ['b', 'a/z', 'a/b/c', 'A'],
      expected: ['A', 'a/b/c', 'a/z', 'b'],
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      assert.deepEqual(collapseDirtyPaths(t.input, limits), t.expected);
    });
  }

  it('never returns a path inside another and covers every input', () => {
    const input = ['a/b/c', 'a/b', 'x/1', 'x/2', 'x/3', 'x/4', 'y', 'y/z', 'q/r/s'];
    const out = collapseDirtyPaths(input, { maxPerDir: 3, maxTotal: 100 });
    for (const p of out)
      for (const q of out) if (p !== q) assert.ok(!(q === '' || p.startsWith(`${q}/`)), `${p} inside ${q}`);
    for (const p of input)
      assert.ok(
        out.some((q) => q === '' || p === q || p.startsWith(`${q}/`)),
        `${p} not covered`,
      );
    assert.deepEqual(out, ['a/b', 'q/r/s', 'x', 'y']);
  });
});

describe('DirtyPathCoalescer', () => {
  it('(a) collapses duplicate marks', () => {
    const { clock, flushes, c } = setup();
    c.mark('a.txt');
    c.mark('a.txt');
    c.mark('a.txt');
    clock.advance(30);
    assert.deepEqual(flushes, [['a.txt']]);
  });

  it('(b) folds a descendant into a dirty ancestor, and a dirty dir absorbs its descendants', () => {
    const { clock, flushes, c } = setup();
    c.mark('dir');
    c.mark('dir/sub/file');
    assert.equal(c.pendingCount, 1);
    clock.advance(30);
    c.mark('x/y/z');
    c.mark('x/w');
    c.mark('x');
    assert.equal(c.pendingCount, 1);
    clock.advance(30);
    assert.deepEqual(flushes, [['dir'], ['x']]);
  });

  it('(c) collapses more than maxPerDir entries in one directory into it', () => {
    const { clock, flushes, c } = setup({ maxPerDir: 4 });
    for (const p of many('src', 4)) c.mark(p);
    clock.advance(30);
    for (const p of many('src', 5)) c.mark(p);
    clock.advance(30);
    assert.deepEqual(flushes, [many('src', 4), ['src']]);
  });

  it('(d) collapses more than maxTotal paths to the root, keeping memory bounded', () => {
    const { clock, flushes, c } = setup({ maxPerDir: 1000, maxTotal: 10 });
    for (let i = 0; i < 11; i++) c.mark(`d${i}/f`);
    assert.equal(c.pendingCount, 1);
    c.mark('more/paths');
    assert.equal(c.pendingCount, 1);
    clock.advance(30);
    assert.deepEqual(flushes, [['']]);
  });

  it('(d) prefers a per-directory collapse over the root when that fits', () => {
    const { clock, flushes, c } = setup({ maxPerDir: 5, maxTotal: 10 });
    for (const p of many('big', 20)) c.mark(p);
    c.mark('other');
    clock.advance(30);
    assert.deepEqual(flushes, [['big', 'other']]);
  });

  it('(e) waits for a quiet window, but no longer than maxDelay', () => {
    const { clock, flushes, c } = setup({ quietMs: 30, maxDelayMs: 300 });
    c.mark('a');
    clock.advance(29);
    assert.equal(flushes.length, 0, 'flushed before the quiet window ended');
    clock.advance(1);
    assert.deepEqual(flushes, [['a']]);

    // A stream of marks 20 ms apart never leaves a 30 ms gap: held until maxDelay.
    let t = 0;
    for (; t < 280; t += 20) {
      c.mark(`s${t}`);
      clock.advance(20);
    }
    assert.equal(flushes.length, 1, 'flushed during a busy stream before maxDelay');
    c.mark('last');
    clock.advance(20);
    assert.equal(flushes.length, 2);
    assert.equal(flushes[1]?.length, 15);
    assert.ok(flushes[1]?.includes('last'));
  });

  it('(f) flushes parents-first with no path inside another', () => {
    const { clock, flushes, c } = setup();
    for (const p of ['z', 'a/b/c', 'a/b', 'm/n', '.hidden', 'a/a']) c.mark(p);
    clock.advance(30);
    assert.deepEqual(flushes, [['.hidden', 'a/a', 'a/b', 'm/n', 'z']]);
  });

  it('(g) flushNow flushes at once; dispose drops pending and ignores later marks', () => {
    const { clock, flushes, c } = setup();
    c.flushNow();
    assert.equal(flushes.length, 0, 'an empty batch was flushed');
    c.mark('a');
    c.flushNow();
    assert.deepEqual(flushes, [['a']]);
    assert.equal(clock.pendingTimers, 0);
    clock.advance(1000);
    assert.equal(flushes.length, 1, 'flushed the same batch twice');

    c.mark('b');
    c.dispose();
    assert.equal(clock.pendingTimers, 0);
    c.mark('c');
    c.flushNow();
    clock.advance(1000);
    assert.deepEqual(flushes, [['a']]);
  });

  it('(h) pause holds flushes; resume flushes what accumulated', () => {
    const { clock, flushes, c } = setup();
    c.pause();
    c.mark('a/b');
    c.mark('a');
    c.mark('c');
    clock.advance(10_000);
    assert.equal(flushes.length, 0, 'flushed while paused');
    c.resume();
    assert.deepEqual(flushes, [['a', 'c']]);
    c.mark('d');
    clock.advance(30);
    assert.deepEqual(flushes, [['a', 'c'], ['d']]);
  });

  it('marks an unsafe path as the root', () => {
    const { clock, flushes, c } = setup();
    c.mark('a/../../etc');
    c.mark('b');
    clock.advance(30);
    assert.deepEqual(flushes, [['']]);
  });

  it('a mark made from inside onFlush starts the next batch', () => {
    const clock = new FakeClock();
    const flushes: string[][] = [];
    const c = new DirtyPathCoalescer({
      timers: clock,
      onFlush: (p) => {
        flushes.push(p);
        if (flushes.length === 1) c.mark('again');
      },
    });
    c.mark('first');
    clock.advance(30);
    clock.advance(30);
    assert.deepEqual(flushes, [['first'], ['again']]);
  });
});
