import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflictCopyName, parseConflictCopyName } from '../../main/core/conflict-name.ts';
import { findUnloggedCopies, UNLOGGED_COPY_NOTE } from '../../main/engine/unlogged-copies.ts';
import type { Entry, Snapshot } from '../../main/core/tree.ts';

const file = (size: number): Entry => ({ kind: 'file', size, mtimeMs: 0, mode: 0o644 });
const dir: Entry = { kind: 'dir', mode: 0o755 };
const at = new Date('2026-12-03T11:14:44Z');

test('parseConflictCopyName inverts conflictCopyName, counter and odd names included', () => {
  for (const rel of ['doc.txt', '.env', 'a.tar.gz', 'name.', 'no-ext', "it's\nnew.md", 'f.ferry-conflict-x.txt']) {
    const taken = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const copy = conflictCopyName(rel, at, (p) => taken.has(p));
      taken.add(copy);
      assert.deepEqual(parseConflictCopyName(copy), { original: rel, stamp: at }, copy);
    }
  }
  for (const name of ['doc.txt', 'doc.ferry-conflict-2026-1203.txt', '.ferry-conflict-20261203-111444'])
    assert.equal(parseConflictCopyName(name), undefined, name);
});

test('only copies since the interruption, unknown to the ancestor, the local side and the log, are found', () => {
  const copy = (rel: string, date = at) => conflictCopyName(rel, date, () => false);
  const older = copy('old.txt', new Date(at.getTime() - 60_000));
  const remote: Snapshot = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    [copy('d/doc.txt'), file(3)],
    [older, file(1)],
    [copy('logged.txt'), file(1)],
    [copy('known.txt'), file(1)],
    [copy('local.txt'), file(1)],
    [copy('tree'), dir],
    [`${copy('tree')}/inner.ferry-conflict-20261203-111450`, file(1)],
  ]);
  const ancestor: Snapshot = new Map([[copy('known.txt'), file(1)]]);
  const local: Snapshot = new Map([[copy('local.txt'), file(1)]]);
  const found = findUnloggedCopies(
    remote,
    ancestor,
    local,
    new Set([copy('logged.txt')]),
    at.getTime() + 500,
    new Date('2026-12-03T12:00:00Z'),
  );
  assert.deepEqual(
    found.map((r) => [r.path, r.action, r.conflictCopyPath, r.note]),
    [
      ['d/doc.txt', 'kept-remote-copy', copy('d/doc.txt'), UNLOGGED_COPY_NOTE],
      ['tree', 'kept-remote-dir', copy('tree'), UNLOGGED_COPY_NOTE],
    ],
  );
  assert.deepEqual(found[0]?.remote, { size: 3, mtimeMs: 0 });
});
