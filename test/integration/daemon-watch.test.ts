/**
 * `ferry daemon` in watch mode (daemon.test.ts covers `--once` only): one process, a config
 * with two folders, both synced first, then an edit in each folder reaches its own target
 * while the daemon watches, and SIGTERM ends it with exit code 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, startFerry, targetOf, waitForSameTree, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

test('ferry daemon watches every folder of its config: edits in each reach their targets; SIGTERM exits 0', async () => {
  const state = fx.scope.dir('dw-state');
  const a = fx.scope.dir('dw-a');
  const b = fx.scope.dir('dw-b');
  const remoteA = join(fx.sshd.remoteRoot, 'dw-a');
  const remoteB = join(fx.sshd.remoteRoot, 'dw-b');
  writeTree(a, { 'a.txt': 'a v1', 'sub/deep.txt': 'deep' });
  writeTree(b, { 'b.txt': 'b v1' });
  const common = { identity: fx.sshd.clientKeyPath, knownHosts: fx.sshd.knownHostsPath };
  const config = join(state, 'ferry.json');
  writeFileSync(
    config,
    JSON.stringify({
      stateDir: state,
      sshConfig: '/dev/null',
      folders: [
        { local: a, target: targetOf(fx.sshd, remoteA), ...common },
        { local: b, target: targetOf(fx.sshd, remoteB), mode: 'mirror', ...common },
      ],
    }),
  );
  const daemon = startFerry(['daemon', '--json', '--config', config]);
  try {
    // Each folder reports in sync on its own (events name the folder by its id).
    const synced = new Map<string, string>();
    for (const root of [a, b]) {
      const e = await daemon.waitFor(
        (x) =>
          x.event === 'state' &&
          x.inSync === true &&
          (x.status as { localRoot?: unknown } | undefined)?.localRoot === root,
        30_000,
        `the first in-sync state of ${root}`,
      );
      synced.set(root, String(e.folder));
    }
    assert.notEqual(synced.get(a), synced.get(b), 'two folders, two ids');
    assert.deepEqual(diffTrees(readTree(a), readTree(remoteA)), []);
    assert.deepEqual(diffTrees(readTree(b), readTree(remoteB)), []);

    // One edit in each folder while the daemon watches.
    writeFileSync(join(a, 'a.txt'), 'a v2, edited while watching');
    writeFileSync(join(b, 'new.txt'), 'created while watching');
    await waitForSameTree(a, remoteA);
    await waitForSameTree(b, remoteB);
    assert.equal(readFileSync(join(remoteA, 'a.txt'), 'utf8'), 'a v2, edited while watching');
    assert.equal(readFileSync(join(remoteB, 'new.txt'), 'utf8'), 'created while watching');
    assert.equal(existsSync(join(remoteA, 'new.txt')), false, 'each folder goes to its own target');
    for (const [root, id] of synced) {
      const uploads = daemon.events.filter((e) => e.event === 'file' && e.folder === id && e.ok === true);
      assert.ok(
        uploads.some((e) => e.path === (root === a ? 'a.txt' : 'new.txt')),
        `the edit in ${root} was uploaded by its own folder: ${JSON.stringify(uploads)}`,
      );
    }
  } finally {
    daemon.child.kill('SIGTERM');
  }
  assert.deepEqual(await daemon.exited, { code: 0, signal: null }, daemon.stderr());
  assert.ok(
    daemon.events.some((e) => e.event === 'stopped'),
    'the last line says the daemon stopped',
  );
});
