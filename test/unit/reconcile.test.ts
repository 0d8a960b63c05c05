import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, renameCandidates } from '../../main/engine/reconcile.ts';
import { checkSafety } from '../../main/engine/safety.ts';
import type { Plan, PlanOp } from '../../main/core/plan.ts';
import { ancestorsOf, pathsBelowNonDirectories, type Entry } from '../../main/core/tree.ts';

const dir = (mode = 0o755): Entry => ({ kind: 'dir', mode });
const file = (size: number, mtimeSec: number, hash?: string, mode = 0o644): Entry => ({
  kind: 'file',
  size,
  mtimeMs: mtimeSec * 1000,
  mode,
  ...(hash ? { hash } : {}),
});
const link = (target: string): Entry => ({ kind: 'symlink', target });
const snap = (o: Record<string, Entry>) => new Map<string, Entry>([['', dir()], ...Object.entries(o)]);

/** Compact, order-preserving description of the server ops of a plan. */
function serverOps(plan: Plan): string[] {
  return plan.ops
    .filter((o) => o.op !== 'adopt' && o.op !== 'forget')
    .map((o: PlanOp) => {
      switch (o.op) {
        case 'rename':
          return `rename ${o.from} -> ${o.to}`;
        case 'upload':
        case 'mkdir':
        case 'symlink':
          return `${o.op} ${o.path}${o.keepRemoteCopy ? ' (keep remote copy)' : ''}`;
        default:
          return `${o.op} ${o.path}`;
      }
    });
}
const conflictsOf = (plan: Plan) => plan.conflicts.map((c) => `${c.kind} ${c.path} ${c.resolution}`);

interface Row {
  name: string;
  ancestor: Record<string, Entry>;
  local: Record<string, Entry>;
  remote: Record<string, Entry>;
  /** Push and mirror; upload mode has its own cases (reconcile-upload.test.ts). */
  expect: Record<'push' | 'mirror', { ops: string[]; conflicts?: string[]; drift?: string[] }>;
}

const A = file(10, 100, 'h-a');
const A2 = file(12, 200, 'h-a2');
const R2 = file(14, 300);

const table: Row[] = [
  {
    name: 'nothing changed',
    ancestor: { a: A },
    local: { a: A },
    remote: { a: file(10, 100) },
    expect: { push: { ops: [] }, mirror: { ops: [] } },
  },
  {
    name: 'new local file',
    ancestor: {},
    local: { a: A },
    remote: {},
    expect: { push: { ops: ['upload a'] }, mirror: { ops: ['upload a'] } },
  },
  {
    name: 'local edit, server untouched',
    ancestor: { a: A },
    local: { a: A2 },
    remote: { a: file(10, 100) },
    expect: { push: { ops: ['upload a'] }, mirror: { ops: ['upload a'] } },
  },
  {
    name: 'local edit in the same second as the last sync, same size (server untouched)',
    ancestor: { a: file(10, 100, 'h-a') },
    local: { a: { kind: 'file', size: 10, mtimeMs: 100_400, mode: 0o644 } },
    remote: { a: file(10, 100) },
    expect: { push: { ops: ['upload a'] }, mirror: { ops: ['upload a'] } },
  },
  {
    name: 'edited on both sides',
    ancestor: { a: A },
    local: { a: A2 },
    remote: { a: R2 },
    expect: {
      push: { ops: ['upload a (keep remote copy)'], conflicts: ['both-modified a kept-remote-copy'] },
      mirror: { ops: ['upload a'] },
    },
  },
  {
    name: 'local delete, server untouched',
    ancestor: { a: A },
    local: {},
    remote: { a: file(10, 100) },
    expect: { push: { ops: ['remove a'] }, mirror: { ops: ['remove a'] } },
  },
  {
    name: 'local delete of a file changed on the server',
    ancestor: { a: A },
    local: {},
    remote: { a: R2 },
    expect: {
      push: { ops: [], conflicts: ['local-delete-remote-modified a skipped-local-delete'] },
      mirror: { ops: ['remove a'] },
    },
  },
  {
    name: 'changed on the server only',
    ancestor: { a: A },
    local: { a: A },
    remote: { a: R2 },
    expect: { push: { ops: [], drift: ['a'] }, mirror: { ops: ['upload a'] } },
  },
  {
    name: 'deleted on the server only',
    ancestor: { a: A },
    local: { a: A },
    remote: {},
    expect: { push: { ops: ['upload a'] }, mirror: { ops: ['upload a'] } },
  },
  {
    name: 'extra file on the server',
    ancestor: {},
    local: {},
    remote: { x: R2 },
    expect: { push: { ops: [] }, mirror: { ops: ['remove x'] } },
  },
  {
    name: 'created on both sides, different',
    ancestor: {},
    local: { a: A2 },
    remote: { a: R2 },
    expect: {
      push: { ops: ['upload a (keep remote copy)'], conflicts: ['both-created a kept-remote-copy'] },
      mirror: { ops: ['upload a'] },
    },
  },
  {
    name: 'created on both sides, same (first sync onto an rsync copy)',
    ancestor: {},
    local: { a: A },
    remote: { a: file(10, 100) },
    expect: { push: { ops: [] }, mirror: { ops: [] } },
  },
  {
    name: 'file renamed locally',
    ancestor: { a: A },
    local: { b: A },
    remote: { a: file(10, 100) },
    expect: { push: { ops: ['rename a -> b'] }, mirror: { ops: ['rename a -> b'] } },
  },
  {
    name: 'file renamed but changed on the server: no rename',
    ancestor: { a: A },
    local: { b: A },
    remote: { a: R2 },
    expect: {
      push: { ops: ['upload b'], conflicts: ['local-delete-remote-modified a skipped-local-delete'] },
      mirror: { ops: ['upload b', 'remove a'] },
    },
  },
  {
    name: 'directory renamed locally',
    ancestor: { d: dir(), 'd/x': A, 'd/s': dir(), 'd/s/y': A2 },
    local: { e: dir(), 'e/x': A, 'e/s': dir(), 'e/s/y': A2 },
    remote: { d: dir(), 'd/x': file(10, 100), 'd/s': dir(), 'd/s/y': file(12, 200) },
    expect: { push: { ops: ['rename d -> e'] }, mirror: { ops: ['rename d -> e'] } },
  },
  {
    // Found by the soak: the rename matched on sizes and mtimes, the server kept the moved
    // tree's old modes, and Ferry reported in sync until the next full pass.
    name: 'directory renamed locally with new modes on it and inside it',
    ancestor: { d: dir(0o775), 'd/x': A, 'd/s': dir(), 'd/s/y': A2 },
    local: { e: dir(0o755), 'e/x': file(10, 100, 'h-a', 0o600), 'e/s': dir(), 'e/s/y': A2 },
    remote: { d: dir(0o775), 'd/x': file(10, 100), 'd/s': dir(), 'd/s/y': file(12, 200) },
    expect: {
      push: { ops: ['rename d -> e', 'setAttributes e', 'setAttributes e/x'] },
      mirror: { ops: ['rename d -> e', 'setAttributes e', 'setAttributes e/x'] },
    },
  },
  {
    // On the server d/x is wherever the link points: nothing below d may be touched.
    name: 'server replaced a directory by a symlink, nothing changed locally',
    ancestor: { d: dir(), 'd/x': A },
    local: { d: dir(), 'd/x': A },
    remote: { d: link('/elsewhere') },
    expect: { push: { ops: [], drift: ['d'] }, mirror: { ops: ['clear d', 'mkdir d', 'upload d/x'] } },
  },
  {
    name: 'server replaced a directory by a symlink, a file below changed locally: conflict, the link kept aside',
    ancestor: { d: dir(), 'd/x': A },
    local: { d: dir(), 'd/x': A2 },
    remote: { d: link('/elsewhere') },
    expect: {
      push: { ops: ['mkdir d (keep remote copy)', 'upload d/x'], conflicts: ['both-modified d kept-remote-copy'] },
      mirror: { ops: ['clear d', 'mkdir d', 'upload d/x'] },
    },
  },
  {
    name: 'directory deleted locally, server intact: one tree removal',
    ancestor: { d: dir(), 'd/x': A, 'd/s': dir(), 'd/s/y': A2 },
    local: {},
    remote: { d: dir(), 'd/x': file(10, 100), 'd/s': dir(), 'd/s/y': file(12, 200) },
    expect: { push: { ops: ['remove d'] }, mirror: { ops: ['remove d'] } },
  },
  {
    name: 'directory deleted locally, one file changed on the server',
    ancestor: { d: dir(), 'd/x': A, 'd/y': A2 },
    local: {},
    remote: { d: dir(), 'd/x': file(10, 100), 'd/y': R2 },
    expect: {
      push: { ops: ['remove d/x'], conflicts: ['local-delete-remote-modified d/y skipped-local-delete'] },
      mirror: { ops: ['remove d'] },
    },
  },
  {
    // A removal of d cut short (read-only directory, lost connection) left part of it on the
    // server; Ferry once kept those directories for ever, empty and forgotten.
    name: 'directory deleted locally, its server copy already partly removed',
    ancestor: { d: dir(), 'd/x': A, 'd/s': dir(), 'd/s/y': A2, 'd/s/t': dir() },
    local: {},
    remote: { d: dir(), 'd/s': dir(), 'd/s/t': dir() },
    expect: { push: { ops: ['remove d'] }, mirror: { ops: ['remove d'] } },
  },
  {
    name: 'directory deleted locally, a file added below it on the server',
    ancestor: { d: dir(), 'd/x': A },
    local: {},
    remote: { d: dir(), 'd/x': file(10, 100), 'd/new': R2 },
    expect: { push: { ops: ['remove d/x'] }, mirror: { ops: ['remove d'] } },
  },
  {
    name: 'directory replaced by a file locally, its server copy already partly removed',
    ancestor: { d: dir(), 'd/x': A, 'd/y': A2 },
    local: { d: A2 },
    remote: { d: dir(), 'd/y': file(12, 200) },
    expect: { push: { ops: ['clear d', 'upload d'] }, mirror: { ops: ['clear d', 'upload d'] } },
  },
  {
    name: 'file replaced by a directory locally',
    ancestor: { a: A },
    local: { a: dir(), 'a/x': A2 },
    remote: { a: file(10, 100) },
    expect: {
      push: { ops: ['clear a', 'mkdir a', 'upload a/x'] },
      mirror: { ops: ['clear a', 'mkdir a', 'upload a/x'] },
    },
  },
  {
    name: 'symlink retargeted',
    ancestor: { l: link('x') },
    local: { l: link('y') },
    remote: { l: link('x') },
    expect: { push: { ops: ['symlink l'] }, mirror: { ops: ['symlink l'] } },
  },
  {
    name: 'mode changed locally only',
    ancestor: { a: A },
    local: { a: file(10, 100, undefined, 0o755) },
    remote: { a: file(10, 100) },
    expect: { push: { ops: ['setAttributes a'] }, mirror: { ops: ['setAttributes a'] } },
  },
  {
    name: 'new nested tree: parents first, removals last and deepest first',
    ancestor: { old: dir(), 'old/deep': dir(), 'old/deep/f': A, keep: dir() },
    local: { keep: dir(), n: dir(), 'n/m': dir(), 'n/m/f': A2 },
    remote: { old: dir(), 'old/deep': dir(), 'old/deep/f': file(10, 100), 'old/extra': R2, keep: dir() },
    expect: {
      push: { ops: ['mkdir n', 'mkdir n/m', 'upload n/m/f', 'remove old/deep'] },
      mirror: { ops: ['mkdir n', 'mkdir n/m', 'upload n/m/f', 'remove old'] },
    },
  },
];

for (const row of table) {
  for (const mode of ['push', 'mirror'] as const) {
    test(`reconcile [${mode}] ${row.name}`, () => {
      const plan = reconcile({
        ancestor: snap(row.ancestor),
        local: snap(row.local),
        remote: snap(row.remote),
        mode,
        scopes: [''],
      });
      const want = row.expect[mode];
      assert.deepEqual(serverOps(plan), want.ops);
      assert.deepEqual(conflictsOf(plan), want.conflicts ?? []);
      assert.deepEqual(plan.drift, want.drift ?? []);
    });
  }
}

test('no op is ever planned below a server symlink that the plan does not clear or move aside first', () => {
  // A snapshot that lists entries below a link cannot come from Ferry's scans; the planner
  // still refuses to act there (the last guard).
  const plan = reconcile({
    ancestor: snap({ s: link('/etc'), t: dir() }),
    local: snap({ s: link('/etc'), 's/passwd': file(3, 1, 'h'), t: dir(), 't/y': A }),
    remote: snap({ s: link('/etc'), t: dir() }),
    mode: 'mirror',
    scopes: [''],
  });
  assert.deepEqual(serverOps(plan), ['upload t/y']);
});

test('reconcile creates the remote root when it is missing', () => {
  const plan = reconcile({ ancestor: new Map(), local: snap({ a: A }), remote: new Map(), mode: 'push', scopes: [''] });
  assert.deepEqual(serverOps(plan), ['mkdir ', 'upload a']);
});

test('reconcile ignores everything outside the scopes', () => {
  const plan = reconcile({
    ancestor: snap({ a: A, d: dir(), 'd/b': A }),
    local: snap({ d: dir(), 'd/b': A2 }), // "a" is missing locally, but only "d" was rescanned
    remote: snap({ d: dir(), 'd/b': file(10, 100) }),
    mode: 'push',
    scopes: ['d'],
  });
  assert.deepEqual(serverOps(plan), ['upload d/b']);
});

test('renames are not detected when the transport cannot rename', () => {
  const plan = reconcile({
    ancestor: snap({ a: A }),
    local: snap({ b: A }),
    remote: snap({ a: file(10, 100) }),
    mode: 'push',
    scopes: [''],
    detectRenames: false,
  });
  assert.deepEqual(serverOps(plan), ['upload b', 'remove a']);
});

test('renameCandidates lists only new local files sized like a vanished file', () => {
  const c = renameCandidates({
    ancestor: snap({ a: A, k: file(99, 1, 'h-k') }),
    local: snap({ k: file(99, 1), b: file(10, 500), c: file(11, 500) }),
    remote: snap({ a: file(10, 100), k: file(99, 1) }),
    scopes: [''],
  });
  assert.deepEqual(c, ['b']);
});

test('tree removals count every file below them', () => {
  const ancestor: Record<string, Entry> = { d: dir() };
  for (let i = 0; i < 5; i++) ancestor[`d/f${i}`] = file(1, 1);
  const plan = reconcile({
    ancestor: snap(ancestor),
    local: snap({}),
    remote: snap(ancestor),
    mode: 'push',
    scopes: [''],
  });
  assert.equal(plan.deletedFiles, 5);
  assert.deepEqual(serverOps(plan), ['remove d']);
});

test('safety: a missing local root halts', () => {
  const plan = reconcile({
    ancestor: snap({ a: A }),
    local: new Map(),
    remote: snap({ a: A }),
    mode: 'push',
    scopes: [''],
  });
  assert.deepEqual(
    checkSafety({ ancestor: snap({ a: A }), local: new Map(), plan, fullScan: true, allowMassDelete: false }),
    { kind: 'root-missing' },
  );
});

test('safety: an emptied root halts even with mass deletes below the threshold', () => {
  const ancestor = snap({ a: A });
  const local = snap({});
  const plan = reconcile({ ancestor, local, remote: snap({ a: file(10, 100) }), mode: 'push', scopes: [''] });
  assert.deepEqual(checkSafety({ ancestor, local, plan, fullScan: true, allowMassDelete: false }), {
    kind: 'root-emptied',
    ancestorFiles: 1,
  });
});

test('safety: deleting more than half and more than 100 files halts unless allowed', () => {
  const files: Record<string, Entry> = {};
  for (let i = 0; i < 300; i++) files[`f${i}`] = file(1, 1);
  const kept: Record<string, Entry> = {};
  for (let i = 0; i < 100; i++) kept[`f${i}`] = file(1, 1);
  const ancestor = snap(files);
  const local = snap(kept);
  const plan = reconcile({ ancestor, local, remote: snap(files), mode: 'push', scopes: [''] });
  assert.equal(plan.deletedFiles, 200);
  assert.deepEqual(checkSafety({ ancestor, local, plan, fullScan: true, allowMassDelete: false }), {
    kind: 'mass-delete',
    deletes: 200,
    ancestorFiles: 300,
  });
  assert.equal(checkSafety({ ancestor, local, plan, fullScan: true, allowMassDelete: true }), undefined);
});

test('safety: 100 deletes out of 150 is below the count threshold', () => {
  const files: Record<string, Entry> = {};
  for (let i = 0; i < 150; i++) files[`f${i}`] = file(1, 1);
  const kept: Record<string, Entry> = {};
  for (let i = 0; i < 50; i++) kept[`f${i}`] = file(1, 1);
  const plan = reconcile({ ancestor: snap(files), local: snap(kept), remote: snap(files), mode: 'push', scopes: [''] });
  assert.equal(
    checkSafety({ ancestor: snap(files), local: snap(kept), plan, fullScan: true, allowMassDelete: false }),
    undefined,
  );
});

test('a mode change is recorded in the ancestor only once the server has it', () => {
  // The ancestor used to take the local mode at once ("adopt"); when setAttributes then
  // failed (read-only server directory), every later pass saw nothing to do while the server
  // kept the old mode: the soak found such files after converging.
  for (const mode of ['push', 'mirror'] as const) {
    const local = snap({ a: file(10, 100, undefined, 0o600), d: dir(0o700) });
    const remote = snap({ a: file(10, 100), d: dir(0o755) });
    const ancestor = snap({ a: A, d: dir() });
    const plan = reconcile({ ancestor, local, remote, mode, scopes: [''] });
    assert.deepEqual(serverOps(plan), ['setAttributes a', 'setAttributes d'], mode);
    const adopted = plan.ops.find((o) => o.op === 'adopt' && o.path === 'a') as { entry: Entry } | undefined;
    assert.equal(
      adopted?.entry.kind === 'file' && adopted.entry.mode,
      0o644,
      `${mode}: the ancestor keeps the server's mode until it changes`,
    );
    // setAttributes failed: apply the adopt only, then reconcile again. It must still be planned.
    const after = new Map(ancestor);
    for (const o of plan.ops) if (o.op === 'adopt') after.set(o.path, o.entry);
    const again = reconcile({ ancestor: after, local, remote, mode, scopes: [''] });
    assert.deepEqual(serverOps(again), ['setAttributes a', 'setAttributes d'], `${mode}, after a failed setAttributes`);
  }
});

test('pathsBelowNonDirectories names what a snapshot holds below a file or symlink, and trusts absent ancestors', () => {
  const s = snap({
    l: link('/'),
    'l/proc': dir(),
    'l/proc/1': file(1, 1),
    f: file(1, 1),
    'f/x': file(1, 1),
    d: dir(),
    'd/y': file(1, 1),
    'scoped/deep/z': file(1, 1),
  });
  assert.deepEqual(pathsBelowNonDirectories(s).sort(), ['f/x', 'l/proc', 'l/proc/1']);
  assert.deepEqual(ancestorsOf('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(ancestorsOf('a'), []);
  assert.deepEqual(ancestorsOf(''), []);
});
