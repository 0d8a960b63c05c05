/**
 * The rsync path end to end: `--transport rsync`, a server without the SFTP subsystem under
 * `--transport auto`, and rsync's delta transfer for a large modified file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, tempDir, writeTree } from '../harness/trees.ts';

const hostile = [
  'space name.txt',
  "quote'single",
  'new\nline',
  '$(touch pwned-rsync)',
  '-leading-dash',
  'ünï.txt',
  'x'.repeat(255),
];

function setup(sshd: TestSshd, name: string) {
  const local = tempDir(`${name}-local`);
  const state = tempDir(`${name}-state`);
  const remote = join(sshd.remoteRoot, name);
  const once = (...extra: string[]) =>
    runFerry(['sync', '--once', '--json', ...sshFlags(sshd, state), ...extra, local, targetOf(sshd, remote)]);
  return {
    local,
    state,
    remote,
    once,
    cleanup: () => [local, state].forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

describe('rsync transport', () => {
  let sshd: TestSshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => sshd?.dispose());

  test('--transport rsync syncs hostile names, edits and deletes; nothing is run', async () => {
    const f = setup(sshd, 'rsync-only');
    writeTree(f.local, { 'd/a.txt': 'a', 'gone.txt': 'g' });
    for (const n of hostile) writeFileSync(join(f.local, n), `content ${n}`);
    const first = await f.once('--transport', 'rsync');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    const noop = await f.once('--transport', 'rsync');
    assert.equal(noop.code, 0);
    assert.deepEqual(
      noop.events.filter((e) => e.event === 'file'),
      [],
      'nothing changed, nothing is sent again',
    );
    writeFileSync(join(f.local, 'd/a.txt'), 'edited, longer');
    rmSync(join(f.local, 'gone.txt'));
    renameSync(join(f.local, 'space name.txt'), join(f.local, 'renamed name.txt'));
    const second = await f.once('--transport', 'rsync');
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    assert.equal(
      existsSync(join(f.remote, 'pwned-rsync')) ||
        existsSync('pwned-rsync') ||
        existsSync(join(sshd.dir, 'home', 'pwned-rsync')),
      false,
    );
    f.cleanup();
  });

  test('a conflict over rsync keeps the server version as a backup copy', async () => {
    const f = setup(sshd, 'rsync-conflict');
    writeTree(f.local, { 'report.txt': 'base' });
    assert.equal((await f.once('--transport', 'rsync')).code, 0);
    // Sizes differ on purpose: two sides that both changed to the same size within the same
    // second count as equal (SFTP and rsync listings carry whole seconds; see the note on limits).
    writeFileSync(join(f.remote, 'report.txt'), 'server edit');
    writeFileSync(join(f.local, 'report.txt'), 'local edit, a different size');
    const r = await f.once('--transport', 'rsync');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(f.remote, 'report.txt'), 'utf8'), 'local edit, a different size');
    const conflict = r.events.find((e) => e.event === 'conflict') as { conflictCopyPath?: string } | undefined;
    assert.ok(conflict?.conflictCopyPath, JSON.stringify(r.events));
    assert.equal(readFileSync(join(f.remote, conflict.conflictCopyPath), 'utf8'), 'server edit');
    f.cleanup();
  });

  test('a large modified file goes through rsync delta transfer under --transport auto', async () => {
    const f = setup(sshd, 'delta');
    const big = join(f.local, 'big.bin');
    writeFileSync(big, Buffer.alloc(8 * 1024 * 1024, 1));
    assert.equal((await f.once('--delta-threshold', String(1024 * 1024))).code, 0);
    const fd = openSync(big, 'r+');
    writeSync(fd, Buffer.alloc(4096, 9), 0, 4096, 4 * 1024 * 1024);
    closeSync(fd);
    const r = await f.once('--delta-threshold', String(1024 * 1024));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    const noop = await f.once('--delta-threshold', String(1024 * 1024));
    assert.deepEqual(
      noop.events.filter((e) => e.event === 'file'),
      [],
      'an rsync-sent file is not sent again',
    );
    assert.deepEqual(
      readdirSync(f.remote).filter((n) => n.startsWith('.')),
      [],
      'no temp files left',
    );
    f.cleanup();
  });
});

describe('server without the SFTP subsystem', () => {
  let sshd: TestSshd;
  before(async () => {
    sshd = await startSshd({ sftp: false });
  });
  after(async () => sshd?.dispose());

  test('--transport auto falls back to rsync; --transport sftp says what to do', async () => {
    const f = setup(sshd, 'nosftp');
    writeTree(f.local, { 'a.txt': 'a', 'd/b.txt': 'b' });
    const sftpOnly = await f.once('--transport', 'sftp');
    assert.equal(sftpOnly.code, 4);
    assert.match(
      String(sftpOnly.events.find((e) => e.event === 'error')?.message),
      /does not offer SFTP.*--transport rsync/,
    );
    const auto = await f.once();
    assert.equal(auto.code, 0, auto.stdout + auto.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    const status = auto.events.find((e) => e.event === 'state' && e.inSync === true) as
      { status: { transport: string } } | undefined;
    assert.equal(status?.status.transport, 'rsync');
    f.cleanup();
  });
});
