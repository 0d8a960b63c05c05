import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { jsonReporter } from '../../main/cli/reporter.ts';
import { status } from './folder-status-fixture.ts';

function collect() {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { out, lines };
}

test('--json reports a folder that went idle with failed items waiting for their retry', () => {
  // It printed nothing for that: the last state line said "scanning" while Ferry waited (the
  // soak took such a folder for hung).
  const { out, lines } = collect();
  const r = jsonReporter(out);
  const failing = [{ path: 'a.txt', error: 'Permission denied', attempts: 3, nextRetryAt: '2026-11-24T17:00:00.000Z' }];
  r.status(status('f', { state: 'scanning', inSync: false }));
  r.status(status('f', { state: 'idle', inSync: false, failedItems: failing }));
  r.status(status('f', { state: 'idle', inSync: false, failedItems: failing })); // no change, no line
  r.status(status('f', { state: 'scanning', inSync: false }));
  r.status(status('f', { state: 'idle', inSync: true })); // idle and in sync: synced() says it
  r.synced(status('f', { state: 'idle', inSync: true }));
  assert.deepEqual(
    lines.map((l) => `${String(l.state)}${l.inSync === undefined ? '' : ` inSync=${String(l.inSync)}`}`),
    ['scanning', 'idle inSync=false', 'scanning', 'idle inSync=true'],
  );
});
