import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../../main/core/tree.ts';
import { LocalTotalsCounter } from '../../main/engine/local-totals.ts';
import type { LocalScan } from '../../main/engine/local-scan.ts';

const dir: Entry = { kind: 'dir', mode: 0o755 };
const file = (size: number): Entry => ({ kind: 'file', size, mtimeMs: 0, mode: 0o644 });
const scan = (entries: [string, Entry][]): LocalScan => ({
  entries: new Map(entries),
  problems: [],
  skipped: [],
  blocked: [],
});

test('a full scan counts regular files and their bytes; links and directories are not files', () => {
  const c = new LocalTotalsCounter();
  assert.equal(c.totals(), undefined);
  c.update(
    [''],
    scan([
      ['', dir],
      ['a.txt', file(10)],
      ['d', dir],
      ['d/b.txt', file(5)],
      ['d/link', { kind: 'symlink', target: 'b.txt' }],
    ]),
  );
  assert.deepEqual(c.totals(), { files: 2, bytes: 15 });
});

test('a scoped scan replaces exactly what lies within its scopes', () => {
  const c = new LocalTotalsCounter();
  c.update(
    [''],
    scan([
      ['', dir],
      ['a.txt', file(10)],
      ['d', dir],
      ['d/b.txt', file(5)],
      ['d/e', dir],
      ['d/e/c.txt', file(7)],
      ['dx', dir],
      ['dx/z.txt', file(100)],
    ]),
  );
  assert.deepEqual(c.totals(), { files: 4, bytes: 122 });
  // d/e and its file deleted, d/b.txt grown, a new file in d; dx (a sibling whose name starts
  // like d) is outside the scope and stays counted.
  c.update(
    ['d'],
    scan([
      ['', dir],
      ['d', dir],
      ['d/b.txt', file(50)],
      ['d/new.txt', file(1)],
    ]),
  );
  assert.deepEqual(c.totals(), { files: 4, bytes: 161 });
  // A directory replaced by a file.
  c.update(
    ['dx'],
    scan([
      ['', dir],
      ['dx', file(3)],
    ]),
  );
  assert.deepEqual(c.totals(), { files: 4, bytes: 64 });
  // A scope that is gone on disk: what was there is no longer counted.
  c.update(['d'], scan([['', dir]]));
  assert.deepEqual(c.totals(), { files: 2, bytes: 13 });
});

test('a first scoped scan counts its scopes; a scan without the root starts afresh', () => {
  const c = new LocalTotalsCounter();
  c.update(
    ['d/e'],
    scan([
      ['', dir],
      ['d/e', dir],
      ['d/e/x', file(4)],
    ]),
  );
  assert.deepEqual(c.totals(), { files: 1, bytes: 4 });
  c.update(['d/e'], scan([]));
  assert.deepEqual(c.totals(), { files: 0, bytes: 0 });
});
