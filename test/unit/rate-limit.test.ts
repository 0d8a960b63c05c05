import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRate, parseRate, rsyncBwlimitArg, TokenBucket, type Clock } from '../../main/transport/rate-limit.ts';

/** A clock that only moves when someone sleeps on it. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
  return c;
}

test('parseRate reads K, M and G as powers of 1024 and refuses the rest with a sentence', () => {
  assert.equal(parseRate('500K'), 500 * 1024);
  assert.equal(parseRate('5M'), 5 * 1024 * 1024);
  assert.equal(parseRate('1.5m'), 1.5 * 1024 * 1024);
  assert.equal(parseRate('2G'), 2 * 1024 ** 3);
  assert.equal(parseRate('500KiB'), 500 * 1024);
  assert.equal(parseRate('500KB/s'), 500 * 1024);
  assert.equal(parseRate('4096'), 4096);
  assert.throws(() => parseRate('fast'), /"fast" is not a rate: give bytes per second like 500K/);
  assert.throws(() => parseRate('5X'), /not a rate/);
  assert.throws(() => parseRate('-5K'), /not a rate/);
  assert.throws(() => parseRate('100'), /below the smallest rate Ferry can keep, 1K/);
  assert.throws(() => parseRate('0'), /below the smallest rate/);
});

test("rsync's --bwlimit is whole KiB/s, rounded down so rsync stays at or below the rate", () => {
  assert.equal(rsyncBwlimitArg(500 * 1024), '--bwlimit=500');
  assert.equal(rsyncBwlimitArg(5 * 1024 * 1024), '--bwlimit=5120');
  assert.equal(rsyncBwlimitArg(1500), '--bwlimit=1');
  assert.equal(formatRate(500 * 1024), '500 KiB/s');
  assert.equal(formatRate(5 * 1024 * 1024), '5.0 MiB/s');
});

test('the token bucket lets bytes through at the rate, after one burst', async () => {
  const clock = fakeClock();
  const rate = 100_000;
  const bucket = new TokenBucket(rate, { clock });
  assert.equal(bucket.burst, 10_000);
  // 100 chunks of 32 KiB: 3,276,800 bytes. The first 10,000 are the burst; the rest wait.
  for (let i = 0; i < 100; i++) await bucket.take(32 * 1024);
  const sent = 100 * 32 * 1024;
  const elapsed = clock.t / 1000;
  // Bytes let through never exceed rate x time + one burst ...
  assert.ok(sent <= rate * elapsed + bucket.burst + 1, `${sent} bytes in ${elapsed} s`);
  // ... and the bucket does not hold back much more than that (within one ms of rounding per take).
  assert.ok(elapsed <= (sent - bucket.burst) / rate + 0.1, `${elapsed} s`);
});

test('the bound holds at every take, not just on average', async () => {
  const clock = fakeClock();
  const rate = 50_000;
  const bucket = new TokenBucket(rate, { clock });
  let sent = 0;
  const sizes = [1, 70_000, 3, 65_536, 10, 200_000, 4096, 4096, 4096, 128_000];
  for (const n of sizes) {
    await bucket.take(n);
    sent += n;
    // When take(n) resolves, the n bytes may go: everything so far is within rate x time + burst.
    assert.ok(sent <= (rate * clock.t) / 1000 + bucket.burst + n, `after ${sent} bytes at t=${clock.t}`);
    assert.ok(sent - n <= (rate * clock.t) / 1000 + bucket.burst, `before the last take at t=${clock.t}`);
  }
});

test('idle time refills the bucket only up to one burst', async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(10_000, { clock, burst: 1000 });
  await bucket.take(1000);
  assert.deepEqual(clock.sleeps, []);
  clock.t += 60_000; // a minute idle
  await bucket.take(1000);
  assert.deepEqual(clock.sleeps, [], 'one burst is free after idling');
  await bucket.take(5000);
  assert.deepEqual(clock.sleeps, [500], 'the rest waits: 5000 bytes at 10,000 B/s');
});

test('concurrent takes are served in order and share the rate', async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(1000, { clock, burst: 1 });
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((i) => bucket.take(1000).then(() => order.push(i))));
  assert.deepEqual(order, [1, 2, 3]);
  assert.ok(clock.t >= 2999, `three seconds' worth took ${clock.t} ms`);
});
