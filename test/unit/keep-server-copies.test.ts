import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepServerCopies } from '../../main/engine/keep-server-copies.ts';
import { reconcile } from '../../main/engine/reconcile.ts';
import { checkSafety } from '../../main/engine/safety.ts';
import type { Entry, Snapshot } from '../../main/core/tree.ts';

const dir: Entry = { kind: 'dir', mode: 0o755 };
const file = (size: number): Entry => ({ kind: 'file', size, mtimeMs: 1_000_000, mode: 0o644 });
const snap = (o: Record<string, Entry>): Snapshot => new Map<string, Entry>([['', dir], ...Object.entries(o)]);

/** 150 synced files in d/ plus an edited one; 120 of d/'s files deleted locally. */
function massDelete() {
  const all: Record<string, Entry> = { d: dir, 'edited.txt': file(1) };
  for (let i = 0; i < 150; i++) all[`d/f${i}`] = file(10);
  const kept: Record<string, Entry> = { d: dir, 'edited.txt': file(2) };
  for (let i = 120; i < 150; i++) kept[`d/f${i}`] = file(10);
  return { ancestor: snap(all), remote: snap(all), local: snap(kept) };
}

test('cancelling a mass delete turns every removal into a forget and keeps the other ops', () => {
  const s = massDelete();
  const plan = reconcile({ ...s, mode: 'push', scopes: [''] });
  assert.ok(
    checkSafety({ ancestor: s.ancestor, local: s.local, plan, fullScan: true, allowMassDelete: false }),
    'the plan halts first',
  );
  const kept = keepServerCopies(plan);
  assert.equal(kept.ops.filter((o) => o.op === 'remove').length, 0);
  assert.equal(kept.ops.filter((o) => o.op === 'forget').length, 120);
  assert.deepEqual(
    kept.ops.filter((o) => o.op === 'upload').map((o) => o.path),
    ['edited.txt'],
  );
  assert.equal(kept.deletedFiles, 0);
  assert.equal(
    checkSafety({ ancestor: s.ancestor, local: s.local, plan: kept, fullScan: true, allowMassDelete: false }),
    undefined,
  );
  // Ops stay in phase order for apply-plan.
  const phases = kept.ops.map((o) => o.op);
  assert.ok(phases.lastIndexOf('forget') < phases.indexOf('upload'));
});

test('after the forgets are applied, the next pass leaves the server copies alone (push)', () => {
  const s = massDelete();
  const kept = keepServerCopies(reconcile({ ...s, mode: 'push', scopes: [''] }));
  const ancestor = new Map(s.ancestor);
  for (const o of kept.ops) if (o.op === 'forget') ancestor.delete(o.path);
  ancestor.set('edited.txt', file(2));
  const remote = new Map(s.remote);
  remote.set('edited.txt', file(2));
  const next = reconcile({ ancestor, local: s.local, remote, mode: 'push', scopes: [''] });
  assert.deepEqual(
    next.ops.filter((o) => o.op !== 'adopt'),
    [],
  );
  assert.equal(next.deletedFiles, 0);
});

test('files that come back locally after a cancel are adopted, not uploaded again', () => {
  const s = massDelete();
  const kept = keepServerCopies(reconcile({ ...s, mode: 'push', scopes: [''] }));
  const ancestor = new Map(s.ancestor);
  for (const o of kept.ops) if (o.op === 'forget') ancestor.delete(o.path);
  const next = reconcile({ ancestor, local: s.remote, remote: s.remote, mode: 'push', scopes: [''] });
  assert.deepEqual(
    next.ops.filter((o) => o.op !== 'adopt'),
    [],
  );
  assert.equal(next.ops.filter((o) => o.op === 'adopt').length, 120);
});

test('a plan without removals comes back unchanged', () => {
  const s = massDelete();
  const plan = reconcile({ ancestor: s.ancestor, local: s.ancestor, remote: s.remote, mode: 'push', scopes: [''] });
  assert.deepEqual(keepServerCopies(plan), plan);
});

test('safety: an emptied root, once the user allows the deletes, no longer halts', () => {
  const ancestor = snap({ a: file(1) });
  const local = snap({});
  const plan = reconcile({ ancestor, local, remote: ancestor, mode: 'push', scopes: [''] });
  assert.deepEqual(checkSafety({ ancestor, local, plan, fullScan: true, allowMassDelete: false }), {
    kind: 'root-emptied',
    ancestorFiles: 1,
  });
  assert.equal(checkSafety({ ancestor, local, plan, fullScan: true, allowMassDelete: true }), undefined);
});
