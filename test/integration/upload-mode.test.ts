/** `--mode upload` against the real sshd: local deletes and renames never delete or move anything on the server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

test('upload mode keeps deleted and renamed files on the server and uploads the new names', async () => {
  const local = fx.scope.dir('upload-local');
  const state = fx.scope.dir('upload-state');
  const remote = join(fx.sshd.remoteRoot, 'upload');
  writeTree(local, { 'keep.txt': 'k', 'gone.txt': 'g', 'old-name.txt': 'moved', 'd/inner.txt': 'i' });
  const once = () =>
    runFerry(['sync', '--once', '--mode', 'upload', ...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, remote)]);
  assert.equal((await once()).code, 0);
  rmSync(join(local, 'gone.txt'));
  rmSync(join(local, 'd'), { recursive: true });
  renameSync(join(local, 'old-name.txt'), join(local, 'new-name.txt'));
  writeTree(local, { 'keep.txt': 'k2' });
  const r = await once();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...readTree(remote).keys()].sort(), [
    'd',
    'd/inner.txt',
    'gone.txt',
    'keep.txt',
    'new-name.txt',
    'old-name.txt',
  ]);
  assert.equal(readFileSync(join(remote, 'keep.txt'), 'utf8'), 'k2');
  assert.equal(readFileSync(join(remote, 'new-name.txt'), 'utf8'), 'moved');
  const again = await once();
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 file\(s\) uploaded, 0 removed/);
});
