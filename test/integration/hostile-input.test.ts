/**
 * Hostile input through both transports (SFTP and `--transport rsync`), on top of what
 * sync-once.test.ts and sync-rsync.test.ts cover (quotes, newlines, `$(...)`, leading dashes,
 * 255-byte names, a link to /etc/passwd):
 *
 * - names that are not valid UTF-8 (Linux file systems allow any byte but "/" and NUL):
 *   Ferry syncs UTF-8 names only; such an entry is reported as a failed item, never skipped
 *   silently, and nothing appears on the server under a mangled name;
 * - deep paths (60 levels, about 3 KiB) with 255-byte names at the bottom;
 * - a symlink on the server pointing outside the target: never followed, nothing is written
 *   or deleted through it;
 * - a local symlink to a directory outside the folder: synced as a link, never followed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellCanaries } from '../harness/shell-canary.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const harness = sshdForFile();
const { scope } = harness;

function fixture(name: string, transport: string) {
  const local = scope.dir(`${name}-local`);
  const state = scope.dir(`${name}-state`);
  const outside = scope.dir(`${name}-outside`);
  const remote = join(harness.sshd.remoteRoot, `${name}-${transport}`);
  const once = (...extra: string[]) =>
    runFerry([
      'sync',
      '--once',
      '--json',
      ...sshFlags(harness.sshd, state),
      '--transport',
      transport,
      ...extra,
      local,
      targetOf(harness.sshd, remote),
    ]);
  return { local, remote, outside, once };
}

/** Names in `dir` as raw bytes (hex), so names that are not UTF-8 show as they are. */
const rawNames = (dir: string) =>
  readdirSync(dir, { encoding: 'buffer' })
    .map((b) => b.toString('hex'))
    .sort();
const hex = (s: string) => Buffer.from(s).toString('hex');

for (const transport of ['sftp', 'rsync']) {
  describe(`hostile input over ${transport}`, () => {
    test('a name that is not valid UTF-8 is reported as a failed item, not skipped silently, and nothing lands under a mangled name', async () => {
      const f = fixture('not-utf8', transport);
      writeTree(f.local, { 'ok.txt': 'fine', 'd/ok2.txt': 'fine too' });
      const bad = Buffer.concat([Buffer.from(`${f.local}/latin1-caf`), Buffer.from([0xe9]), Buffer.from('.txt')]);
      writeFileSync(bad, 'café in Latin-1');
      const badDir = Buffer.concat([Buffer.from(`${f.local}/d/bad-`), Buffer.from([0xff, 0xfe])]);
      mkdirSync(badDir);
      writeFileSync(Buffer.concat([badDir, Buffer.from('/inside.txt')]), 'inside');

      const r = await f.once();
      assert.equal(r.code, 1, `exit 1: not in sync\n${r.stdout}${r.stderr}`);
      const summary = r.events.find((e) => e.event === 'error') as { message?: string } | undefined;
      assert.match(summary?.message ?? '', /latin1-caf\uFFFD\.txt: the name is not valid UTF-8/);
      assert.match(summary?.message ?? '', /d\/bad-\uFFFD\uFFFD: the name is not valid UTF-8/);
      assert.deepEqual(rawNames(f.remote), [hex('d'), hex('ok.txt')]);
      assert.deepEqual(rawNames(join(f.remote, 'd')), [hex('ok2.txt')]);
    });

    test('deep paths (60 levels, about 3 KiB) with 255-byte names sync exactly, and a re-run has nothing to do', async () => {
      const f = fixture('deep', transport);
      const parts: string[] = [];
      for (let i = 0; i < 60; i++) parts.push(`level-${String(i).padStart(2, '0')}-${'d'.repeat(40)}`);
      const deep = parts.join('/');
      assert.ok(
        Buffer.byteLength(deep) > 2900 && Buffer.byteLength(deep) + 300 < 4096,
        'below PATH_MAX with the roots added',
      );
      mkdirSync(join(f.local, deep), { recursive: true });
      writeFileSync(join(f.local, deep, 'x'.repeat(255)), 'at the bottom');
      writeFileSync(join(f.local, deep, `${'é'.repeat(127)}x`), '255 bytes of UTF-8');
      const canaries = shellCanaries('deep');
      for (const name of canaries.names) writeFileSync(join(f.local, parts.slice(0, 30).join('/'), name), 'halfway');

      const r = await f.once();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
      assert.deepEqual(canaries.found(), [], 'no shell ever ran a name');
      const again = await f.once();
      assert.equal(again.code, 0);
      assert.deepEqual(
        again.events.filter((e) => e.event === 'file'),
        [],
      );
    });

    test('a symlink on the server pointing outside the target is never followed: nothing written or deleted through it', async () => {
      const f = fixture('server-link', transport);
      writeTree(f.outside, { 'precious.txt': 'outside the target', 'sub/keep.txt': 'keep' });
      const before = readTree(f.outside);
      mkdirSync(f.remote, { recursive: true });
      // Put there on the server by someone else: a link out of the target, and one in the way of a local directory.
      symlinkSync(f.outside, join(f.remote, 'escape'));
      symlinkSync(join(f.outside, 'sub'), join(f.remote, 'sub'));
      harness.sshd.own(f.remote);
      writeTree(f.local, {
        'escape/precious.txt': 'would overwrite the outside file if followed',
        'sub/new.txt': 'new',
        'plain.txt': 'p',
      });

      const r = await f.once();
      assert.deepEqual(diffTrees(before, readTree(f.outside)), [], 'the directory outside the target is untouched');
      if (transport === 'sftp') {
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(
          lstatSync(join(f.remote, 'escape')).isDirectory(),
          'the local directory replaced the link on the server',
        );
        assert.equal(readTree(f.remote).get('escape/precious.txt')?.kind, 'file');
        // The server's links were kept as logged conflict copies (push mode keeps server-side data).
        const copies = readdirSync(f.remote).filter((n) => n.includes('.ferry-conflict-'));
        assert.equal(copies.length, 2, readdirSync(f.remote).join(', '));
        for (const c of copies)
          assert.ok(lstatSync(join(f.remote, c)).isSymbolicLink(), `${c} is the server's link, kept as it was`);
        for (const c of copies) assert.ok(readlinkSync(join(f.remote, c)).startsWith(f.outside));
      } else {
        // rsync cannot move the server's links aside (no rename): those items fail, and nothing
        // below them is even tried (rsync would refuse too: "Too many levels of symbolic links").
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const failed = r.events.filter((e) => e.event === 'file' && e.ok === false).map((e) => String(e.path));
        assert.deepEqual([...new Set(failed)].sort(), ['escape', 'sub']);
        assert.equal(readlinkSync(join(f.remote, 'escape')), f.outside, 'the link is left as it was');
      }

      // Mirror mode removes the server's extra links, never what they point to.
      const m = await f.once('--mode', 'mirror');
      assert.equal(m.code, 0, m.stdout + m.stderr);
      assert.deepEqual(
        readdirSync(f.remote).filter((n) => n.includes('.ferry-conflict-')),
        [],
      );
      assert.deepEqual(
        diffTrees(before, readTree(f.outside)),
        [],
        'still untouched after the mirror removed the links',
      );
      assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    });

    test('a local symlink to a directory outside the folder syncs as a link; what it points to is never read or sent', async () => {
      const f = fixture('local-link', transport);
      writeTree(f.outside, { 'secret.txt': 'outside the folder', 'nested/deeper.txt': 'also outside' });
      writeTree(f.local, { 'inside.txt': 'in' });
      symlinkSync(f.outside, join(f.local, 'to-outside'));
      symlinkSync('../../../../../../../../../../etc', join(f.local, 'dotdot-etc'));

      const r = await f.once();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
      assert.equal(readlinkSync(join(f.remote, 'to-outside')), f.outside);
      assert.equal(readlinkSync(join(f.remote, 'dotdot-etc')), '../../../../../../../../../../etc');
      const sent = r.events.filter((e) => e.event === 'file').map((e) => String(e.path));
      assert.deepEqual(
        sent.filter((p) => p.startsWith('to-outside/') || p.startsWith('dotdot-etc/')),
        [],
      );
    });
  });
}
