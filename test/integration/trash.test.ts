/** `--trash` against the real sshd: what Ferry deletes or overwrites is moved to .ferry-trash/<stamp>/, never synced back, pruned by age. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

function folder(name: string, mode = 'push') {
  const local = fx.scope.dir(`${name}-local`);
  const state = fx.scope.dir(`${name}-state`);
  const remote = join(fx.sshd.remoteRoot, name);
  const once = (...extra: string[]) =>
    runFerry([
      'sync',
      '--once',
      '--trash',
      '--mode',
      mode,
      ...extra,
      ...sshFlags(fx.sshd, state),
      local,
      targetOf(fx.sshd, remote),
    ]);
  return { local, remote, once };
}

test('overwritten and deleted files go to the trash under one stamp, and the trash never syncs back', async () => {
  const f = folder('trash-basic');
  writeTree(f.local, { 'a.txt': 'a v1', 'b.txt': 'b', 'd/x.txt': 'x', 'd/y.txt': 'y', 'keep.txt': 'k' });
  assert.equal((await f.once()).code, 0);
  writeFileSync(join(f.local, 'a.txt'), 'a v2');
  rmSync(join(f.local, 'b.txt'));
  rmSync(join(f.local, 'd'), { recursive: true });
  const r = await f.once();
  assert.equal(r.code, 0, r.stderr);
  const stamps = readdirSync(join(f.remote, '.ferry-trash'));
  assert.equal(stamps.length, 1, stamps.join(', '));
  assert.match(stamps[0] ?? '', /^\d{8}-\d{6}$/);
  const trash = join(f.remote, '.ferry-trash', stamps[0] as string);
  assert.deepEqual(
    [...readTree(trash).entries()]
      .filter(([, e]) => e.kind === 'file')
      .map(([p]) => p)
      .sort(),
    ['a.txt', 'b.txt', 'd/x.txt', 'd/y.txt'],
  );
  assert.equal(readFileSync(join(trash, 'a.txt'), 'utf8'), 'a v1');
  assert.equal(readFileSync(join(f.remote, 'a.txt'), 'utf8'), 'a v2');
  assert.equal(existsSync(join(f.remote, 'b.txt')), false);
  assert.equal(existsSync(join(f.remote, 'd')), false);
  const again = await f.once();
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 file\(s\) uploaded, 0 removed/);
  assert.equal(existsSync(join(f.local, '.ferry-trash')), false, 'the trash is never synced back');
});

test('mirror mode never removes the trash, and stamps older than --trash-days are pruned', async () => {
  const f = folder('trash-prune', 'mirror');
  writeTree(f.local, { 'a.txt': 'a' });
  assert.equal((await f.once()).code, 0);
  writeTree(f.remote, { '.ferry-trash/20200101-000000/old.txt': 'old', '.ferry-trash/29990101-000000/new.txt': 'n' });
  fx.sshd.own(join(f.remote, '.ferry-trash'));
  const r = await f.once('--trash-days', '30');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(f.remote, '.ferry-trash')).sort(), ['29990101-000000']);
  assert.equal(readFileSync(join(f.remote, '.ferry-trash/29990101-000000/new.txt'), 'utf8'), 'n');
});

test('ferry restore puts a trashed version back on the server and locally, keeping what it replaces', async () => {
  const f = folder('trash-restore');
  writeTree(f.local, { 'doc.txt': 'version 1' });
  assert.equal((await f.once()).code, 0);
  writeFileSync(join(f.local, 'doc.txt'), 'version 2');
  assert.equal((await f.once()).code, 0);
  const state = fx.scope.dir('trash-restore-state-2');
  const restoreArgs = (...extra: string[]) => [
    'restore',
    ...extra,
    ...sshFlags(fx.sshd, state),
    f.local,
    targetOf(fx.sshd, f.remote),
    'doc.txt',
  ];
  const listed = await runFerry(restoreArgs('--list', '--json'));
  assert.equal(listed.code, 0, listed.stderr);
  const [versions] = listed.events as { stamps: string[] }[];
  assert.equal(versions?.stamps.length, 1);
  writeFileSync(join(f.local, 'doc.txt'), 'version 3, not synced yet');
  const r = await runFerry(restoreArgs('--json'));
  assert.equal(r.code, 0, r.stderr);
  const [restored] = r.events as { stamp: string; localKeptAs?: string; serverPreviousKeptAs?: string }[];
  assert.equal(restored?.stamp, versions?.stamps[0]);
  assert.equal(readFileSync(join(f.local, 'doc.txt'), 'utf8'), 'version 1');
  assert.equal(readFileSync(join(f.remote, 'doc.txt'), 'utf8'), 'version 1');
  assert.match(restored?.localKeptAs ?? '', /^doc\.ferry-conflict-\d{8}-\d{6}\.txt$/);
  assert.equal(readFileSync(join(f.local, restored?.localKeptAs ?? 'x'), 'utf8'), 'version 3, not synced yet');
  assert.equal(readFileSync(join(f.remote, restored?.serverPreviousKeptAs ?? 'x'), 'utf8'), 'version 2');
  const missing = await runFerry([...restoreArgs().slice(0, -1), 'never-existed.txt']);
  assert.equal(missing.code, 4);
  assert.match(missing.stderr, /has no version of never-existed\.txt/);
});
