/**
 * Creations whose outcome Ferry never learns (the connection cut after the server acted, or
 * Ferry killed before saving its index) are recorded in the ancestor before Ferry acts. The
 * soak found what happened without that: the server kept, for ever, directories Ferry had
 * made and the user had deleted meanwhile, since Ferry took them for someone else's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plannedCreations } from '../../main/engine/journal.ts';
import type { Plan, PlanOp } from '../../main/core/plan.ts';
import { reconcile } from '../../main/engine/reconcile.ts';
import type { DirEntry, Entry, FileEntry } from '../../main/core/tree.ts';

const dir = (mode = 0o755): DirEntry => ({ kind: 'dir', mode });
const file = (size: number, mtimeSec: number, hash?: string): FileEntry => ({
  kind: 'file',
  size,
  mtimeMs: mtimeSec * 1000,
  mode: 0o644,
  ...(hash ? { hash } : {}),
});
const snap = (o: Record<string, Entry>) => new Map<string, Entry>([['', dir()], ...Object.entries(o)]);
const plan = (ops: PlanOp[]): Plan => ({ ops, conflicts: [], drift: [], deletedFiles: 0 });
const serverOps = (p: Plan) =>
  p.ops
    .filter((o) => o.op !== 'adopt' && o.op !== 'forget')
    .map((o) => `${o.op} ${o.op === 'rename' ? `${o.from} -> ${o.to}` : o.path}`);

test('plannedCreations lists new paths and renamed subtrees, parents first, and leaves out replaced paths', () => {
  const ancestor = snap({
    old: dir(),
    'old/f': file(1, 1, 'h'),
    taken: file(2, 2, 'h2'),
    busy: dir(),
    'busy/x': file(3, 3),
  });
  const got = plannedCreations(
    plan([
      { op: 'mkdir', path: 'n', entry: dir(), keepRemoteCopy: false },
      { op: 'upload', path: 'n/a.txt', entry: file(5, 5), keepRemoteCopy: false },
      { op: 'rename', from: 'old', to: 'moved', kind: 'dir' },
      { op: 'upload', path: 'taken', entry: file(9, 9), keepRemoteCopy: false }, // known: an overwrite
      { op: 'clear', path: 'busy', kind: 'dir' },
      { op: 'upload', path: 'busy', entry: file(4, 4), keepRemoteCopy: false }, // replaces a dir
      { op: 'mkdir', path: 'clash', entry: dir(), keepRemoteCopy: true }, // server copy kept aside
      { op: 'upload', path: 'clash/in.txt', entry: file(6, 6), keepRemoteCopy: false },
      { op: 'upload', path: 'nowhere/x', entry: file(7, 7), keepRemoteCopy: false }, // unknown parent
    ]),
    ancestor,
  );
  assert.deepEqual(
    got.map(([p]) => p),
    ['moved', 'moved/f', 'n', 'n/a.txt'],
  );
});

test('a creation that landed but was never recorded follows a later local delete', () => {
  // Ferry made "ghost/" and "ghost/x" (recorded as planned creations), the outcome was lost,
  // then the user deleted the directory: the server copy goes too.
  const ancestor = snap({ ghost: dir(), 'ghost/x': file(10, 100) });
  const p = reconcile({
    ancestor,
    local: snap({}),
    remote: snap({ ghost: dir(), 'ghost/x': file(10, 100) }),
    mode: 'push',
    scopes: [''],
  });
  assert.deepEqual(serverOps(p), ['remove ghost']);
});

test('a creation that never happened is made again, or forgotten when the local side is gone too', () => {
  const ancestor = snap({ n: dir(), 'n/a.txt': file(5, 5), gone: file(6, 6) });
  const p = reconcile({
    ancestor,
    local: snap({ n: dir(), 'n/a.txt': file(5, 5) }),
    remote: snap({}),
    mode: 'push',
    scopes: [''],
  });
  assert.deepEqual(serverOps(p), ['mkdir n', 'upload n/a.txt']);
  assert.ok(p.ops.some((o) => o.op === 'forget' && o.path === 'gone'));
});
