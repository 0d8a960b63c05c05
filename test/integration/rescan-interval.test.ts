/**
 * The periodic full pass while the watcher is live (`--rescan-interval`): the safety net for
 * changes no local event announces. The soak found watchers missing a directory's chmod; a
 * change made on the server is the reproducible case of the same thing (push mode notices it
 * only in a full pass), so the test uses that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { eventually, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const harness = sshdForFile();
const { scope } = harness;

const idleInSync = (e: Record<string, unknown>) => e.event === 'state' && e.state === 'idle' && e.inSync === true;

test('a watching Ferry runs a full pass every rescan interval and repairs what no event announced', async () => {
  const local = scope.dir('rescan-local');
  const state = scope.dir('rescan-state');
  const remote = join(harness.sshd.remoteRoot, 'rescan');
  writeTree(local, { 'a.txt': 'alpha', 'd/b.txt': 'beta' });
  const ferry = scope.watch([
    '--rescan-interval',
    '2',
    ...sshFlags(harness.sshd, state),
    local,
    targetOf(harness.sshd, remote),
  ]);
  await ferry.waitFor(idleInSync, 30_000, 'the first in-sync state');
  assert.equal(readFileSync(join(remote, 'd', 'b.txt'), 'utf8'), 'beta');

  // Someone removes a file on the server: no local event will ever name it.
  rmSync(join(remote, 'd', 'b.txt'));
  await eventually(
    () => existsSync(join(remote, 'd', 'b.txt')),
    20_000,
    () => `d/b.txt was not put back; events: ${JSON.stringify(ferry.events.slice(-5))}`,
  );
  assert.equal(readFileSync(join(remote, 'd', 'b.txt'), 'utf8'), 'beta');
  assert.equal(statSync(join(remote, 'a.txt')).size, 5);
  await scope.stop(ferry);
});

test('--rescan-interval refuses a value that is not a whole number of seconds', async () => {
  const local = scope.dir('rescan-bad');
  const state = scope.dir('rescan-bad-state');
  const ferry = scope.watch([
    '--rescan-interval',
    '-1',
    ...sshFlags(harness.sshd, state),
    local,
    targetOf(harness.sshd, join(harness.sshd.remoteRoot, 'never')),
  ]);
  const { code } = await ferry.exited;
  assert.equal(code, 2);
  assert.match(ferry.stderr(), /--rescan-interval.*whole number/);
});
