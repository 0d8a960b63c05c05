import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FolderStatus } from '../../main/engine/status.ts';
import { NotificationRules } from '../../main/app-core/notifications.ts';
import { status } from './folder-status-fixture.ts';

const kinds = (n: { kind: string }[]) => n.map((x) => x.kind);
const halted = (reason: 'root-missing' | 'mass-delete'): Partial<FolderStatus> => ({
  state: 'halted',
  inSync: false,
  halt: { reason, message: `halted: ${reason}` },
});

test('a new conflict notifies once per record', () => {
  const rules = new NotificationRules();
  const rec = { time: '2024-05-01T10:00:00.000Z', path: 'notes.txt', action: 'kept-remote-copy' as const };
  const first = rules.onConflict('docs', status('docs'), rec);
  assert.equal(first.length, 1);
  assert.equal(first[0]?.title, 'Conflict in docs');
  assert.match(first[0]?.body ?? '', /notes\.txt changed on both sides/);
  assert.deepEqual(rules.onConflict('docs', status('docs'), rec), []);
  assert.equal(rules.onConflict('docs', status('docs'), { ...rec, time: '2024-05-01T11:00:00.000Z' }).length, 1);
});

test('a halt notifies once per episode, not on every periodic re-check', () => {
  const rules = new NotificationRules();
  assert.deepEqual(kinds(rules.onStatus(status('a', { state: 'syncing', inSync: false }), 0)), []);
  const n = rules.onStatus(status('a', halted('root-missing')), 1);
  assert.deepEqual(kinds(n), ['halted']);
  assert.equal(n[0]?.body, 'halted: root-missing');
  assert.deepEqual(rules.onStatus(status('a', { state: 'scanning', inSync: false }), 2), []);
  assert.deepEqual(
    rules.onStatus(status('a', halted('root-missing')), 3),
    [],
    're-check through scanning is the same episode',
  );
  assert.deepEqual(
    kinds(rules.onStatus(status('a', halted('mass-delete')), 4)),
    ['halted'],
    'a different reason is news',
  );
  rules.onStatus(status('a'), 5);
  assert.deepEqual(
    kinds(rules.onStatus(status('a', halted('mass-delete')), 6)),
    ['halted'],
    'after it synced, a new halt notifies again',
  );
});

test('an error notifies only after it outlasts the grace time, once per episode', () => {
  const rules = new NotificationRules({ errorGraceMs: 1000 });
  const err = status('a', { state: 'error', inSync: false, lastError: 'connection refused' });
  assert.deepEqual(rules.onStatus(err, 0), []);
  assert.deepEqual(
    rules.onStatus(status('a', { state: 'starting', inSync: false }), 400),
    [],
    'a reconnect attempt does not end the episode',
  );
  assert.deepEqual(rules.onStatus(err, 500), []);
  assert.deepEqual(rules.tick(999), []);
  const n = rules.tick(1000);
  assert.deepEqual(kinds(n), ['error-persists']);
  assert.equal(n[0]?.body, 'connection refused');
  assert.deepEqual(rules.tick(5000), []);
  assert.deepEqual(rules.onStatus(err, 6000), []);
  rules.onStatus(status('a'), 7000);
  rules.onStatus(err, 8000);
  assert.deepEqual(kinds(rules.tick(9000)), ['error-persists'], 'a new episode after recovery');
});

test('a changed host key notifies at once, and not again as a lasting error', () => {
  const rules = new NotificationRules({ errorGraceMs: 10 });
  const err = status('a', {
    state: 'error',
    inSync: false,
    lastError: 'WARNING: the host key for [h]:22 has changed. ...',
    lastErrorKind: 'host-key-changed',
  });
  assert.deepEqual(kinds(rules.onStatus(err, 0)), ['host-key-changed']);
  assert.deepEqual(rules.onStatus(err, 100), []);
  assert.deepEqual(rules.tick(1000), []);
});

test('a folder waiting for its password notifies at once with the sentence that says so, once', () => {
  const rules = new NotificationRules({ errorGraceMs: 10 });
  const waiting = status('a', {
    state: 'error',
    inSync: false,
    lastError: 'Ferry needs the password for u@h to start this folder: ...',
    lastErrorKind: 'needs-secret',
  });
  const [notice, ...more] = rules.onStatus(waiting, 0);
  assert.deepEqual(more, []);
  assert.equal(notice?.kind, 'needs-secret');
  assert.equal(notice?.title, 'a is waiting for its password');
  assert.match(notice?.body ?? '', /needs the password for u@h/);
  assert.deepEqual(rules.onStatus(waiting, 100), []);
  assert.deepEqual(rules.tick(1000), [], 'no second "error persists" notice');
});

test('a file that keeps failing notifies once when it reaches the attempt threshold', () => {
  const rules = new NotificationRules({ failedAttempts: 3 });
  const item = (attempts: number) => ({
    path: 'big.iso',
    error: 'disk full',
    attempts,
    nextRetryAt: '2024-01-01T00:00:00.000Z',
  });
  assert.deepEqual(rules.onStatus(status('a', { failedItems: [item(2)], inSync: false }), 0), []);
  const n = rules.onStatus(status('a', { failedItems: [item(3)], inSync: false }), 1);
  assert.deepEqual(kinds(n), ['file-failing']);
  assert.equal(n[0]?.body, 'big.iso: disk full');
  assert.deepEqual(rules.onStatus(status('a', { failedItems: [item(4)], inSync: false }), 2), []);
  rules.onStatus(status('a'), 3);
  assert.deepEqual(kinds(rules.onStatus(status('a', { failedItems: [item(3)], inSync: false }), 4)), ['file-failing']);
});

test('routine states never notify', () => {
  const rules = new NotificationRules({ errorGraceMs: 0 });
  for (const state of ['starting', 'scanning', 'syncing', 'idle', 'paused'] as const) {
    assert.deepEqual(rules.onStatus(status('a', { state, inSync: state === 'idle' }), 1), [], state);
  }
  assert.deepEqual(rules.tick(10_000), []);
});

test('a failed command after sync notifies once per run, also for a second target', () => {
  const rules = new NotificationRules();
  const hook = {
    target: 'ssh://deploy@web2:22/srv/site',
    where: 'remote' as const,
    command: 'systemctl reload site',
    ok: false,
    exitCode: 3,
    durationMs: 1200,
    changed: 1,
    output: ['Job for site.service failed.'],
    at: '2024-05-06T07:08:09.000Z',
  };
  const base = status('site', { state: 'idle' });
  const withHook: FolderStatus = { ...base, targets: [base, { ...base, hookFailed: hook }] };
  const first = rules.onStatus(withHook, 0);
  assert.deepEqual(
    first.map((n) => [n.kind, n.body]),
    [
      [
        'hook-failed',
        '“systemctl reload site” on ssh://deploy@web2:22/srv/site: exit status 3. Job for site.service failed.',
      ],
    ],
  );
  assert.deepEqual(rules.onStatus(withHook, 1), [], 'the same run is not told twice');
  const next = { ...hook, at: '2024-05-06T07:09:09.000Z' };
  assert.equal(rules.onStatus({ ...base, hookFailed: next }, 2).length, 1, 'a later failing run is');
});
