/**
 * The soak's rule for fault kinds it cannot inject (fault-policy.ts): never passed; in CI a
 * failure unless FERRY_SOAK_ALLOW_MISSING names the kind; outside CI skipped, with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeMissingFaults } from './fault-policy.ts';

const missing = { readonly: 'no mounts here', 'disk-full': 'no tmpfs here' };

test('in CI every missing kind fails the run', () => {
  const v = judgeMissingFaults(missing, { CI: 'true' });
  assert.deepEqual(
    v.failing.map((f) => f.kind),
    ['readonly', 'disk-full'],
  );
  assert.deepEqual(v.skipped, []);
  assert.equal(v.failing[0]?.why, 'no mounts here');
});

test('in CI FERRY_SOAK_ALLOW_MISSING opts out exactly the kinds it names', () => {
  const v = judgeMissingFaults(missing, { CI: 'true', FERRY_SOAK_ALLOW_MISSING: ' disk-full ' });
  assert.deepEqual(
    v.failing.map((f) => f.kind),
    ['readonly'],
  );
  assert.deepEqual(
    v.skipped.map((f) => f.kind),
    ['disk-full'],
  );
  assert.match(v.skipped[0]?.why ?? '', /^no tmpfs here \(opted out by FERRY_SOAK_ALLOW_MISSING\)$/);
  const all = judgeMissingFaults(missing, { CI: '1', FERRY_SOAK_ALLOW_MISSING: 'all' });
  assert.deepEqual(all.failing, []);
  assert.equal(all.skipped.length, 2);
});

test('a word that names no kind opts nothing out and is reported', () => {
  const v = judgeMissingFaults(missing, { CI: 'true', FERRY_SOAK_ALLOW_MISSING: 'read-only,disk-full' });
  assert.deepEqual(v.unknown, ['read-only']);
  assert.deepEqual(
    v.failing.map((f) => f.kind),
    ['readonly'],
  );
});

test('outside CI (CI unset, empty, "false" or "0") a missing kind is skipped with its reason', () => {
  for (const env of [{}, { CI: '' }, { CI: 'false' }, { CI: '0' }]) {
    const v = judgeMissingFaults(missing, env);
    assert.deepEqual(v.failing, [], JSON.stringify(env));
    assert.deepEqual(
      v.skipped.map((f) => f.why),
      ['no mounts here (outside CI)', 'no tmpfs here (outside CI)'],
    );
  }
});

test('nothing missing: nothing fails, nothing is skipped', () => {
  assert.deepEqual(judgeMissingFaults({}, { CI: 'true' }), { failing: [], skipped: [], unknown: [] });
});
