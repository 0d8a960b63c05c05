/**
 * The folder loop's fall-back to polling when the file watcher fails, against the in-memory
 * server: a stand-in watcher (FolderDeps.watchFolder) that never reports a change, and fails
 * when the test says so (as chokidar does on running out of inotify watches) or at start.
 * Since it reports nothing, a local change can reach the server only through the periodic
 * full pass of polling mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { classifyWatcherError, type WatchFolderOptions } from '../../main/engine/watcher.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { inSync, memoryFolder, statusWhere } from '../harness/memory-folder.ts';

/** A watcher that reports nothing; `fail` makes it report an error as chokidar's 'error' event would. */
function deadWatcher(opts: { startError?: Error } = {}) {
  let options: WatchFolderOptions | undefined;
  let root = '';
  return {
    watchFolder: (r: string, o: WatchFolderOptions) => {
      root = r;
      options = o;
      return {
        start: async () => {
          if (opts.startError) throw opts.startError;
        },
        close: async () => undefined,
      };
    },
    fail(err: unknown) {
      assert.ok(options, 'the folder started its watcher');
      options.onError(classifyWatcherError(err, root));
    },
  };
}

const fullScans = (server: MemoryServer) => server.calls.filter((c) => c.call === 'scan' && c.paths.includes(''));

test('a watcher that runs out of inotify watches: the folder says polling, with the fix, and full passes find changes', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = memoryFolder(t, { 'a.txt': 'A' }, { pollIntervalMs: 100 });
  const watcher = deadWatcher();
  const sync = new FolderSync(config, { openTransports: server.open, watchFolder: watcher.watchFolder });
  t.after(() => sync.stop());
  await sync.start();
  await statusWhere(sync, inSync, 'the first in-sync state');
  assert.equal(sync.status().watcher, 'live');

  const enospc = Object.assign(new Error('ENOSPC: System limit for number of file watchers reached, watch'), {
    code: 'ENOSPC',
  });
  watcher.fail(enospc);
  const expected = classifyWatcherError(enospc, localRoot);
  const polling = await statusWhere(sync, (s) => s.watcher === 'polling', 'watcher: polling');
  assert.equal(polling.watcherMessage, `${expected.message} Fix: ${expected.fix}`);
  assert.match(polling.watcherMessage ?? '', /ran out of file watches.*Fix: Raise the inotify limit/);

  // Nothing reports this file: only a periodic full pass can find it.
  const scansBefore = fullScans(server).length;
  writeFileSync(join(localRoot, 'b.txt'), 'found by polling');
  await statusWhere(
    sync,
    (s) => inSync(s) && server.files().get('b.txt') === 'found by polling',
    'b.txt on the server',
  );
  assert.ok(fullScans(server).length > scansBefore, 'a full pass ran after the failure');
  assert.equal(sync.status().watcher, 'polling', 'the folder keeps polling');
});

test('a watcher that cannot start: the folder polls from the start and says why', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = memoryFolder(t, { 'a.txt': 'A' }, { pollIntervalMs: 100 });
  const watcher = deadWatcher({ startError: new Error('inotify_init failed: EMFILE') });
  const sync = new FolderSync(config, { openTransports: server.open, watchFolder: watcher.watchFolder });
  t.after(() => sync.stop());
  await sync.start();
  const first = await statusWhere(sync, inSync, 'the first in-sync state');
  assert.equal(first.watcher, 'polling');
  assert.match(
    first.watcherMessage ?? '',
    /^File watching is unavailable \(inotify_init failed: EMFILE\); Ferry rescans the folder every \d+ s instead\.$/,
  );
  assert.equal(server.files().get('a.txt'), 'A');

  writeFileSync(join(localRoot, 'later.txt'), 'later');
  await statusWhere(sync, (s) => inSync(s) && server.files().get('later.txt') === 'later', 'later.txt on the server');
});
