/**
 * Names rsync's list readers treat specially, synced with `ferry sync --transport rsync`
 * against the real sshd. rsync reads `--files-from` entries that begin with `#` or `;` as
 * comments (even with `--from0`), skips empty ones and strips a leading `/`; Ferry sends
 * every name as `./name`. Before that, such files were never sent and stayed failed for
 * ever. Created, replaced and deleted (each path through a different rsync run: upload,
 * upload with backups, staged removal), with the shell-injection canaries alongside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIgnoreMatcher } from '../../main/engine/ignore.ts';
import { shellCanaries } from '../harness/shell-canary.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const harness = sshdForFile();
const defaults = createIgnoreMatcher({});

/** Names that begin with what rsync's readers look at first. */
const SPECIAL = [
  '#',
  ';',
  '#hash.txt',
  ';semi.txt',
  '# spaced',
  ';;',
  '#!shebang',
  '- dash space',
  '+ plus space',
  '!',
];

test('names beginning with # or ; (and other special first characters) sync over rsync', async () => {
  const local = harness.scope.dir('special-local');
  const state = harness.scope.dir('special-state');
  const remote = join(harness.sshd.remoteRoot, 'special-names');
  const once = () =>
    runFerry([
      'sync',
      '--once',
      '--json',
      ...sshFlags(harness.sshd, state),
      '--transport',
      'rsync',
      local,
      targetOf(harness.sshd, remote),
    ]);
  const canaries = shellCanaries('rsync-names');
  const tree: Record<string, string | null> = {};
  for (const n of SPECIAL) tree[n] = `file ${n}`;
  tree['#dir/#inner.txt'] = 'inner';
  tree[';dir/;inner.txt'] = 'inner';
  tree['plain/#nested'] = 'nested';
  // `#...#` is an Emacs autosave name, which Ferry's default rules leave out: not those.
  for (const n of canaries.names)
    for (const c of ['#', ';']) if (!defaults.ignores(`${c}${n}`, false)) tree[`${c}${n}`] = 'canary';
  for (const n of Object.keys(tree)) assert.equal(defaults.ignores(n, false), false, `${n} is not left out by default`);
  writeTree(local, tree);

  const first = await once();
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);

  // Replaced (an upload that backs up and settles the server's version) and deleted.
  writeFileSync(join(local, '#hash.txt'), 'changed, longer than before');
  writeFileSync(join(local, '#dir/#inner.txt'), 'inner changed');
  rmSync(join(local, ';semi.txt'));
  rmSync(join(local, ';dir'), { recursive: true });
  rmSync(join(local, '#'));
  const second = await once();
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  assert.deepEqual(
    second.events.filter((e) => e.event === 'conflict'),
    [],
    'the server versions were what Ferry last put there: no conflict copies',
  );

  const third = await once();
  assert.equal(third.code, 0, third.stdout + third.stderr);
  assert.deepEqual(
    third.events.filter((e) => e.event === 'file'),
    [],
    'in sync: nothing left to send',
  );
  assert.deepEqual(canaries.found(), [], 'no shell ever ran a name');
});
