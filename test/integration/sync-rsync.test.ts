/**
 * The rsync path end to end: `--transport rsync`, a server without the SFTP subsystem under
 * `--transport auto`, and rsync's delta transfer for a large modified file (bytes counted on
 * the wire).
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
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { shellCanaries } from '../harness/shell-canary.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { startTcpProxy } from '../harness/tcp-proxy.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, tempDir, writeTree } from '../harness/trees.ts';

const canaries = shellCanaries('rsync');
const hostile = [
  'space name.txt',
  "quote'single",
  'new\nline',
  ...canaries.names,
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
    assert.deepEqual(canaries.found(), [], 'no shell ever ran a name');
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

  test('a small change in a large file sends a delta: the bytes on the wire are far below the file size', async () => {
    // Ferry connects through a TCP proxy that counts every byte both ways, so the test sees
    // what went over the network, not just the final tree (which a whole-file SFTP upload
    // would produce as well). The content is random: compression cannot shrink a full send.
    const proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: sshd.port });
    try {
      const f = setup(sshd, 'delta');
      const knownHosts = join(f.state, 'known_hosts_proxy');
      const [keyType, key] = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
      writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${keyType} ${key}\n`);
      const viaProxy = [
        '-i',
        sshd.clientKeyPath,
        '--known-hosts',
        knownHosts,
        '--state-dir',
        f.state,
        '--ssh-config',
        '/dev/null',
        '--delta-threshold',
        String(1024 * 1024),
        f.local,
        `ssh://${sshd.user}@127.0.0.1:${proxy.port}${f.remote}`,
      ];
      const once = () => runFerry(['sync', '--once', '--json', ...viaProxy]);
      const size = 8 * 1024 * 1024;
      const big = join(f.local, 'big.bin');
      writeFileSync(big, randomBytes(size));
      const wire = () => proxy.bytesUp + proxy.bytesDown;

      const first = await once();
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.ok(proxy.bytesUp >= size, `the first upload carried the whole file: ${proxy.bytesUp} bytes up`);

      const fd = openSync(big, 'r+');
      writeSync(fd, randomBytes(4096), 0, 4096, 4 * 1024 * 1024);
      closeSync(fd);
      const before = wire();
      const r = await once();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
      assert.deepEqual(
        r.events.filter((e) => e.event === 'file').map((e) => [e.path, e.ok]),
        [['big.bin', true]],
      );
      const sent = wire() - before;
      // A whole-file send moves at least 8 MiB; rsync's delta moves the changed block, its
      // neighbours and the block checksums (about 2,900 blocks of 8 MiB), plus two SSH sessions.
      assert.ok(sent < size / 16, `${sent} bytes went over the wire for a 4 KiB change in an 8 MiB file`);

      const noop = await once();
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
    } finally {
      await proxy.close();
    }
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
