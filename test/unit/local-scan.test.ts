/**
 * The local scan (main/engine/local-scan.ts) on a real temp tree: what it records for each
 * kind of entry, what it leaves out and why, and scopes below a symlink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanLocal } from '../../main/engine/local-scan.ts';

function tree(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'ferry-local-scan-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
  writeFileSync(join(root, 'a', 'b', 'c', 'deep.txt'), 'deep');
  writeFileSync(join(root, 'a', 'line\nbreak'), '12');
  writeFileSync(join(root, 'top.bin'), '123');
  utimesSync(join(root, 'top.bin'), 1_000_000_000.7, 1_000_000_000.7);
  chmodSync(join(root, 'top.bin'), 0o640);
  symlinkSync('/', join(root, 'a', 'link'));
  mkdirSync(join(root, 'ignored'));
  writeFileSync(join(root, 'ignored', 'x'), 'x');
  writeFileSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff]), Buffer.from('.txt')]), 'b');
  execFileSync('mkfifo', [join(root, 'a', 'fifo')]);
  for (let i = 0; i < 300; i++) writeFileSync(join(root, 'a', 'b', `f${i}`), '');
  return root;
}

const ignores = (rel: string) => rel === 'ignored';

test('a full scan records files, dirs and links, and says what it left out', async (t) => {
  const root = tree(t);
  const scan = await scanLocal(root, [''], ignores);
  assert.deepEqual(scan.entries.get('top.bin'), { kind: 'file', size: 3, mtimeMs: 1_000_000_000_700, mode: 0o640 });
  assert.deepEqual(scan.entries.get('a/link'), { kind: 'symlink', target: '/' });
  assert.equal(scan.entries.get('a/b/c')?.kind, 'dir');
  assert.equal(scan.entries.get('a/line\nbreak')?.kind, 'file');
  assert.equal(scan.entries.get('a/b/c/deep.txt')?.kind, 'file');
  assert.equal(scan.entries.has('ignored'), false);
  assert.equal(scan.entries.has('ignored/x'), false);
  assert.equal([...scan.entries.keys()].filter((p) => p.startsWith('a/link/')).length, 0, 'never through a link');
  // "", a, a/b, a/b/c, deep.txt, line\nbreak, top.bin, a/link, 300 files
  assert.equal(scan.entries.size, 308);
  assert.deepEqual(
    scan.skipped.map((s) => s.path),
    ['a/fifo'],
  );
  assert.equal(scan.problems.length, 1);
  assert.match(scan.problems[0]?.path ?? '', /^bad-\uFFFD\.txt$/);
  assert.match(scan.problems[0]?.error ?? '', /not valid UTF-8/);
  assert.deepEqual(scan.blocked, []);
});

test('scopes: the directories leading to a scope are recorded, a scope below a link is blocked', async (t) => {
  const root = tree(t);
  const scan = await scanLocal(root, ['a/b/c', 'a/link/etc'], ignores);
  assert.deepEqual([...scan.entries.keys()].sort(), ['', 'a', 'a/b', 'a/b/c', 'a/b/c/deep.txt', 'a/link']);
  assert.deepEqual(scan.blocked, ['a/link']);
  const missing = await scanLocal(join(root, 'nothing-here'), [''], ignores);
  assert.equal(missing.entries.size, 0);
});
