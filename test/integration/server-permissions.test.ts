/**
 * A server directory Ferry's user may not write to, for real: the harness sshd logs in as an
 * unprivileged user (as root, the tests' ferry-test account), so the server's kernel refuses
 * the writes. Over SFTP and over rsync: the items below that directory fail with a permission
 * error naming them, every other change of the pass still lands, and once the permissions are
 * back the next pass converges.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const harness = sshdForFile();
const { scope } = harness;

function fixture(name: string, transport: string) {
  const local = scope.dir(`${name}-local`);
  const state = scope.dir(`${name}-state`);
  const remote = join(harness.sshd.remoteRoot, `${name}-${transport}`);
  const once = () =>
    runFerry([
      'sync',
      '--once',
      '--json',
      ...sshFlags(harness.sshd, state),
      '--transport',
      transport,
      local,
      targetOf(harness.sshd, remote),
    ]);
  return { local, remote, once };
}

type FileEvent = { event: 'file'; path: string; op: string; ok: boolean; error?: string; errorCode?: string };
const failures = (events: Record<string, unknown>[]) =>
  (events.filter((e) => e.event === 'file' && e.ok === false) as FileEvent[]).sort((a, b) =>
    a.path.localeCompare(b.path),
  );

/** Ways a directory becomes unwritable for the server's user, and how each is undone. */
const lockings = [
  {
    name: 'read-only',
    what: 'its own directory, chmod 0555',
    lock: (dir: string) => chmodSync(dir, 0o555),
    unlock: (dir: string) => chmodSync(dir, 0o755),
  },
  {
    name: 'root-owned',
    what: 'a directory owned by root (0755)',
    lock: (dir: string) => chownSync(dir, 0, 0),
    unlock: (dir: string) => harness.sshd.own(dir),
  },
];

for (const transport of ['sftp', 'rsync']) {
  describe(`a server directory the user cannot write to, over ${transport}`, () => {
    for (const locking of lockings) {
      test(`${locking.what}: its items fail naming the path, the rest syncs, and restored it converges`, async (t: TestContext) => {
        if (harness.sshd.uid === 0)
          return t.skip('the server logs in as root, which ignores permissions: nothing can be refused');
        if (locking.name === 'root-owned' && process.getuid?.() !== 0)
          return t.skip('giving a directory to root needs the tests to run as root');
        const f = fixture(locking.name, transport);
        writeTree(f.local, {
          'a.txt': 'a 1',
          'gone.txt': 'deleted later',
          'locked/old.txt': 'old',
          'locked/old2.txt': 'old 2',
          'open/b.txt': 'b',
        });
        const first = await f.once();
        assert.equal(first.code, 0, first.stdout + first.stderr);

        const lockedDir = join(f.remote, 'locked');
        locking.lock(lockedDir);
        try {
          // Changes below the locked directory, and elsewhere: new, modified and deleted files.
          writeFileSync(join(f.local, 'locked', 'new.txt'), 'cannot land');
          rmSync(join(f.local, 'locked', 'old.txt'));
          rmSync(join(f.local, 'locked', 'old2.txt'));
          writeFileSync(join(f.local, 'a.txt'), 'a 2, longer');
          writeFileSync(join(f.local, 'open', 'c.txt'), 'c');
          rmSync(join(f.local, 'gone.txt'));

          const r = await f.once();
          assert.equal(r.code, 1, `exit 1: some items failed\n${r.stdout}${r.stderr}`);
          const failed = failures(r.events);
          assert.deepEqual(
            failed.map((e) => [e.path, e.errorCode]),
            [
              ['locked/new.txt', 'permission-denied'],
              ['locked/old.txt', 'permission-denied'],
              ['locked/old2.txt', 'permission-denied'],
            ],
            r.stdout,
          );
          for (const e of failed) {
            assert.match(e.error ?? '', /Permission denied/, e.error);
            const [dir, base] = [e.path.slice(0, e.path.lastIndexOf('/')), e.path.slice(e.path.lastIndexOf('/') + 1)];
            assert.ok(
              e.error?.includes(`${dir}/`) && e.error.includes(base),
              `the message names ${e.path}: ${e.error}`,
            );
          }
          // Over rsync too (its lines named rsync's temp file, and a failed delete carried every
          // failed delete of the batch): the SFTP sentence, naming its own item only.
          await t.test('each message names its item by its full server path, and only its own item', () => {
            for (const e of failed) {
              // SFTP removes by renaming aside first (sftp-expected.ts): its refusal is the rename's.
              const op = e.op === 'upload' ? 'open' : transport === 'sftp' ? 'rename' : 'remove';
              assert.equal(e.error, `${op} ${join(f.remote, e.path)} failed on the server: Permission denied`);
              for (const other of failed)
                if (other !== e) assert.ok(!e.error?.includes(other.path), `${e.path} only: ${e.error}`);
            }
          });
          // Everything else of the pass landed.
          assert.equal(readFileSync(join(f.remote, 'a.txt'), 'utf8'), 'a 2, longer');
          assert.equal(readFileSync(join(f.remote, 'open', 'c.txt'), 'utf8'), 'c');
          assert.equal(existsSync(join(f.remote, 'gone.txt')), false);
          // And nothing below the locked directory changed.
          assert.equal(readFileSync(join(f.remote, 'locked', 'old.txt'), 'utf8'), 'old');
          assert.equal(existsSync(join(f.remote, 'locked', 'new.txt')), false);
        } finally {
          locking.unlock(lockedDir);
        }

        const healed = await f.once();
        assert.equal(healed.code, 0, healed.stdout + healed.stderr);
        assert.deepEqual(failures(healed.events), []);
        assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
      });
    }
  });
}
