import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextDelayMs, RetryBook } from '../../main/engine/backoff.ts';

const fixed = (r: number) => () => r;

describe('nextDelayMs', () => {
  it('doubles the cap each attempt (shown with the top of the jitter range)', () => {
    const almostOne = fixed(0.999999);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => nextDelayMs(a, { baseMs: 1000, random: almostOne })),
      [999, 1999, 3999, 7999, 15999],
    );
  });

  it('scales the cap by the random factor (full jitter)', () => {
    assert.equal(nextDelayMs(3, { baseMs: 1000, random: fixed(0.5) }), 2000);
    assert.equal(nextDelayMs(3, { baseMs: 1000, random: fixed(0.25) }), 1000);
    assert.equal(nextDelayMs(3, { baseMs: 1000, random: fixed(0) }), 0);
  });

  it('never exceeds maxMs, even for huge attempt numbers', () => {
    const opts = { baseMs: 1000, maxMs: 60_000, random: fixed(0.999999) };
    assert.equal(nextDelayMs(20, opts), 59_999);
    assert.equal(nextDelayMs(5000, opts), 59_999);
    assert.ok(nextDelayMs(10_000, { random: fixed(0.999999) }) < 5 * 60_000);
  });

  it('stays below the cap when random misbehaves and returns 1', () => {
    assert.equal(nextDelayMs(1, { baseMs: 1000, random: fixed(1) }), 999);
  });

  it('treats attempts below 1 as the first', () => {
    assert.equal(nextDelayMs(0, { random: fixed(0.5) }), 500);
    assert.equal(nextDelayMs(-3, { random: fixed(0.5) }), 500);
  });

  it('uses defaults of 1 s base and 5 min max', () => {
    assert.equal(nextDelayMs(1, { random: fixed(0.5) }), 500);
    assert.equal(nextDelayMs(30, { random: fixed(0.5) }), 150_000);
  });
});

describe('RetryBook', () => {
  it('records failures with growing delays and tracks the latest error', () => {
    const book = new RetryBook({ baseMs: 100, random: fixed(0.5) });
    const s1 = book.recordFailure('a.txt', 'Permission denied', 'permission-denied', 1000);
    assert.deepEqual(s1, {
      path: 'a.txt',
      error: 'Permission denied',
      errorCode: 'permission-denied',
      attempts: 1,
      nextAttemptAt: 1050,
    });
    const s2 = book.recordFailure('a.txt', 'No space left', 'no-space', 2000);
    assert.deepEqual(s2, {
      path: 'a.txt',
      error: 'No space left',
      errorCode: 'no-space',
      attempts: 2,
      nextAttemptAt: 2100,
    });
    assert.equal(book.recordFailure('a.txt', 'x', 'other', 3000).nextAttemptAt, 3200);
  });

  it('reports due paths parents-first and keeps them until cleared', () => {
    const book = new RetryBook({ baseMs: 100, random: fixed(0.5) });
    book.recordFailure('z', 'e', 'other', 0); // due at 50
    book.recordFailure('a/b', 'e', 'other', 0); // due at 50
    book.recordFailure('late', 'e', 'other', 100); // due at 150
    assert.deepEqual(book.due(49), []);
    assert.deepEqual(book.due(50), ['a/b', 'z']);
    assert.deepEqual(book.due(50), ['a/b', 'z'], 'due paths must stay until cleared');
    assert.deepEqual(book.due(150), ['a/b', 'late', 'z']);
    assert.equal(book.nextDueAt(), 50);
    book.clear('a/b');
    book.clear('z');
    book.clear('never-recorded');
    assert.deepEqual(book.due(1000), ['late']);
    assert.equal(book.nextDueAt(), 150);
    assert.equal(book.size, 1);
  });

  it('restarts the count after a clear', () => {
    const book = new RetryBook({ baseMs: 100, random: fixed(0.5) });
    book.recordFailure('p', 'e', 'other', 0);
    book.recordFailure('p', 'e', 'other', 0);
    book.clear('p');
    assert.equal(book.get('p'), undefined);
    assert.equal(book.recordFailure('p', 'e', 'other', 0).attempts, 1);
  });

  it('clearAll forgets every path', () => {
    const book = new RetryBook({ random: fixed(0.5) });
    book.recordFailure('a', 'e', 'other', 0);
    book.recordFailure('b', 'e', 'other', 0);
    book.clearAll();
    assert.deepEqual(book.list(), []);
    assert.deepEqual(book.due(Number.MAX_SAFE_INTEGER), []);
    assert.equal(book.recordFailure('a', 'e', 'other', 0).attempts, 1);
  });

  it('lists every failing path sorted parents-first', () => {
    const book = new RetryBook({ random: fixed(0) });
    for (const p of ['b', 'a/z', 'a']) book.recordFailure(p, `failed ${p}`, 'other', 5);
    assert.deepEqual(
      book.list().map((s) => [s.path, s.error, s.nextAttemptAt]),
      [
        ['a', 'failed a', 5],
        ['a/z', 'failed a/z', 5],
        ['b', 'failed b', 5],
      ],
    );
    assert.equal(new RetryBook().nextDueAt(), undefined);
  });

  it('settle forgets the paths a pass looked at and did not fail again, and nothing else', () => {
    // A due path that needed no operation any more (deleted meanwhile) used to stay in the
    // book, due on every turn of the loop: the folder cycled scanning/syncing and never got idle.
    const book = new RetryBook({ random: fixed(0.5) });
    for (const p of ['gone.txt', 'd/failed-again', 'd/synced', 'elsewhere/x']) book.recordFailure(p, 'e', 'other', 0);
    book.settle(['gone.txt', 'd'], new Set(['d/failed-again']));
    assert.deepEqual(
      book.list().map((s) => s.path),
      ['d/failed-again', 'elsewhere/x'],
    );
    book.settle([''], new Set());
    assert.deepEqual(book.list(), []);
  });

  it('retrySoon makes every pending retry due now and keeps the attempt counts', () => {
    const book = new RetryBook({ baseMs: 1000, random: fixed(0.999) });
    for (let i = 0; i < 8; i++) book.recordFailure('full-disk.bin', 'No space left on device', 'no-space', 0);
    book.recordFailure('early', 'e', 'other', 0);
    assert.deepEqual(book.due(1000), ['early']);
    book.retrySoon(1000);
    assert.deepEqual(book.due(1000), ['early', 'full-disk.bin']);
    assert.equal(book.get('full-disk.bin')?.attempts, 8);
    assert.equal(book.get('early')?.nextAttemptAt, 999, 'an already-due retry keeps its time');
    assert.equal(book.nextDueAt(), 999);
  });
});
