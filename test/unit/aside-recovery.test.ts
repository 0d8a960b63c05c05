import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asideNameFor } from '../../main/core/temp-name.ts';
import type { Entry } from '../../main/core/tree.ts';
import { planAsideRecovery } from '../../main/engine/aside-recovery.ts';

const dir: Entry = { kind: 'dir', mode: 0o755 };
const file = (size: number, sec = 1_700_000_000): Entry => ({ kind: 'file', size, mtimeMs: sec * 1000, mode: 0o644 });
const now = new Date('2026-12-03T10:00:00Z');
const aside = (dirPath: string, name: string) => `${dirPath ? `${dirPath}/` : ''}${asideNameFor(name)}`;

test('an aside whose original path is empty goes back', () => {
  const remote = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    [aside('d', 'doc.txt'), file(2)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/doc.txt', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map([['', dir]]), now);
  assert.deepEqual(plan.restore, [{ from: aside('d', 'doc.txt'), to: 'd/doc.txt' }]);
  assert.deepEqual([plan.discard, plan.keep], [[], []]);
});

test('an aside that is Ferry\u2019s last version, replaced since, is removed only if still exactly that', () => {
  const a = aside('', 'doc.txt');
  const remote = new Map<string, Entry>([
    ['', dir],
    ['doc.txt', file(9, 1_700_000_500)],
    [a, file(2)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['doc.txt', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map(), now);
  assert.deepEqual(plan.discard, [{ path: a, kind: 'file', expected: new Map([[a, file(2)]]), original: 'doc.txt' }]);
  assert.deepEqual([plan.restore, plan.keep], [[], []]);
});

test('an aside that differs from what Ferry last put there is kept as a conflict copy of the original', () => {
  const a = aside('', 'doc.txt');
  const remote = new Map<string, Entry>([
    ['', dir],
    ['doc.txt', file(9, 1_700_000_500)],
    [a, file(7, 1_700_000_300)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['doc.txt', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map(), now);
  assert.deepEqual(plan.keep, [
    { from: a, to: 'doc.ferry-conflict-20261203-100000.txt', path: 'doc.txt', found: file(7, 1_700_000_300) },
  ]);
});

test('an aside no known name matches is left alone, and so is what lies below an aside directory', () => {
  const a = aside('', 'gone-from-everywhere');
  const remote = new Map<string, Entry>([
    ['', dir],
    [a, dir],
    [`${a}/inner.txt`, file(1)],
  ]);
  const plan = planAsideRecovery(remote, new Map([['', dir]]), new Map(), now);
  assert.deepEqual(plan, { restore: [], discard: [], keep: [], cleanup: [] });
});

test('an rsync backup directory left by a crash: each file settles as an aside of its path, then the directory goes', () => {
  const b = '.ferry-aside-rsync-0123456789abcdef';
  const remote = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/a.txt', file(9, 1_700_000_500)],
    [b, dir],
    [`${b}/d`, dir],
    [`${b}/d/a.txt`, file(2)],
    [`${b}/d/gone.txt`, file(3)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/a.txt', file(2)],
    ['d/gone.txt', file(3)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map(), now);
  assert.deepEqual(
    plan.discard.map((d) => d.path),
    [`${b}/d/a.txt`],
  );
  assert.deepEqual(plan.restore, [{ from: `${b}/d/gone.txt`, to: 'd/gone.txt' }]);
  assert.deepEqual(
    plan.cleanup.map((c) => [c.path, [...(c.expected?.keys() ?? [])]]),
    [[b, [b, `${b}/d`]]],
  );
});
