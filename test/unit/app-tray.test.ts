import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FolderStatus } from '../../main/engine/status.ts';
import { status } from './folder-status-fixture.ts';
import { folderDisplayState, overallState } from '../../main/app-core/tray-state.ts';
import { trayModel, type MenuItemModel } from '../../main/app-core/tray-menu.ts';

const f = (s: FolderStatus, conflicts = 0) => ({ status: s, conflictsNeedingAttention: conflicts });

test('a folder state is named the same in window and tray', () => {
  assert.equal(folderDisplayState(status('a')), 'in-sync');
  assert.equal(folderDisplayState(status('a', { state: 'scanning', inSync: false })), 'syncing');
  assert.equal(folderDisplayState(status('a', { state: 'halted', inSync: false })), 'halted');
  const failing = { path: 'x', error: 'EACCES', attempts: 2, nextRetryAt: new Date().toISOString() };
  assert.equal(
    folderDisplayState(status('a', { inSync: false, failedItems: [failing] })),
    'error',
    'idle with failing items is not in sync',
  );
  assert.equal(folderDisplayState(status('a', { state: 'starting', inSync: false })), 'starting');
  assert.equal(
    folderDisplayState(status('a', { state: 'starting', inSync: false, lastError: 'refused' })),
    'error',
    'a reconnect attempt stays an error',
  );
});

test('overall state follows the documented priority: error > conflict > syncing > paused > in sync', () => {
  assert.equal(overallState([]), 'in-sync');
  assert.equal(overallState([f(status('a')), f(status('b'))]), 'in-sync');
  assert.equal(overallState([f(status('a')), f(status('b', { state: 'paused' }))]), 'paused');
  assert.equal(overallState([f(status('a', { state: 'syncing' })), f(status('b', { state: 'paused' }))]), 'syncing');
  assert.equal(overallState([f(status('a', { state: 'syncing' })), f(status('b'), 2)]), 'conflict');
  assert.equal(overallState([f(status('a', { state: 'halted' })), f(status('b'), 2)]), 'error');
  assert.equal(overallState([f(status('a', { state: 'error' })), f(status('b', { state: 'paused' }))]), 'error');
  assert.equal(
    overallState([f(status('a', { state: 'paused' }), 3)]),
    'conflict',
    'a paused folder with unseen conflicts still asks for attention',
  );
});

function labels(items: MenuItemModel[]): string[] {
  return items.map((i) => (i.kind === 'separator' ? '---' : i.label));
}

test('the tray menu states the overall status first, lists folders, and ends with Open, login and Quit', () => {
  const m = trayModel({
    folders: [f(status('docs', { state: 'syncing', inSync: false })), f(status('photos', { state: 'paused' }), 1)],
    openAtLogin: true,
    language: 'en',
  });
  assert.equal(m.state, 'conflict');
  assert.deepEqual(labels(m.items), [
    'Ferry: conflicts to review',
    '---',
    'docs: syncing',
    'photos: paused (1 ⚠)',
    '---',
    'Pause all',
    'Resume all',
    '---',
    'Open Ferry',
    'Open at login',
    'Quit Ferry',
  ]);
  assert.deepEqual(m.items[0], { kind: 'label', label: 'Ferry: conflicts to review' });
  const docs = m.items[2];
  const photos = m.items[3];
  assert.ok(docs?.kind === 'submenu' && photos?.kind === 'submenu');
  assert.deepEqual(
    docs.items.find((i) => i.kind === 'action' && i.label === 'Pause'),
    { kind: 'action', label: 'Pause', enabled: true, action: { type: 'pauseFolder', folderId: 'docs' } },
  );
  assert.deepEqual(
    photos.items.find((i) => i.kind === 'action' && i.label === 'Resume'),
    { kind: 'action', label: 'Resume', enabled: true, action: { type: 'resumeFolder', folderId: 'photos' } },
  );
  const login = m.items.find((i) => i.kind === 'checkbox');
  assert.deepEqual(login, {
    kind: 'checkbox',
    label: 'Open at login',
    checked: true,
    action: { type: 'toggleOpenAtLogin' },
  });
});

test('Pause all / Resume all are enabled only when they would do something; Chinese labels', () => {
  const allPaused = trayModel({
    folders: [f(status('a', { state: 'paused' }))],
    openAtLogin: false,
    language: 'zh-CN',
  });
  const pauseAll = allPaused.items.find((i) => i.kind === 'action' && i.action.type === 'pauseAll');
  const resumeAll = allPaused.items.find((i) => i.kind === 'action' && i.action.type === 'resumeAll');
  assert.deepEqual(pauseAll, { kind: 'action', label: '全部暂停', enabled: false, action: { type: 'pauseAll' } });
  assert.deepEqual(resumeAll, { kind: 'action', label: '全部继续', enabled: true, action: { type: 'resumeAll' } });
  assert.equal(allPaused.title, 'Ferry：已暂停');
  const empty = trayModel({ folders: [], openAtLogin: false, language: 'en' });
  assert.deepEqual(labels(empty.items).slice(0, 3), ['Ferry: No folders yet', '---', 'Pause all']);
});
