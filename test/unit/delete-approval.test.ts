/**
 * Confirmations are bound to what was shown: confirming a halt's deletes approves exactly
 * those server files, and a first mirror sync onto a non-empty server folder halts before
 * deleting files Ferry has never seen. Against the in-memory server (memory-transport.ts).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { inSync, memoryFolder, statusWhere } from '../harness/memory-folder.ts';

const names = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `f${String(i + from).padStart(3, '0')}.txt`);

/** A watching folder of 150 files, in sync with a memory server. */
async function watchingInSync(t: TestContext) {
  const server = new MemoryServer();
  const all = names(150);
  const { config, localRoot } = memoryFolder(t, Object.fromEntries(all.map((n) => [n, n])));
  const sync = new FolderSync(config, { openTransports: server.open });
  t.after(() => sync.stop());
  await sync.start();
  await statusWhere(sync, inSync, 'the first in-sync state');
  return { server, all, localRoot, sync };
}

test('confirming a mass delete approves the files shown; more deletes since then halt again', async (t) => {
  const { server, all, localRoot, sync } = await watchingInSync(t);

  for (const n of all.slice(0, 120)) rmSync(join(localRoot, n));
  const first = await statusWhere(sync, (s) => s.state === 'halted', 'the mass-delete halt');
  assert.equal(first.halt?.reason, 'mass-delete');
  assert.equal(first.halt?.deletes, 120);
  assert.deepEqual(first.halt?.paths, all.slice(0, 50), 'the first 50 paths, in tree order');

  // Ten more vanish after the halt was shown, before the click lands.
  for (const n of all.slice(120, 130)) rmSync(join(localRoot, n));
  sync.confirmMassDelete();
  const again = await statusWhere(sync, (s) => s.state === 'halted' && s.halt?.deletes === 130, 'a second halt');
  assert.equal(again.halt?.reason, 'mass-delete');
  assert.equal(server.files().size, 150, 'nothing was deleted on the unseen confirmation');

  sync.confirmMassDelete();
  await statusWhere(sync, (s) => inSync(s) && server.files().size === 20, 'the 130 confirmed deletes done');
  assert.deepEqual([...server.files().keys()].sort(), all.slice(130));
});

test('a first mirror sync onto a non-empty server folder halts and lists what it would delete', async (t) => {
  const server = new MemoryServer();
  server.writeFile('precious.db', 'not ferry\u2019s');
  server.mkdir('logs');
  server.writeFile('logs/today.log', 'x');
  const { config } = memoryFolder(t, { 'index.html': 'hi' }, { mode: 'mirror' });
  const summary = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.equal(summary.halted?.kind, 'first-mirror-sync');
  assert.deepEqual(
    server.calls.map((c) => c.call),
    ['scan'],
    'nothing was written or deleted',
  );
  assert.equal(summary.halted.kind === 'first-mirror-sync' && summary.halted.deletes, 2);
});

test('with --allow-mass-delete a first mirror sync makes the server an exact copy', async (t) => {
  const server = new MemoryServer();
  server.writeFile('stale.txt', 'old');
  const { config } = memoryFolder(t, { 'index.html': 'hi' }, { mode: 'mirror', allowMassDelete: true });
  const summary = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.equal(summary.inSync, true);
  assert.deepEqual(server.files(), new Map([['index.html', 'hi']]));
});

test('a first mirror sync onto an empty server folder does not halt', async (t) => {
  const server = new MemoryServer();
  const { config } = memoryFolder(t, { 'index.html': 'hi' }, { mode: 'mirror' });
  const summary = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.equal(summary.halted, undefined);
  assert.equal(summary.inSync, true);
});

test('a halted folder stays halted while a local change re-checks it, and leaves the halt once its cause is gone', async (t) => {
  const { server, all, localRoot, sync } = await watchingInSync(t);
  for (const n of all.slice(0, 120)) rmSync(join(localRoot, n));
  await statusWhere(sync, (s) => s.state === 'halted' && s.halt?.deletes === 120, 'the mass-delete halt');

  // From here on every status the folder shows is recorded: the halt panel and its buttons
  // must not blink away while a re-check scans (the UI's mass-delete test lost its click so).
  const shown: string[] = [];
  const onStatus = (s: { state: string }) => shown.push(s.state);
  sync.on('status', onStatus);
  const scans = () => server.calls.filter((c) => c.call === 'scan').length;
  const scansBefore = scans();
  writeFileSync(join(localRoot, 'new.txt'), 'a change that wakes the re-check');
  await statusWhere(
    sync,
    (s) => scans() > scansBefore && s.state === 'halted' && s.halt?.deletes === 120,
    'the halt again after a re-check scan',
  );
  assert.ok(shown.length > 0);
  assert.deepEqual([...new Set(shown)], ['halted'], 'nothing but the halt while it holds');

  // The files come back: the next re-check finds no mass delete and the folder syncs on.
  for (const n of all.slice(0, 120)) writeFileSync(join(localRoot, n), n);
  const back = await statusWhere(sync, (s) => inSync(s) && server.files().has('new.txt'), 'in sync again');
  assert.equal(back.halt, undefined);
  assert.equal(server.files().size, 151);
  assert.ok(shown.includes('scanning') || shown.includes('syncing'), 'the folder left the halt state');
  sync.off('status', onStatus);
});
