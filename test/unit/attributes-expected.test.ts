/**
 * A mode-and-mtime change carries the server entry it expects, like every other server op.
 * Soak seed 1203603 lost a server edit this way: right after a kill and an SFTP cut, a pass
 * set the attributes of a file touched locally, and the server had rewritten that file with
 * the same size after the pass's scan. The setAttributes put Ferry's mtime back on it, so
 * the edit looked like Ferry's own version from then on; after a local `mv` of its directory
 * (replayed as a server rename) the next local change overwrote it with no conflict copy.
 * Here the server edit lands just before the setAttributes call: on a file, and below a
 * directory being renamed (whose setAttributes expects the entries seen at the old path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { readConflicts } from '../../main/engine/conflict-log.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { memoryFolder as folder } from '../harness/memory-folder.ts';

const SERVER_EDIT = 'same size, server'; // 17 bytes, as 'local version one'

/** Makes a same-size server edit of `path` (a fresh mtime) right before the first setAttributes. */
function editBeforeSetAttributes(server: MemoryServer, path: string): { made: () => boolean } {
  let made = false;
  server.beforeCall = (call) => {
    if (call !== 'setAttributes' || made) return;
    made = true;
    server.writeFile(path, SERVER_EDIT, 0o644, Date.now() + 60_000);
  };
  return { made: () => made };
}

function conflictCopies(server: MemoryServer): string[] {
  return [...server.files()].filter(([p]) => p.includes('.ferry-conflict-')).map(([, c]) => c);
}

/** Runs one pass and checks that the server edit survived it as a logged conflict copy. */
async function passKeepsTheEdit(
  server: MemoryServer,
  config: ConstructorParameters<typeof FolderSync>[0],
  path: string,
) {
  const sync = new FolderSync(config, { openTransports: server.open });
  const summary = await sync.runOnce();
  assert.deepEqual(conflictCopies(server), [SERVER_EDIT], 'the server edit is kept as a conflict copy');
  assert.equal(summary.conflicts, 1);
  const { records } = await readConflicts(sync.conflictFile);
  assert.deepEqual(
    records.map((r) => r.path),
    [path],
  );
  assert.equal(server.files().get(path), 'local version one', 'then the local version is pushed');
  const landed = server.entries.get(path);
  assert.ok(landed?.kind === 'file');
  assert.equal(landed.mode, 0o600);
}

test('a chmod does not set attributes onto a same-size edit the server made after the scan', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = folder(t, { 'doc.txt': 'local version one' });
  await new FolderSync(config, { openTransports: server.open }).runOnce();
  chmodSync(join(localRoot, 'doc.txt'), 0o600);
  const edit = editBeforeSetAttributes(server, 'doc.txt');
  await passKeepsTheEdit(server, config, 'doc.txt');
  assert.ok(edit.made(), 'the pass asked to set attributes');
});

test('a moved directory does not hide a same-size server edit below it (seed 1203603)', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = folder(t, { 'dir/f.txt': 'local version one', 'dir/g.txt': 'other' });
  await new FolderSync(config, { openTransports: server.open }).runOnce();
  mkdirSync(join(localRoot, 'elsewhere'));
  renameSync(join(localRoot, 'dir'), join(localRoot, 'elsewhere', 'moved'));
  // The move keeps sizes and mtimes (it is found as a rename); a chmod then changes the mode.
  chmodSync(join(localRoot, 'elsewhere', 'moved', 'f.txt'), 0o600);
  const edit = editBeforeSetAttributes(server, 'elsewhere/moved/f.txt');
  await passKeepsTheEdit(server, config, 'elsewhere/moved/f.txt');
  assert.ok(edit.made(), 'the pass asked to set attributes');
  assert.ok(
    server.calls.some((c) => c.call === 'rename' && c.paths.includes('dir')),
    'the local move was replayed as a server rename',
  );
  assert.equal(server.files().get('elsewhere/moved/g.txt'), 'other');
});
