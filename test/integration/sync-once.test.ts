/**
 * `ferry sync --once` against a real OpenSSH sshd: initial sync, edits, renames, hostile
 * names, symlinks, modes and mtimes, conflicts, mirror mode, safety rails, host keys.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { shellCanaries } from '../harness/shell-canary.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, editorJunk, readTree, runFerry, sshFlags, targetOf, tempDir, writeTree } from '../harness/trees.ts';

let sshd: TestSshd;
before(async () => {
  sshd = await startSshd();
});
after(async () => {
  await sshd?.dispose();
});

/** A fresh local folder, state dir and remote directory for one test. */
function fixture(name: string) {
  const local = tempDir(`${name}-local`);
  const state = tempDir(`${name}-state`);
  const remote = join(sshd.remoteRoot, name);
  const once = (...extra: string[]) =>
    runFerry(['sync', '--once', '--json', ...sshFlags(sshd, state), ...extra, local, targetOf(sshd, remote)]);
  const cleanup = () => {
    rmSync(local, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  };
  return { local, state, remote, once, cleanup };
}

const junk = editorJunk;

function assertSame(local: string, remote: string) {
  assert.deepEqual(diffTrees(readTree(local, { skip: junk }), readTree(remote)), []);
}

describe('ferry sync --once (SFTP)', () => {
  test('initial sync copies content, modes, mtimes and symlinks, and skips editor junk', async () => {
    const f = fixture('initial');
    writeTree(f.local, {
      'a.txt': 'hello',
      'd/b.txt': 'world',
      'd/e/big.bin': Buffer.alloc(3 * 1024 * 1024 + 17, 7),
      'empty-dir': null,
      '.env': 'SECRET=1',
      '.htaccess': 'Deny from all',
      '.notes.txt.swp': 'vim swap',
      '4913': 'vim probe',
      'draft.txt~': 'backup',
    });
    chmodSync(join(f.local, 'a.txt'), 0o600);
    writeFileSync(join(f.local, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(f.local, 'run.sh'), 0o755);
    utimesSync(join(f.local, 'd/b.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
    symlinkSync('/etc/passwd', join(f.local, 'outside-link'));
    symlinkSync('d/b.txt', join(f.local, 'inside-link'));

    const r = await f.once();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assertSame(f.local, f.remote);
    assert.equal(existsSync(join(f.remote, '.notes.txt.swp')), false);
    assert.equal(existsSync(join(f.remote, '4913')), false);
    const link = readTree(f.remote).get('outside-link');
    assert.deepEqual(
      link,
      { kind: 'symlink', target: '/etc/passwd' },
      'a symlink pointing out of the root stays a link',
    );
    assert.ok(
      r.events.some((e) => e.event === 'state' && e.state === 'idle' && e.inSync === true),
      'an idle/in-sync event is printed',
    );
    // A second run has nothing to do.
    const again = await f.once();
    assert.equal(again.code, 0);
    assert.equal(again.events.filter((e) => e.event === 'file').length, 0, JSON.stringify(again.events));
    f.cleanup();
  });

  test('hostile names sync as plain files and nothing runs them', async () => {
    const f = fixture('hostile');
    const canaries = shellCanaries('once');
    const names = [
      'space name.txt',
      "quote'single.txt",
      'quote"double.txt',
      'new\nline.txt',
      ...canaries.names,
      '-leading-dash',
      '--rf',
      'back\\slash',
      'ünïcødé-日本語.txt',
      'tab\there',
      'x'.repeat(255),
      `${'é'.repeat(127)}x`, // 255 bytes in UTF-8
    ];
    for (const n of names) writeFileSync(join(f.local, n), `content of ${n}`);
    const r = await f.once();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assertSame(f.local, f.remote);
    assert.deepEqual(canaries.found(), [], 'no shell ever ran a name');
    f.cleanup();
  });

  test('edits, deletes and renames converge; a local move becomes a server rename', async () => {
    const f = fixture('edits');
    writeTree(f.local, {
      'keep.txt': 'k',
      'edit.txt': 'v1',
      'gone.txt': 'x',
      'olddir/a.txt': 'A',
      'olddir/sub/b.txt': 'B',
      'mv.bin': Buffer.alloc(5000, 3),
    });
    assert.equal((await f.once()).code, 0);
    writeFileSync(join(f.local, 'edit.txt'), 'version 2 is longer');
    rmSync(join(f.local, 'gone.txt'));
    renameSync(join(f.local, 'olddir'), join(f.local, 'newdir'));
    renameSync(join(f.local, 'mv.bin'), join(f.local, 'moved.bin'));
    const r = await f.once();
    assert.equal(r.code, 0, r.stderr);
    assertSame(f.local, f.remote);
    const renames = r.events
      .filter((e) => e.event === 'file' && e.op === 'rename')
      .map((e) => `${e.from} -> ${e.path}`)
      .sort();
    assert.deepEqual(renames, ['mv.bin -> moved.bin', 'olddir -> newdir']);
    assert.equal(
      r.events.filter((e) => e.event === 'file' && e.op === 'upload').length,
      1,
      'only the edited file is uploaded',
    );
    f.cleanup();
  });

  test('a file changed on the server and locally keeps the server version as a conflict copy', async () => {
    const f = fixture('conflict');
    writeTree(f.local, { 'report.txt': 'base', 'del.txt': 'base' });
    assert.equal((await f.once()).code, 0);
    writeFileSync(join(f.remote, 'report.txt'), 'edited on the server');
    writeFileSync(join(f.local, 'report.txt'), 'edited locally');
    writeFileSync(join(f.remote, 'del.txt'), 'server edit of a file deleted locally');
    rmSync(join(f.local, 'del.txt'));
    const r = await f.once();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(f.remote, 'report.txt'), 'utf8'), 'edited locally');
    const copies = readdirSync(f.remote).filter((n) => /^report\.ferry-conflict-\d{8}-\d{6}\.txt$/.test(n));
    assert.equal(copies.length, 1, readdirSync(f.remote).join(', '));
    assert.equal(readFileSync(join(f.remote, copies[0] as string), 'utf8'), 'edited on the server');
    assert.equal(
      readFileSync(join(f.remote, 'del.txt'), 'utf8'),
      'server edit of a file deleted locally',
      'a local delete never deletes a server change',
    );
    const conflicts = r.events.filter((e) => e.event === 'conflict');
    assert.deepEqual(conflicts.map((c) => `${c.path}:${c.action}`).sort(), [
      'del.txt:skipped-local-delete',
      'report.txt:kept-remote-copy',
    ]);
    const log = readFileSync(join(f.state, 'folders', String(r.events[0]?.folder), 'conflicts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(log.length, 2);
    assert.equal(log.find((c: { path: string }) => c.path === 'report.txt').conflictCopyPath, copies[0]);
    f.cleanup();
  });

  test('server-only changes are left alone in push mode and overwritten in mirror mode', async () => {
    const f = fixture('mirror');
    writeTree(f.local, { 'a.txt': 'local a', 'b.txt': 'local b' });
    assert.equal((await f.once()).code, 0);
    writeFileSync(join(f.remote, 'a.txt'), 'server changed a');
    writeFileSync(join(f.remote, 'extra.txt'), 'only on the server');
    const push = await f.once();
    assert.equal(push.code, 0);
    assert.equal(readFileSync(join(f.remote, 'a.txt'), 'utf8'), 'server changed a');
    assert.ok(existsSync(join(f.remote, 'extra.txt')));
    const mirror = await f.once('--mode', 'mirror');
    assert.equal(mirror.code, 0, mirror.stderr);
    assertSame(f.local, f.remote);
    f.cleanup();
  });

  test('an emptied local folder halts and deletes nothing on the server', async () => {
    const f = fixture('emptied');
    writeTree(f.local, { 'a.txt': 'a', 'd/b.txt': 'b' });
    assert.equal((await f.once()).code, 0);
    for (const n of readdirSync(f.local)) rmSync(join(f.local, n), { recursive: true });
    const r = await f.once();
    assert.equal(r.code, 3, r.stdout);
    assert.ok(existsSync(join(f.remote, 'a.txt')) && existsSync(join(f.remote, 'd/b.txt')));
    const halted = r.events.find((e) => e.event === 'state' && e.state === 'halted') as
      { status: { halt: { reason: string; message: string } } } | undefined;
    assert.equal(halted?.status.halt.reason, 'root-emptied');
    // The user really emptied it: allowing the deletes empties the server copy too.
    const allowed = await f.once('--allow-mass-delete');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(readdirSync(f.remote), []);
    f.cleanup();
  });

  test('a mass delete halts until allowed', async () => {
    const f = fixture('massdelete');
    for (let i = 0; i < 150; i++) writeFileSync(join(f.local, `f${i}.txt`), `${i}`);
    assert.equal((await f.once()).code, 0);
    for (let i = 0; i < 120; i++) rmSync(join(f.local, `f${i}.txt`));
    const halted = await f.once();
    assert.equal(halted.code, 3);
    assert.equal(readdirSync(f.remote).length, 150, 'nothing deleted while halted');
    const allowed = await f.once('--allow-mass-delete');
    assert.equal(allowed.code, 0, allowed.stderr);
    assertSame(f.local, f.remote);
    f.cleanup();
  });

  test('a missing local folder is refused with a clear error', async () => {
    const f = fixture('missing');
    rmSync(f.local, { recursive: true });
    const r = await f.once();
    assert.equal(r.code, 2);
    assert.deepEqual(
      r.events.filter((e) => e.event === 'error').map((e) => e.message),
      [`The local folder ${f.local} does not exist. Create it or check the path.`],
      r.stdout,
    );
    f.cleanup();
  });

  test('a changed host key is refused with both fingerprints; strict refuses unknown hosts', async () => {
    const f = fixture('hostkey');
    writeTree(f.local, { 'a.txt': 'a' });
    const emptyKnown = join(f.state, 'empty_known_hosts');
    writeFileSync(emptyKnown, '');
    const unknown = await runFerry([
      'sync',
      '--once',
      '--json',
      '-i',
      sshd.clientKeyPath,
      '--known-hosts',
      emptyKnown,
      '--state-dir',
      f.state,
      '--ssh-config',
      '/dev/null',
      f.local,
      targetOf(sshd, f.remote),
    ]);
    assert.equal(unknown.code, 4);
    assert.equal(existsSync(f.remote), false, 'nothing was written to an unverified server');
    assert.equal(readFileSync(emptyKnown, 'utf8'), '', 'strict never pins');

    const pinnedFile = join(f.state, 'pinned_known_hosts');
    const pinned = await runFerry([
      'sync',
      '--once',
      '--json',
      '--host-key-policy',
      'accept-new',
      '-i',
      sshd.clientKeyPath,
      '--known-hosts',
      pinnedFile,
      '--state-dir',
      f.state,
      '--ssh-config',
      '/dev/null',
      f.local,
      targetOf(sshd, f.remote),
    ]);
    assert.equal(pinned.code, 0, pinned.stdout);
    assert.match(readFileSync(pinnedFile, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));

    const oldFp = execFileSync('ssh-keygen', ['-lf', sshd.hostPublicKeyPath]).toString().split(' ')[1] as string;
    await sshd.rotateHostKey();
    try {
      const newFp = execFileSync('ssh-keygen', ['-lf', sshd.hostPublicKeyPath]).toString().split(' ')[1] as string;
      const changed = await runFerry([
        'sync',
        '--once',
        '--json',
        '--host-key-policy',
        'accept-new',
        '-i',
        sshd.clientKeyPath,
        '--known-hosts',
        pinnedFile,
        '--state-dir',
        f.state,
        '--ssh-config',
        '/dev/null',
        f.local,
        targetOf(sshd, f.remote),
      ]);
      assert.equal(changed.code, 4);
      const err = changed.events.find((e) => e.event === 'error') as { message: string } | undefined;
      assert.ok(
        err?.message.startsWith(`WARNING: the host key for [127.0.0.1]:${sshd.port} has changed. `),
        err?.message,
      );
      assert.ok(err?.message.includes(oldFp) && err.message.includes(newFp), err?.message);
    } finally {
      // Later tests use the harness known_hosts: re-pin the rotated key there.
      const pub = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
      writeFileSync(sshd.knownHostsPath, `[127.0.0.1]:${sshd.port} ${pub[0]} ${pub[1]}\n`);
    }
    f.cleanup();
  });

  test('a type change (file to directory) and a retargeted symlink are applied', async () => {
    const f = fixture('types');
    writeTree(f.local, { thing: 'a file first' });
    symlinkSync('a', join(f.local, 'ln'));
    assert.equal((await f.once()).code, 0);
    rmSync(join(f.local, 'thing'));
    mkdirSync(join(f.local, 'thing'));
    writeFileSync(join(f.local, 'thing', 'inside.txt'), 'now a dir');
    rmSync(join(f.local, 'ln'));
    symlinkSync('b', join(f.local, 'ln'));
    const r = await f.once();
    assert.equal(r.code, 0, r.stderr);
    assertSame(f.local, f.remote);
    f.cleanup();
  });
});
