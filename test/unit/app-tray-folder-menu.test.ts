import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from './folder-status-fixture.ts';
import { trayModel, type MenuItemModel } from '../../main/app-core/tray-menu.ts';
import { countUnresolved, conflictKey } from '../../main/app-core/conflict-marks.ts';
import { TimedPauses, pauseChoices } from '../../main/app-core/timed-pause.ts';
import { BytesSent } from '../../renderer/bytes-sent.ts';

const NOW = Date.parse('2025-03-10T12:00:00Z');

function submenu(items: MenuItemModel[], startsWith: string): MenuItemModel[] {
  const m = items.find((i) => i.kind === 'submenu' && i.label.startsWith(startsWith));
  assert.ok(m && m.kind === 'submenu', `a submenu for ${startsWith}`);
  return m.items;
}
const labels = (items: MenuItemModel[]) => items.map((i) => (i.kind === 'separator' ? '---' : i.label));

test('a folder submenu: last sync and rate, Sync now, Open folder, Conflicts, Pause and the timed pauses', () => {
  const m = trayModel({
    folders: [
      {
        status: status('docs', {
          state: 'syncing',
          inSync: false,
          throughputBps: 2 * 1024 * 1024,
          lastSyncAt: new Date(NOW - 5 * 60_000).toISOString(),
        }),
        conflictsNeedingAttention: 2,
      },
    ],
    openAtLogin: false,
    language: 'en',
    now: NOW,
  });
  const items = submenu(m.items, 'docs: syncing (2 ⚠)');
  const l = labels(items);
  assert.deepEqual(l.slice(0, 6), [
    'Last synced 5 minutes ago · 2.0 MiB/s',
    '---',
    'Sync now',
    'Open folder',
    'Conflicts (2)…',
    '---',
  ]);
  assert.deepEqual(l.slice(6, 8), ['Pause', 'Pause for 1 hour']);
  assert.match(l[8] ?? '', /^Pause until tomorrow \d\d:00/);
  const hour = items.find((i) => i.kind === 'action' && i.label === 'Pause for 1 hour');
  assert.ok(hour?.kind === 'action' && hour.action.type === 'pauseFolderUntil');
  assert.equal(hour.action.until, new Date(NOW + 3600_000).toISOString());
  const conflicts = items.find((i) => i.kind === 'action' && i.label.startsWith('Conflicts'));
  assert.deepEqual(conflicts?.kind === 'action' && conflicts.action, { type: 'showConflicts', folderId: 'docs' });
});

test('a paused folder offers Resume (no timed pause, no Sync now) and says until when', () => {
  const until = new Date(NOW + 3600_000).toISOString();
  const m = trayModel({
    folders: [{ status: status('photos', { state: 'paused' }), conflictsNeedingAttention: 0, pausedUntil: until }],
    openAtLogin: false,
    language: 'en',
    now: NOW,
  });
  const items = submenu(m.items, 'photos: paused');
  const l = labels(items);
  assert.equal(l[0], 'Not synced yet');
  assert.match(l[1] ?? '', /^Paused until /);
  assert.ok(l.includes('Resume') && !l.includes('Pause for 1 hour') && l.includes('Conflict log…'));
  const sync = items.find((i) => i.kind === 'action' && i.label === 'Sync now');
  assert.equal(sync?.kind === 'action' && sync.enabled, false);
});

test('no folders: the tray title says so, not "everything in sync"', () => {
  const m = trayModel({ folders: [], openAtLogin: false, language: 'en' });
  assert.equal(m.title, 'Ferry: No folders yet');
  assert.equal(labels(m.items)[0], 'Ferry: No folders yet');
});

test('unresolved conflicts: records without a mark', () => {
  const records = [
    { time: '2025-01-01T00:00:00Z', path: 'a' },
    { time: '2025-01-02T00:00:00Z', path: 'a' },
    { time: '2025-01-02T00:00:00Z', path: 'b' },
  ];
  assert.equal(countUnresolved(records, new Set()), 3);
  assert.equal(countUnresolved(records, new Set([conflictKey('2025-01-02T00:00:00Z', 'a')])), 2);
});

test('timed pauses: one timer per folder, cleared by a manual resume, refused beyond a week', () => {
  const pending = new Map<number, () => void>();
  let next = 0;
  const timers = new TimedPauses({
    setTimeout: (fn) => (pending.set(++next, fn), next),
    clearTimeout: (h) => pending.delete(h as number),
  });
  const fired: string[] = [];
  timers.set('a', new Date(NOW + 1000), NOW, () => fired.push('a'));
  timers.set('a', new Date(NOW + 2000), NOW, () => fired.push('a2'));
  assert.equal(pending.size, 1, 'the second replaces the first');
  assert.equal(timers.until('a'), new Date(NOW + 2000).toISOString());
  for (const fn of pending.values()) fn();
  assert.deepEqual(fired, ['a2']);
  assert.equal(timers.until('a'), undefined);
  timers.set('b', new Date(NOW + 1000), NOW, () => fired.push('b'));
  timers.clear('b');
  assert.equal(pending.size, 1, 'the fired one stays in the fake only');
  assert.throws(() => timers.set('c', new Date(NOW - 1), NOW, () => undefined), /in the future/);
  assert.throws(() => timers.set('c', new Date(NOW + 8 * 86_400_000), NOW, () => undefined), /within 7 days/);
  const c = pauseChoices(new Date(2025, 2, 10, 23, 30));
  assert.deepEqual([c.tomorrow.getDate(), c.tomorrow.getHours()], [11, 8]);
});

test('bytes sent: the growth of bytesDone between statuses, restarting with each pass', () => {
  const b = new BytesSent();
  assert.equal(b.update({ id: 'x', state: 'scanning', bytesDone: 0 }), 0);
  assert.equal(b.update({ id: 'x', state: 'syncing', bytesDone: 100 }), 100);
  assert.equal(b.update({ id: 'x', state: 'syncing', bytesDone: 250 }), 150);
  assert.equal(b.update({ id: 'x', state: 'idle', bytesDone: 300 }), 50);
  assert.equal(b.update({ id: 'x', state: 'idle', bytesDone: 300 }), 0);
  assert.equal(b.update({ id: 'x', state: 'syncing', bytesDone: 40 }), 40, 'a new pass counts from zero');
});
