/** comparePathOrder (main/core/path-order.ts) must order paths exactly as comparePaths does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { comparePathOrder } from '../../main/core/path-order.ts';
import { comparePaths } from '../../main/core/tree.ts';

const segment = fc.oneof(
  fc.constantFrom('a', 'a-b', 'a.b', 'ab', 'b', '\u0001', ' ', '-', '.x', 'é', '日', '\uD83D\uDE80', 'A', '0'),
  fc.string({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes('/') && !s.includes('\0')),
);
const path = fc.oneof(
  fc.constant(''),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
);

test('comparePathOrder has the sign of comparePaths for every pair', () => {
  fc.assert(
    fc.property(path, path, (a, b) => {
      assert.equal(Math.sign(comparePathOrder(a, b)), Math.sign(comparePaths(a, b)), `${JSON.stringify([a, b])}`);
    }),
    { numRuns: 5000 },
  );
});

test('sorting with it gives the same order, parents first', () => {
  const paths = ['a/b', 'a-c', 'a', '', 'a/b/c', 'a\u0001', 'a/\u0001', 'b', 'a b/x', 'a/b-c', 'a/b/c/d'];
  assert.deepEqual([...paths].sort(comparePathOrder), [...paths].sort(comparePaths));
  assert.deepEqual([...paths].sort(comparePathOrder).slice(0, 5), ['', 'a', 'a/\u0001', 'a/b', 'a/b/c']);
});
