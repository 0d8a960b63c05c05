import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThroughputSeries } from '../../renderer/throughput-series.ts';

test('uploads are summed per second; tick closes the second', () => {
  const s = new ThroughputSeries(5);
  s.add(1000);
  s.add(24);
  assert.equal(s.last(), 0, 'nothing counted before the second closes');
  s.tick();
  assert.equal(s.last(), 1024);
  s.tick();
  assert.equal(s.last(), 0);
  assert.equal(s.peak(), 1024);
});

test('the window keeps only the last N seconds', () => {
  const s = new ThroughputSeries(3);
  s.add(500);
  s.tick();
  for (let i = 0; i < 3; i++) s.tick();
  assert.equal(s.peak(), 0, 'the 500-byte second slid out of the window');
});

test('bad byte counts are ignored', () => {
  const s = new ThroughputSeries(2);
  for (const b of [-5, Number.NaN, Number.POSITIVE_INFINITY]) s.add(b);
  s.tick();
  assert.equal(s.last(), 0);
});

test('area points: closed along the bottom, scaled to the peak, flat when idle', () => {
  const s = new ThroughputSeries(3);
  assert.equal(s.areaPoints(100, 30), '0,30 0,30 50,30 100,30 100,30');
  s.add(10);
  s.tick();
  s.add(5);
  s.tick();
  s.tick();
  // Oldest first: 10 (the peak, 2 px below the top), 5 (half way), 0.
  assert.equal(s.areaPoints(100, 30), '0,30 0,2 50,16 100,30 100,30');
});
