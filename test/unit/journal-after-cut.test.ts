/**
 * Soak seeds 1203208 and 1203209 (30 minutes, the `--trash` folder): directory trees Ferry
 * had created stayed on the server, unknown to Ferry, after the local side deleted or renamed
 * them. In both runs a pass died with its connection (sshd stopped, or every connection cut)
 * and the pass after the reconnect was killed with SIGKILL before it saved the index.
 *
 * A pass that dies with its transport leaves what it recorded in advance (creations) in the
 * in-memory ancestor only, and its journal records pending in memory (journal.ts
 * holdPending). The next pass matches those records against the server (matchJournaled),
 * which takes them out of the pending set, and then writes its own journal over the file on
 * disk: its plan's records and the records still pending, but not the ones it just matched.
 * Until it saves the index at its end, neither file on disk knows those paths; a kill in
 * that window loses them, and the restarted Ferry takes Ferry's own tree for the server's.
 *
 * Each test takes the state directory as it is at one instant of the second pass (what a
 * kill -9 then would leave), starts Ferry again on it, and deletes the tree locally first.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync, type FolderConfig } from '../../main/engine/folder-loop.ts';
import { folderStateFiles } from '../../main/engine/folder-config.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { inSync, memoryFolder as folder, statusWhere } from '../harness/memory-folder.ts';

/** The index and journal files as they are now, put back by `restore` (a kill -9 at this instant). */
function snapshotState(config: FolderConfig): { restore(): void } {
  const files = folderStateFiles(config.stateDir);
  const saved: [string, string | undefined][] = [files.index, files.journal].map((f) => {
    if (!existsSync(f)) return [f, undefined];
    const copy = `${f}.killed`;
    copyFileSync(f, copy);
    return [f, copy];
  });
  return {
    restore() {
      for (const [f, copy] of saved) {
        if (copy === undefined) rmSync(f, { force: true });
        else copyFileSync(copy, f);
      }
    },
  };
}

/** Runs `sync` until the snapshot is taken, then stops it as a kill would: nothing more reaches the server. */
async function killAt(
  t: TestContext,
  sync: FolderSync,
  server: MemoryServer,
  taken: () => ReturnType<typeof snapshotState> | undefined,
): Promise<ReturnType<typeof snapshotState>> {
  const deadline = Date.now() + 10_000;
  while (taken() === undefined) {
    if (Date.now() > deadline)
      throw new Error(`the kill point was never reached; calls: ${JSON.stringify(server.calls)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await sync.stop();
  t.diagnostic(`server calls: ${server.calls.map((c) => `${c.call} ${c.paths.join(',')}`).join('; ')}`);
  return taken() as ReturnType<typeof snapshotState>;
}

test('creations recorded by a pass that died with its connection survive a kill of the next pass (seed 1203208)', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = folder(t, { 'keep.txt': 'k' });
  const sync = new FolderSync(config, { openTransports: server.open });
  t.after(() => sync.stop());
  await sync.start();
  await statusWhere(sync, inSync, 'the first in-sync state');

  let mkdirs = 0;
  let snapshot: ReturnType<typeof snapshotState> | undefined;
  server.beforeCall = (call, paths) => {
    // First pass: the connection dies before its mkdir of d reaches the server (sshd stopped).
    if (call === 'mkdir' && paths.includes('d') && mkdirs++ === 0) server.cut();
  };
  server.afterCall = (call, paths) => {
    if (snapshot !== undefined || call !== 'mkdir' || !paths.includes('d')) return;
    // The pass after the reconnect made d/ and d/sub/; Ferry is killed right then.
    snapshot = snapshotState(config);
    server.refuseWith = new Error('killed');
    server.cut();
  };
  mkdirSync(join(localRoot, 'd', 'sub'), { recursive: true });
  const killed = await killAt(t, sync, server, () => snapshot);
  assert.ok(server.entries.has('d/sub'), 'the second pass made the tree');

  killed.restore();
  server.refuseWith = undefined;
  server.beforeCall = undefined;
  server.afterCall = undefined;
  // Renamed locally before Ferry is back (as "+311" became "488${IFS}éΕλληνικά").
  rmSync(join(localRoot, 'd'), { recursive: true });
  mkdirSync(join(localRoot, 'e', 'sub'), { recursive: true });
  const after = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.equal(after.inSync, true);
  assert.equal(server.entries.has('d'), false, 'd/ was Ferry\u2019s own and follows the local rename');
  assert.ok(server.entries.has('e/sub'));
});

test('creations matched after a cut survive a kill of the pass that matched them (seed 1203209)', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = folder(t, { 'keep.txt': 'k' });
  const sync = new FolderSync(config, { openTransports: server.open });
  t.after(() => sync.stop());
  await sync.start();
  await statusWhere(sync, inSync, 'the first in-sync state');

  let cut = false;
  let snapshot: ReturnType<typeof snapshotState> | undefined;
  server.afterCall = (call, paths) => {
    if (!cut && call === 'mkdir' && paths.includes('d')) {
      // d/ and d/sub/ landed; the answers are lost with the connection (every connection cut).
      cut = true;
      server.cut();
      return;
    }
    if (cut && snapshot === undefined && call === 'upload' && paths.includes('f.txt')) {
      // The pass after the reconnect sends what was left; Ferry is killed in the middle of it.
      snapshot = snapshotState(config);
      server.refuseWith = new Error('killed');
      server.cut();
    }
  };
  mkdirSync(join(localRoot, 'd', 'sub'), { recursive: true });
  writeFileSync(join(localRoot, 'f.txt'), 'sent after the directories');
  const killed = await killAt(t, sync, server, () => snapshot);
  assert.ok(server.entries.has('d/sub'), 'the first pass made the tree');

  killed.restore();
  server.refuseWith = undefined;
  server.afterCall = undefined;
  rmSync(join(localRoot, 'd'), { recursive: true });
  const after = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.equal(after.inSync, true);
  assert.equal(server.entries.has('d'), false, 'd/ was Ferry\u2019s own and follows the local delete');
});

test('journal records read at start survive a kill before the first pass decided them', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = folder(t, { 'a.txt': 'v1', 'keep.txt': 'k' });
  await new FolderSync(config, { openTransports: server.open }).runOnce();
  // A killed run had overwritten a.txt with v2 and journaled it (the answer never came back).
  writeFileSync(join(localRoot, 'a.txt'), 'v2, longer');
  server.afterCall = (call, paths) => {
    if (call === 'upload' && paths.includes('a.txt')) server.cut();
  };
  await assert.rejects(new FolderSync(config, { openTransports: server.open }).runOnce(), /reset/);
  assert.equal(server.files().get('a.txt'), 'v2, longer');
  server.afterCall = undefined;

  // The next start reads that journal and is killed while its first pass scans the server.
  let snapshot: ReturnType<typeof snapshotState> | undefined;
  server.beforeCall = (call) => {
    if (call !== 'scan' || snapshot !== undefined) return;
    snapshot = snapshotState(config);
    server.refuseWith = new Error('killed');
    server.cut();
  };
  await assert.rejects(new FolderSync(config, { openTransports: server.open }).runOnce(), /killed|reset/);
  assert.ok(snapshot);
  snapshot.restore();
  server.refuseWith = undefined;
  server.beforeCall = undefined;

  rmSync(join(localRoot, 'a.txt'));
  const sync = new FolderSync(config, { openTransports: server.open });
  const after = await sync.runOnce();
  assert.equal(after.inSync, true);
  assert.equal(server.entries.has('a.txt'), false, 'Ferry\u2019s own v2 followed the local delete');
  assert.equal(sync.status().conflictCount, 0);
});
