/**
 * `ferry sync` in watch mode against a real OpenSSH sshd: one long-running process follows
 * local edits (single files, bursts with deletes and a directory rename, editor junk, atomic
 * saves), stops cleanly on SIGTERM with its index saved, and a later `--once` run pushes
 * what changed while it was down.
 *
 * The tests of this file share one ferry process and run in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import {
  diffTrees,
  eventually,
  ferryTempFiles,
  readTree,
  runFerry,
  sshFlags,
  startFerry,
  targetOf,
  tempDir,
  waitForSameTree,
  writeTree,
  type FerryProcess,
  editorJunk,
} from '../harness/trees.ts';

const junk = editorJunk;

let sshd: TestSshd;
let local: string;
let state: string;
let remote: string;
let ferry: FerryProcess | undefined;

const fileEvents = () => (ferry?.events ?? []).filter((e) => e.event === 'file');
const remoteText = (rel: string) => readFileSync(join(remote, rel), 'utf8');

before(async () => {
  sshd = await startSshd();
  local = tempDir('watch-local');
  state = tempDir('watch-state');
  remote = join(sshd.remoteRoot, 'watched');
  writeTree(local, { 'seed/a.txt': 'seed a', 'olddir/x.txt': 'x', 'olddir/sub/y.txt': 'y', 'keep.txt': 'keep' });
});

after(async () => {
  if (ferry && ferry.child.exitCode === null && ferry.child.signalCode === null) {
    ferry.child.kill('SIGKILL');
    await ferry.exited;
  }
  await sshd?.dispose();
  rmSync(local, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

describe('ferry sync (watch mode)', () => {
  test('the initial sync ends in an idle, in-sync state with the server equal to the folder', async () => {
    ferry = startFerry(['sync', '--json', ...sshFlags(sshd, state), local, targetOf(sshd, remote)]);
    await ferry.waitFor(
      (e) => e.event === 'state' && e.state === 'idle' && e.inSync === true,
      30_000,
      'the first idle/in-sync state',
    );
    assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  });

  test('a created file appears on the server, then an edit replaces it', async () => {
    writeFileSync(join(local, 'new.txt'), 'first version');
    await eventually(
      () => existsSync(join(remote, 'new.txt')) && remoteText('new.txt') === 'first version',
      20_000,
      () => 'new.txt did not reach the server',
    );
    writeFileSync(join(local, 'new.txt'), 'second, longer version of the file');
    await eventually(
      () => remoteText('new.txt') === 'second, longer version of the file',
      20_000,
      () => `server has ${JSON.stringify(remoteText('new.txt'))}`,
    );
    await waitForSameTree(local, remote);
  });

  test('a burst of 200 files in nested dirs, deletes and a directory rename converge', async () => {
    for (let i = 0; i < 200; i++) {
      writeFileSync(
        join(mkdirp(join(local, 'burst', `d${i % 10}`, `sub${i % 3}`)), `f${i}.txt`),
        `burst file ${i}\n`.repeat(1 + (i % 7)),
      );
    }
    for (let i = 0; i < 200; i += 9) rmSync(join(local, 'burst', `d${i % 10}`, `sub${i % 3}`, `f${i}.txt`));
    rmSync(join(local, 'seed', 'a.txt'));
    renameSync(join(local, 'olddir'), join(local, 'newdir'));
    renameSync(join(local, 'burst', 'd3'), join(local, 'burst', 'd3-renamed'));
    await waitForSameTree(local, remote, { timeoutMs: 40_000 });
    assert.equal(existsSync(join(remote, 'olddir')), false);
    assert.equal(remoteText('newdir/sub/y.txt'), 'y');
    assert.deepEqual(ferryTempFiles(remote), []);
  });

  test('editor junk created and deleted during the run never reaches the server', async () => {
    writeFileSync(join(local, '.x.swp'), 'vim swap');
    writeFileSync(join(local, '4913'), '');
    writeFileSync(join(local, 'foo~'), 'backup');
    symlinkSync('user@host.1234:1700000000', join(local, '.#lock'));
    mkdirSync(join(local, 'editdir'));
    writeFileSync(join(local, 'editdir', '.y.swp'), 'swap in a subdir');
    writeFileSync(join(local, 'editdir', 'draft.md~'), 'backup in a subdir');
    // A real file next to the junk: once it is on the server, a pass has seen the junk.
    writeFileSync(join(local, 'editdir', 'draft.md'), 'draft');
    writeFileSync(join(local, 'marker1.txt'), 'm1');
    await eventually(
      () => existsSync(join(remote, 'marker1.txt')) && existsSync(join(remote, 'editdir', 'draft.md')),
      20_000,
    );
    for (const n of ['.x.swp', '4913', 'foo~', '.#lock', 'editdir/.y.swp', 'editdir/draft.md~'])
      assert.equal(existsSync(join(remote, n)), false, `${n} reached the server`);
    for (const n of ['.x.swp', '4913', 'foo~', '.#lock', 'editdir/.y.swp', 'editdir/draft.md~']) rmSync(join(local, n));
    writeFileSync(join(local, 'marker2.txt'), 'm2');
    await eventually(() => existsSync(join(remote, 'marker2.txt')), 20_000);
    await waitForSameTree(local, remote);
    const junkEvents = fileEvents().filter((e) => junk(basename(String(e.path))));
    assert.deepEqual(junkEvents, [], 'no file event names editor junk');
  });

  test('an atomic save (swap file, temp file renamed over the target) ends with the new content', async () => {
    writeFileSync(join(local, 'f'), 'original content');
    await eventually(() => existsSync(join(remote, 'f')) && remoteText('f') === 'original content', 20_000);
    for (let round = 1; round <= 3; round++) {
      writeFileSync(join(local, '.f.swp'), `swap ${round}`);
      writeFileSync(join(local, 'f.tmp'), `saved content, round ${round}`);
      renameSync(join(local, 'f.tmp'), join(local, 'f'));
      rmSync(join(local, '.f.swp'));
    }
    await eventually(
      () => remoteText('f') === 'saved content, round 3',
      20_000,
      () => `server has ${JSON.stringify(remoteText('f'))}`,
    );
    await waitForSameTree(local, remote);
    assert.equal(existsSync(join(remote, 'f.tmp')), false);
    assert.deepEqual(
      fileEvents().filter((e) => e.path === '.f.swp'),
      [],
    );
  });

  test('SIGTERM stops the process with exit code 0 and the index saved', async () => {
    const proc = ferry as FerryProcess;
    await proc.waitFor((e) => e.event === 'state' && e.state === 'idle' && e.inSync === true, 20_000);
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, proc.stderr());
    const folder = String(proc.events[0]?.folder);
    const indexFile = join(state, 'folders', folder, 'index.json');
    assert.ok(existsSync(indexFile), `${indexFile} exists`);
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { entries: [string, { kind: string }][] };
    const paths = new Set(index.entries.map(([p]) => p));
    assert.ok(
      paths.has('f') && paths.has('newdir/sub/y.txt') && paths.has('burst/d3-renamed'),
      'the index records what was synced',
    );
    assert.equal(paths.has('olddir'), false);
  });

  test('changes made while Ferry was down are pushed by the next --once run', async () => {
    writeFileSync(join(local, 'f'), 'edited while ferry was down');
    writeFileSync(join(local, 'offline-new.txt'), 'created while ferry was down');
    rmSync(join(local, 'keep.txt'));
    const r = await runFerry(['sync', '--once', '--json', ...sshFlags(sshd, state), local, targetOf(sshd, remote)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(diffTrees(readTree(local, { skip: junk }), readTree(remote)), []);
    const ops = r.events
      .filter((e) => e.event === 'file')
      .map((e) => `${e.op} ${e.path}`)
      .sort();
    assert.deepEqual(
      ops,
      ['remove keep.txt', 'upload f', 'upload offline-new.txt'],
      'only what changed is sent: the index from the watch run was used',
    );
  });
});

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
