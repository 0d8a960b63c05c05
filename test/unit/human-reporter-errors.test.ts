/** The human reporter says an error once per distinct message, not once per retry, and groups failures by cause. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { humanReporter } from '../../main/cli/reporter.ts';
import { notCreatedError } from '../../main/engine/apply-steps.ts';
import type { PassReport } from '../../main/engine/pass-report.ts';
import { status } from './folder-status-fixture.ts';

function collect() {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { r: humanReporter(out), lines: () => text.split('\n').filter(Boolean) };
}

test('the same error across retries is said once; another error, or the same after a recovery, again', () => {
  const { r, lines } = collect();
  const refused = status('f', {
    state: 'error',
    inSync: false,
    lastError: 'Host key unknown',
    lastErrorKind: 'host-key-unknown',
  });
  for (let i = 0; i < 5; i++) {
    r.status(refused);
    r.status(status('f', { state: 'starting', inSync: false, lastError: 'Host key unknown' }));
  }
  assert.deepEqual(lines(), ['Error: Host key unknown']);
  r.status(status('f', { state: 'error', inSync: false, lastError: 'Authentication failed', lastErrorKind: 'auth' }));
  r.status(status('f'));
  r.status(refused);
  assert.deepEqual(lines(), ['Error: Host key unknown', 'Error: Authentication failed', 'Error: Host key unknown']);
});

test('failures are printed at the end of a pass, grouped by cause', () => {
  const { r, lines } = collect();
  r.file('f', { path: 'd', op: 'mkdir', ok: false, error: 'Permission denied' });
  for (let i = 0; i < 300; i++) r.file('f', { path: `d/${i}`, op: 'upload', ok: false, error: notCreatedError('d') });
  assert.deepEqual(lines(), [], 'nothing before the pass ends');
  const report: PassReport = {
    full: true,
    uploaded: 0,
    removed: 0,
    conflicts: 0,
    failed: 301,
    operations: 301,
    bytes: 0,
    durationMs: 5,
    skipped: 0,
  };
  r.pass('f', report);
  assert.deepEqual(lines().slice(0, 1), ['Failed to mkdir d: Permission denied (and 300 item(s) below it, not sent)']);
  assert.equal(lines().filter((l) => l.startsWith('Failed')).length, 1);
});
