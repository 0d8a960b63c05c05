/**
 * The path helpers that run for every entry of a pass, written without splitting paths, must
 * say what their segment-by-segment definitions say: comparePathOrder (main/core/path-order.ts,
 * which tree.ts comparePaths uses) orders parents first, siblings by code unit; isSafeRelPath
 * refuses empty, "." and ".." segments and NUL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { comparePathOrder } from '../../main/core/path-order.ts';
import { comparePaths, isSafeRelPath } from '../../main/core/tree.ts';

/** The definition, spelled out: segment arrays compared one by one, a prefix first. */
function bySegments(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i] as string;
    const y = bs[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return as.length - bs.length;
}

const segment = fc.oneof(
  fc.constantFrom('a', 'a-b', 'a.b', 'ab', 'b', '\u0001', ' ', '-', '.x', 'é', '日', '\uD83D\uDE80', 'A', '0'),
  fc.string({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes('/') && !s.includes('\0')),
);
const path = fc.oneof(
  fc.constant(''),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
);

test('comparePathOrder and comparePaths have the sign of the segment-by-segment order for every pair', () => {
  fc.assert(
    fc.property(path, path, (a, b) => {
      assert.equal(Math.sign(comparePathOrder(a, b)), Math.sign(bySegments(a, b)), `${JSON.stringify([a, b])}`);
      assert.equal(Math.sign(comparePaths(a, b)), Math.sign(bySegments(a, b)), `${JSON.stringify([a, b])}`);
    }),
    { numRuns: 5000 },
  );
});

test('sorting with it gives the same order, parents first', () => {
  const paths = ['a/b', 'a-c', 'a', '', 'a/b/c', 'a\u0001', 'a/\u0001', 'b', 'a b/x', 'a/b-c', 'a/b/c/d'];
  assert.deepEqual([...paths].sort(comparePathOrder), [...paths].sort(bySegments));
  assert.deepEqual([...paths].sort(comparePaths), [...paths].sort(bySegments));
  assert.deepEqual([...paths].sort(comparePathOrder).slice(0, 5), ['', 'a', 'a/\u0001', 'a/b', 'a/b/c']);
});

test('isSafeRelPath says what the segment-by-segment rule says', () => {
  const byRule = (p: string) =>
    p === '' || (!p.includes('\0') && p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'));
  const piece = fc.constantFrom('a', '.', '..', '...', '.a', 'a.', '', '/', '\0', 'é', ' ', '..a');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
      const p = pieces.join('');
      assert.equal(isSafeRelPath(p), byRule(p), JSON.stringify(p));
    }),
    { numRuns: 5000 },
  );
  for (const p of ['a/b', '.a/..b', 'a..']) assert.equal(isSafeRelPath(p), true, p);
  for (const p of ['/a', 'a/', 'a//b', './a', 'a/..', '../a', 'a/./b', 'a\0b'])
    assert.equal(isSafeRelPath(p), false, p);
});
