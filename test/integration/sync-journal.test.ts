/**
 * Ferry killed after the server acted but before it saved its index: the next run must know
 * that what it was creating is its own. Before each pass's operations Ferry writes what it is
 * about to create (pending.json in the folder's state directory); a run that finds that
 * journal takes those entries into its index. Without it, the soak found directories that
 * Ferry had created, the user then deleted locally while Ferry was down, and the server kept
 * for ever: push mode never deletes what it does not know it put there.
 *
 * The crash is simulated exactly: the server holds what the interrupted pass created, the
 * journal says so, the index does not, and the local folder no longer has it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const harness = sshdForFile();
const { scope } = harness;

async function crashedAfterCreating(name: string, journal: boolean) {
  const local = scope.dir(`${name}-local`);
  const state = scope.dir(`${name}-state`);
  const remote = join(harness.sshd.remoteRoot, name);
  const once = () =>
    runFerry(['sync', '--once', '--json', ...sshFlags(harness.sshd, state), local, targetOf(harness.sshd, remote)]);
  writeTree(local, { 'keep.txt': 'kept' });
  const first = await once();
  assert.equal(first.code, 0, first.stdout + first.stderr);

  // The interrupted pass had created ghost/ and ghost/x.txt on the server...
  const mtime = new Date('2026-01-02T03:04:05Z');
  mkdirSync(join(remote, 'ghost'));
  writeFileSync(join(remote, 'ghost', 'x.txt'), 'made by the killed ferry');
  utimesSync(join(remote, 'ghost', 'x.txt'), mtime, mtime);
  harness.sshd.own(join(remote, 'ghost'));
  const [folderId] = readdirSync(join(state, 'folders'));
  const pending = join(state, 'folders', String(folderId), 'pending.json');
  if (journal) {
    writeFileSync(
      pending,
      JSON.stringify([
        ['ghost', { kind: 'dir', mode: statSync(join(remote, 'ghost')).mode & 0o7777 }],
        [
          'ghost/x.txt',
          {
            kind: 'file',
            size: 24,
            mtimeMs: mtime.getTime(),
            mode: statSync(join(remote, 'ghost', 'x.txt')).mode & 0o7777,
          },
        ],
      ]),
    );
  }
  // ...and the user deleted it locally before Ferry ran again (here it never existed locally).
  return { local, remote, pending, once };
}

test('after a crash, what the interrupted pass created on the server follows the local side (deleted locally: removed)', async () => {
  const f = await crashedAfterCreating('journal', true);
  const r = await f.once();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(existsSync(join(f.remote, 'ghost')), false, 'the ghost directory Ferry made is gone');
  assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
  assert.equal(existsSync(f.pending), false, 'the journal is consumed');
});

test('without a journal the same server entries belong to someone else and stay (push mode keeps what it did not put there)', async () => {
  const f = await crashedAfterCreating('no-journal', false);
  const r = await f.once();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(existsSync(join(f.remote, 'ghost', 'x.txt')), true);
});

async function crashedAfterRewriting(name: string, serverHolds: 'the rewrite' | 'something else') {
  const local = scope.dir(`${name}-local`);
  const state = scope.dir(`${name}-state`);
  const remote = join(harness.sshd.remoteRoot, name);
  const once = () =>
    runFerry(['sync', '--once', '--json', ...sshFlags(harness.sshd, state), local, targetOf(harness.sshd, remote)]);
  writeTree(local, { 'keep.txt': 'kept', 'a.txt': 'version 1' });
  const first = await once();
  assert.equal(first.code, 0, first.stdout + first.stderr);

  // The interrupted pass was overwriting a.txt with version 2 (journaled), and the server got it.
  const mtime = new Date('2026-02-03T04:05:06Z');
  const v2 = 'version 2, longer';
  writeFileSync(join(remote, 'a.txt'), serverHolds === 'the rewrite' ? v2 : 'changed by someone on the server');
  utimesSync(join(remote, 'a.txt'), mtime, mtime);
  const [folderId] = readdirSync(join(state, 'folders'));
  writeFileSync(
    join(state, 'folders', String(folderId), 'pending.json'),
    JSON.stringify([
      [
        'a.txt',
        {
          kind: 'file',
          size: v2.length,
          mtimeMs: mtime.getTime(),
          mode: statSync(join(remote, 'a.txt')).mode & 0o7777,
        },
        'replace',
      ],
    ]),
  );
  // The user deleted the file locally before Ferry ran again.
  rmSync(join(local, 'a.txt'));
  return { local, remote, once };
}

test("after a crash, a rewrite the server shows exactly is Ferry's own: deleted locally, it is removed (no conflict)", async () => {
  const f = await crashedAfterRewriting('journal-rewrite', 'the rewrite');
  const r = await f.once();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(existsSync(join(f.remote, 'a.txt')), false);
  assert.deepEqual(
    r.events.filter((e) => e.event === 'conflict'),
    [],
  );
});

test('after a crash, a journaled rewrite that the server does not show stays a server change (kept, conflict logged)', async () => {
  const f = await crashedAfterRewriting('journal-rewrite-other', 'something else');
  const r = await f.once();
  assert.equal(existsSync(join(f.remote, 'a.txt')), true);
  // Neither the old version nor Ferry's: logged as of unknown origin, then kept from the local delete.
  assert.deepEqual(
    r.events.filter((e) => e.event === 'conflict').map((e) => [e.path, e.action]),
    [
      ['a.txt', 'origin-unknown'],
      ['a.txt', 'skipped-local-delete'],
    ],
    r.stdout,
  );
});

test("after a crash, a rename the server shows is Ferry's own: the moved tree, deleted locally, is removed from the server", async () => {
  // The interrupted pass renamed dir a to b on the server (journaled) and was killed before it
  // saved the index; then the user deleted b locally. Without the journal item the next run
  // knew only a (gone on both sides) and took b for the server's own: it stayed there for
  // ever while Ferry reported in sync (a short soak).
  const local = scope.dir('journal-rename-local');
  const state = scope.dir('journal-rename-state');
  const remote = join(harness.sshd.remoteRoot, 'journal-rename');
  const once = () =>
    runFerry(['sync', '--once', '--json', ...sshFlags(harness.sshd, state), local, targetOf(harness.sshd, remote)]);
  writeTree(local, { 'keep.txt': 'kept', 'a/sub/f.txt': 'moved with its directory' });
  const first = await once();
  assert.equal(first.code, 0, first.stdout + first.stderr);

  renameSync(join(remote, 'a'), join(remote, 'b'));
  const [folderId] = readdirSync(join(state, 'folders'));
  writeFileSync(join(state, 'folders', String(folderId), 'pending.json'), JSON.stringify([['a', 'b', 'rename']]));
  rmSync(join(local, 'a'), { recursive: true });

  const r = await once();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  assert.deepEqual(
    r.events.filter((e) => e.event === 'conflict'),
    [],
  );
});
