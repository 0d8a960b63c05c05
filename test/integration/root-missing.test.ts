/** A watched folder that disappears (deleted, renamed, unmounted) halts; nothing on the server is deleted; it recovers when the folder is back. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { sshFlags, startFerry, targetOf, tempDir, waitForSameTree, writeTree } from '../harness/trees.ts';

let sshd: TestSshd;
before(async () => {
  sshd = await startSshd();
});
after(async () => sshd?.dispose());

test('a watched folder that disappears halts without touching the server, and resumes when it is back', async () => {
  const parent = tempDir('rootgone');
  const local = join(parent, 'folder');
  const state = tempDir('rootgone-state');
  const remote = join(sshd.remoteRoot, 'rootgone');
  writeTree(local, { 'a.txt': 'a', 'd/b.txt': 'b' });
  const ferry = startFerry([
    'sync',
    '--json',
    '--poll-interval',
    '1',
    ...sshFlags(sshd, state),
    local,
    targetOf(sshd, remote),
  ]);
  try {
    await ferry.waitFor((e) => e.event === 'state' && e.inSync === true, 30_000, 'first sync');
    renameSync(local, `${local}.moved-away`);
    const halted = (await ferry.waitFor(
      (e) => e.event === 'state' && e.state === 'halted',
      30_000,
      'halted state',
    )) as { status: { halt: { reason: string; message: string } } };
    assert.equal(halted.status.halt.reason, 'root-missing');
    assert.match(halted.status.halt.message, /missing or not a directory/);
    assert.ok(existsSync(join(remote, 'a.txt')) && existsSync(join(remote, 'd/b.txt')), 'the server keeps everything');
    renameSync(`${local}.moved-away`, local);
    writeFileSync(join(local, 'new.txt'), 'written while it was away');
    await waitForSameTree(local, remote, { timeoutMs: 30_000 });
  } finally {
    ferry.child.kill('SIGTERM');
    await ferry.exited;
    rmSync(parent, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
});
