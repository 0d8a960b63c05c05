/**
 * A write whose answer was lost, and a server that then shows something else at its path:
 * whose entry that is cannot be known, so Ferry leaves it and logs it ('origin-unknown')
 * instead of passing it over as the server's own while the folder reads "in sync".
 * In-memory server (test/harness/memory-transport.ts).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { folderStateFiles } from '../../main/engine/folder-config.ts';
import { readConflicts } from '../../main/engine/conflict-log.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { inSync, memoryFolder as folder, statusWhere } from '../harness/memory-folder.ts';

/**
 * Syncs `files`, then writes `path` locally; Ferry's write lands, then `afterLanding` runs and
 * the connection is cut before the answer. Resolves once Ferry is in sync again.
 */
async function lostAnswer(
  t: TestContext,
  files: Record<string, string>,
  path: string,
  afterLanding: (server: MemoryServer, localRoot: string) => void,
) {
  const server = new MemoryServer();
  const { config, localRoot } = folder(t, files);
  const sync = new FolderSync(config, { openTransports: server.open });
  t.after(() => sync.stop());
  await sync.start();
  await statusWhere(sync, inSync, 'the first in-sync state');
  let cut = false;
  server.afterCall = (call, paths) => {
    if (cut || call !== 'upload' || !paths.includes(path)) return;
    cut = true;
    afterLanding(server, localRoot);
    server.cut();
  };
  writeFileSync(join(localRoot, path), 'the local edit Ferry sends');
  await statusWhere(sync, (s) => cut && server.connects >= 2 && inSync(s), 'in sync after the reconnect');
  const { records } = await readConflicts(folderStateFiles(config.stateDir).conflicts);
  return { server, sync, records };
}

test('an overwrite whose answer was lost, edited on the server before the rescan, is logged as origin-unknown', async (t) => {
  const edit = 'written on the server after Ferry landed its version';
  const { server, sync, records } = await lostAnswer(t, { 'a.txt': 'v1', 'b.txt': 'b' }, 'a.txt', (s) =>
    s.writeFile('a.txt', edit),
  );
  // Then the local edit meets the server's unknown version: a conflict like any other.
  const copy = records[1]?.conflictCopyPath ?? 'no copy';
  assert.deepEqual(
    records.map((r) => [r.path, r.action, r.remote && 'size' in r.remote ? r.remote.size : undefined]),
    [
      ['a.txt', 'origin-unknown', edit.length],
      ['a.txt', 'kept-remote-copy', edit.length],
    ],
  );
  assert.match(records[0]?.note ?? '', /^Ferry was writing a\.txt when it lost the connection or was stopped/);
  assert.equal(sync.status().conflictCount, 2);
  assert.equal(server.files().get(copy), edit, 'the server’s version kept');
  assert.equal(server.files().get('a.txt'), 'the local edit Ferry sends');
});

test('a new file whose answer was lost, then the local file deleted, leaves the server’s version logged', async (t) => {
  const { server, records } = await lostAnswer(t, { 'b.txt': 'b' }, 'new.txt', (s, localRoot) => {
    s.writeFile('new.txt', 'the server’s own');
    rmSync(join(localRoot, 'new.txt'));
  });
  assert.deepEqual(
    records.map((r) => [r.path, r.action]),
    [
      ['new.txt', 'origin-unknown'],
      ['new.txt', 'skipped-local-delete'],
    ],
  );
  assert.equal(server.files().get('new.txt'), 'the server’s own');
});

test('a new file whose answer was lost, replaced on the server before the rescan, is logged as origin-unknown', async (t) => {
  const { server, records } = await lostAnswer(t, { 'b.txt': 'b' }, 'new.txt', (s) =>
    s.writeFile('new.txt', 'the server’s own'),
  );
  assert.deepEqual(
    records.map((r) => [r.path, r.action]),
    [['new.txt', 'origin-unknown']],
  );
  assert.equal(server.files().get('new.txt'), 'the server’s own');
});

test('an overwrite whose answer was lost and that the server shows as sent logs nothing', async (t) => {
  const { server, sync, records } = await lostAnswer(t, { 'a.txt': 'v1' }, 'a.txt', () => undefined);
  assert.deepEqual(records, []);
  assert.equal(sync.status().conflictCount, 0);
  assert.equal(server.files().get('a.txt'), 'the local edit Ferry sends');
});
