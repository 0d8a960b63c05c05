/**
 * A folder with several servers as the header, the tray and the card name it: one server
 * paused on its own is "paused on 1 of 2 servers" (the folder goes on syncing to the other,
 * it is not paused), and a canary rollout that failed is "held", while one whose canary is
 * still at work is a rollout in progress ("syncing").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combinedStatus } from '../../main/engine/folder-status.ts';
import type { FolderStatus } from '../../main/engine/status.ts';
import { trayModel } from '../../main/app-core/tray-menu.ts';
import { folderDisplayState, overallState, pausedServersOverall, trayIconFor } from '../../main/app-core/tray-state.ts';
import { status } from './folder-status-fixture.ts';

const web1 = status('multi', { remote: 'u@web1:/srv' });
const web2 = status('multi', { remote: 'u@web2:/srv' });
const f = (s: FolderStatus, conflicts = 0) => ({ status: s, conflictsNeedingAttention: conflicts });
const paused = (s: FolderStatus) => ({ ...s, state: 'paused' as const, inSync: false });

test('one server of two paused: the folder is partly paused, not paused, in the engine, tray and header', () => {
  const s = combinedStatus([web1, paused(web2)]);
  assert.equal(s.state, 'idle', 'the engine ranks the running server');
  assert.equal(s.inSync, false, 'the paused server does not hold what the folder holds');
  assert.equal(folderDisplayState(s), 'partly-paused');
  assert.equal(overallState([f(s)]), 'partly-paused');
  assert.deepEqual(pausedServersOverall([f(s), f(status('solo'))]), { count: 1, total: 3 });
  assert.equal(trayIconFor('partly-paused'), 'paused');

  const m = trayModel({ folders: [f(s)], openAtLogin: false, language: 'en' });
  assert.equal(m.title, 'Ferry: paused on 1 of 2 servers');
  const folder = m.items.find((i) => i.kind === 'submenu');
  assert.ok(folder?.kind === 'submenu');
  assert.equal(folder.label, 'multi: paused on 1 of 2 servers');
  assert.ok(
    folder.items.some((i) => i.kind === 'action' && i.label === 'Pause'),
    'the folder as a whole can still be paused',
  );
  assert.equal(
    trayModel({ folders: [f(s)], openAtLogin: false, language: 'zh-CN' }).title,
    'Ferry：2 台服务器中有 1 台已暂停',
  );

  // The running server at work, in error, or every server paused: those words win.
  assert.equal(
    folderDisplayState(combinedStatus([{ ...web1, state: 'syncing', inSync: false }, paused(web2)])),
    'syncing',
  );
  assert.equal(
    folderDisplayState(combinedStatus([{ ...web1, state: 'error', lastError: 'down' }, paused(web2)])),
    'error',
  );
  assert.equal(combinedStatus([paused(web1), paused(web2)]).state, 'paused');
  assert.equal(overallState([f(s), f(paused(status('other')))]), 'paused', 'a folder paused as a whole outranks');
});

test('a canary rollout held by a failed command is "held"; one waiting for its canary at work is syncing', () => {
  const hookFailed = {
    target: web1.remote,
    where: 'remote' as const,
    command: 'exit 4',
    ok: false,
    exitCode: 4,
    durationMs: 10,
    changed: 1,
    output: ['broken'],
    at: new Date().toISOString(),
  };
  const canary = { ...web1, inSync: false, hookFailed };
  const failed = { canary: web1.remote, message: 'failed', output: ['broken'], failed: true };
  const s = combinedStatus([canary, { ...web2, state: 'held', inSync: false, held: failed }]);
  assert.equal(s.state, 'held');
  assert.equal(folderDisplayState(s), 'held');
  assert.equal(overallState([f(s), f(status('b'), 2)]), 'held', 'a held rollout outranks conflicts');
  assert.equal(trayIconFor('held'), 'error');
  const m = trayModel({ folders: [f(s)], openAtLogin: false, language: 'en' });
  assert.equal(m.title, 'Ferry: held back — a canary check failed');
  assert.equal(m.items.find((i) => i.kind === 'submenu')?.label, 'multi: held back by its canary');

  const waiting = { canary: web1.remote, message: 'Waiting for web1' };
  const rolling = combinedStatus([
    { ...web1, state: 'syncing', inSync: false },
    { ...web2, state: 'held', held: waiting },
  ]);
  assert.equal(folderDisplayState(rolling), 'syncing');
  assert.equal(overallState([f(rolling)]), 'syncing');
});
