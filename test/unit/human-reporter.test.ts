/** The human reporter's watch-mode lines: one per pass that changed something, --quiet, --verbose, progress off a terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { humanReporter, passLine, PLAIN_PROGRESS_MS, type HumanOptions } from '../../main/cli/reporter.ts';
import type { PassReport } from '../../main/engine/pass-report.ts';
import { status } from './folder-status-fixture.ts';

function collect(options: HumanOptions = {}) {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { r: humanReporter(out, options), lines: () => text.split('\n').filter(Boolean) };
}

const pass = (over: Partial<PassReport> = {}): PassReport => ({
  full: false,
  uploaded: 0,
  removed: 0,
  conflicts: 0,
  failed: 0,
  operations: 0,
  bytes: 0,
  durationMs: 80,
  skipped: 0,
  ...over,
});

test('a pass line counts files, bytes, removals, renames, other changes, conflicts and failures', () => {
  assert.equal(
    passLine(pass({ uploaded: 51, bytes: 1.2 * 1024 * 1024, removed: 2, conflicts: 1 })),
    '\u2191 51 files, 1.2 MiB, 2 removed, 1 conflict, 80 ms',
  );
  assert.equal(passLine(pass({ uploaded: 1, bytes: 5 })), '\u2191 1 file, 5 B, 80 ms');
  assert.equal(
    passLine(pass({ durationMs: 12_345 }), { renamed: 1, other: 2, failed: 3 }),
    '1 renamed, 2 other changes, 3 failed, 12.3 s',
  );
  assert.equal(passLine(pass({ full: true, skipped: 4 })), undefined, 'a pass that changed nothing has no line');
});

test('watch mode: a line per pass that changed something, nothing for one that did not, In sync said once', () => {
  const { r, lines } = collect();
  const s = status('f');
  r.status(s);
  r.file('f', { path: 'a.txt', op: 'upload', ok: true, bytes: 5 });
  r.file('f', { path: 'd', op: 'mkdir', ok: true });
  r.pass('f', pass({ uploaded: 1, bytes: 5, operations: 2 }));
  r.synced(s);
  r.pass('f', pass({ full: true }));
  r.synced(s);
  r.file('f', { path: 'b', op: 'rename', from: 'a', ok: true });
  r.pass('f', pass({ operations: 1 }));
  r.synced(s);
  assert.deepEqual(lines(), [
    '\u2191 1 file, 5 B, 1 other change, 80 ms',
    'In sync: /home/u/f -> u@h:/srv/f',
    '1 renamed, 80 ms',
  ]);
});

test('In sync is said again after an error', () => {
  const { r, lines } = collect();
  r.synced(status('f'));
  r.status(status('f', { state: 'error', inSync: false, lastError: 'Lost the connection' }));
  r.synced(status('f'));
  assert.deepEqual(lines(), [
    'In sync: /home/u/f -> u@h:/srv/f',
    'Error: Lost the connection',
    'In sync: /home/u/f -> u@h:/srv/f',
  ]);
});

test('--quiet prints errors, failures and halts only', () => {
  const { r, lines } = collect({ detail: 'quiet' });
  r.status(status('f', { state: 'syncing', inSync: false }));
  r.file('f', { path: 'a.txt', op: 'upload', ok: true });
  r.file('f', { path: 'b.txt', op: 'upload', ok: false, error: 'Permission denied' });
  r.pass('f', pass({ uploaded: 1, bytes: 5 }));
  r.skipped('f', { path: 'x.sock', reason: 'a socket' });
  r.conflict('f', { time: '', path: 'c', local: null, remote: null, action: 'skipped-local-delete' });
  r.synced(status('f'));
  r.info('Stopping');
  r.status(status('f', { state: 'halted', inSync: false, halt: { reason: 'root-missing', message: 'gone' } }));
  assert.deepEqual(lines(), ['Failed to upload b.txt: Permission denied', 'Halted: gone']);
});

test('--verbose prints every file as well as the pass line', () => {
  const { r, lines } = collect({ detail: 'verbose' });
  r.file('f', { path: 'a.txt', op: 'upload', ok: true });
  r.file('f', { path: 'new', op: 'rename', from: 'old', ok: true });
  r.pass('f', pass({ uploaded: 1, bytes: 3 }));
  assert.deepEqual(lines(), ['upload a.txt', 'rename old -> new', '\u2191 1 file, 3 B, 1 renamed, 80 ms']);
});

test('skipped files are said as such; with several folders lines name theirs', () => {
  const { r, lines } = collect({ names: true });
  r.status(status('f'));
  r.skipped('f', { path: 'x.sock', reason: 'a socket' });
  r.pass('f', pass({ removed: 1 }));
  assert.deepEqual(lines(), ['/home/u/f: Skipping non-regular file: x.sock (a socket)', '/home/u/f: 1 removed, 80 ms']);
});

test('off a terminal, a long pass prints plain progress lines now and then, a short one none', () => {
  let now = 0;
  const { r, lines } = collect({ now: () => now });
  const syncing = (filesDone: number) =>
    status('f', { state: 'syncing', inSync: false, filesDone, filesTotal: 10, bytesDone: 0, bytesTotal: 0 });
  r.status(syncing(0));
  now = PLAIN_PROGRESS_MS - 1;
  r.status(syncing(1));
  assert.deepEqual(lines(), [], 'nothing before the pass has run a while');
  now = PLAIN_PROGRESS_MS;
  r.status(syncing(2));
  now += 1;
  r.status(syncing(3));
  now += PLAIN_PROGRESS_MS;
  r.status(syncing(4));
  assert.deepEqual(lines(), ['Syncing /home/u/f: 2/10 items, 0 B of 0 B', 'Syncing /home/u/f: 4/10 items, 0 B of 0 B']);
  r.status(status('f', { state: 'idle' }));
  r.status(syncing(0));
  now += PLAIN_PROGRESS_MS - 1;
  r.status(syncing(1));
  assert.equal(lines().length, 2, 'the next pass starts its own clock');
});
