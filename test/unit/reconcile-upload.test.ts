/** Upload mode: like push, but nothing on the server is ever deleted or moved. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Plan } from '../../main/core/plan.ts';
import type { Entry } from '../../main/core/tree.ts';
import { reconcile } from '../../main/engine/reconcile.ts';

const dir: Entry = { kind: 'dir', mode: 0o755 };
const file = (size: number, sec: number, hash?: string): Entry => ({
  kind: 'file',
  size,
  mtimeMs: sec * 1000,
  mode: 0o644,
  ...(hash ? { hash } : {}),
});
const snap = (o: Record<string, Entry>) => new Map<string, Entry>([['', dir], ...Object.entries(o)]);
const ops = (plan: Plan) =>
  plan.ops.map((o) => (o.op === 'rename' ? `rename ${o.from} -> ${o.to}` : `${o.op} ${o.path}`));

function plan(
  mode: 'push' | 'upload',
  ancestor: Record<string, Entry>,
  local: Record<string, Entry>,
  remote: Record<string, Entry>,
) {
  return reconcile({ ancestor: snap(ancestor), local: snap(local), remote: snap(remote), mode, scopes: [''] });
}

test('a local delete stays local: the server copy is forgotten, not removed', () => {
  const A = file(3, 100);
  assert.deepEqual(ops(plan('push', { a: A }, {}, { a: A })), ['remove a']);
  const p = plan('upload', { a: A }, {}, { a: A });
  assert.deepEqual(ops(p), ['forget a']);
  assert.equal(p.deletedFiles, 0);
});

test('a deleted directory stays on the server, with what it holds', () => {
  const A = file(3, 100);
  const before = { d: dir, 'd/a': A };
  assert.deepEqual(ops(plan('upload', before, {}, before)), ['forget d']);
});

test('a local rename uploads under the new name and leaves the old one', () => {
  const A = file(3, 100, 'h');
  assert.deepEqual(ops(plan('push', { a: A }, { b: A }, { a: A })), ['rename a -> b']);
  assert.deepEqual(ops(plan('upload', { a: A }, { b: A }, { a: A })).sort(), ['forget a', 'upload b']);
});

test('edits and new files are uploaded as in push mode', () => {
  const A = file(3, 100);
  const A2 = file(4, 200);
  assert.deepEqual(ops(plan('upload', { a: A }, { a: A2, n: A }, { a: A })).sort(), ['upload a', 'upload n']);
});
