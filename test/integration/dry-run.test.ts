/** `ferry sync --dry-run` against the real sshd: says what would happen, changes nothing anywhere. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

function planOf(events: Record<string, unknown>[]) {
  const plans = events.filter((e) => e.event === 'plan');
  assert.equal(plans.length, 1, JSON.stringify(events));
  return plans[0] as {
    uploads: { count: number; bytes: number; paths: string[] };
    removes: { count: number; files: number; paths: string[] };
    conflictCopies: { count: number };
    halt?: { reason: string };
  };
}

test('a dry run of a first sync lists the uploads and creates nothing on the server or in the state dir', async () => {
  const local = fx.scope.dir('dry-local');
  const stateRoot = fx.scope.dir('dry-state');
  const state = join(stateRoot, 'not-yet');
  const remote = join(fx.sshd.remoteRoot, 'dry-first', 'site');
  writeTree(local, { 'a.txt': 'aa', 'd/b.txt': 'bbb', 'd/c.txt': 'c' });
  const r = await runFerry([
    'sync',
    '--dry-run',
    '--json',
    ...sshFlags(fx.sshd, state),
    local,
    targetOf(fx.sshd, remote),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const plan = planOf(r.events);
  assert.equal(plan.uploads.count, 3);
  assert.equal(plan.uploads.bytes, 6);
  assert.deepEqual(plan.uploads.paths.sort(), ['a.txt', 'd/b.txt', 'd/c.txt']);
  assert.equal(existsSync(join(fx.sshd.remoteRoot, 'dry-first')), false, 'nothing created on the server');
  assert.equal(existsSync(state), false, 'no state directory');
  const human = await runFerry(['sync', '--dry-run', ...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, remote)]);
  assert.match(
    human.stderr,
    /^Dry run \(nothing was changed\): Ferry would upload 3 files \(6 B\), delete nothing on the server/m,
  );
});

test('a dry run after edits lists uploads, deletes and conflict copies, and leaves server and index as they were', async () => {
  const local = fx.scope.dir('dry2-local');
  const state = fx.scope.dir('dry2-state');
  const remote = join(fx.sshd.remoteRoot, 'dry-edits');
  writeTree(local, { 'keep.txt': 'k', 'gone.txt': 'g', 'both.txt': 'b1' });
  const args = [...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, remote)];
  assert.equal((await runFerry(['sync', '--once', ...args])).code, 0);
  rmSync(join(local, 'gone.txt'));
  writeFileSync(join(local, 'both.txt'), 'local edit');
  writeFileSync(join(remote, 'both.txt'), 'server edit!');
  fx.sshd.own(join(remote, 'both.txt'));
  const [folderId] = readdirSync(join(state, 'folders'));
  const index = join(state, 'folders', String(folderId), 'index.json');
  const indexBefore = readFileSync(index, 'utf8');
  const treeBefore = readTree(remote);
  const r = await runFerry(['sync', '--dry-run', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const plan = planOf(r.events);
  assert.deepEqual(plan.uploads.paths, ['both.txt']);
  assert.deepEqual(plan.removes.paths, ['gone.txt']);
  assert.equal(plan.conflictCopies.count, 1);
  assert.deepEqual(readTree(remote), treeBefore, 'the server is untouched');
  assert.equal(readFileSync(index, 'utf8'), indexBefore, 'the index is untouched');
});

test('a dry run says when the sync would halt (a first mirror sync onto a non-empty folder)', async () => {
  const local = fx.scope.dir('dry3-local');
  const state = fx.scope.dir('dry3-state');
  const remote = join(fx.sshd.remoteRoot, 'dry-mirror');
  writeTree(local, { 'index.html': 'hi' });
  writeTree(remote, { 'precious.db': 'not ferry\u2019s' });
  fx.sshd.own(remote);
  const r = await runFerry([
    'sync',
    '--dry-run',
    '--json',
    '--mode',
    'mirror',
    ...sshFlags(fx.sshd, state),
    local,
    targetOf(fx.sshd, remote),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(planOf(r.events).halt?.reason, 'first-mirror-sync');
  assert.equal(readFileSync(join(remote, 'precious.db'), 'utf8'), 'not ferry\u2019s');
});
