import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notCreatedError } from '../../main/engine/apply-steps.ts';
import { groupFailures } from '../../main/engine/failure-groups.ts';

test('items below a refused directory are one line with a count under its own failure', () => {
  const items = [
    { path: 'site', error: 'mkdir /srv/site failed on the server: Permission denied' },
    ...Array.from({ length: 1000 }, (_, i) => ({ path: `site/f${i}`, error: notCreatedError('site') })),
    { path: 'other.txt', error: 'open /srv/other.txt failed on the server: No space left' },
  ];
  assert.deepEqual(groupFailures(items), [
    'site: mkdir /srv/site failed on the server: Permission denied (and 1000 item(s) below it, not sent)',
    'other.txt: open /srv/other.txt failed on the server: No space left',
  ]);
});

test('a refused directory whose own failure is not listed still gets one line', () => {
  const items = Array.from({ length: 3 }, (_, i) => ({ path: `a b/"q"/f${i}`, error: notCreatedError('a b/"q"') }));
  assert.deepEqual(groupFailures(items), ['a b/"q": 3 item(s) below it not sent: the server refused to create it']);
});

test('independent failures print at most the limit, then a count', () => {
  const items = Array.from({ length: 120 }, (_, i) => ({ path: `f${i}`, error: 'Permission denied' }));
  const lines = groupFailures(items, 50);
  assert.equal(lines.length, 51);
  assert.equal(lines[49], 'f49: Permission denied');
  assert.match(lines[50] ?? '', /^\.\.\. and 70 more failed item\(s\)/);
});
