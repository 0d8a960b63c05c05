/**
 * The rsync transport against a real OpenSSH server on 127.0.0.1. The server runs WITHOUT
 * the SFTP subsystem, so everything here also proves rsync needs nothing but ssh + rsync.
 * Server and client are the same machine, so results are checked with lstat on the
 * server's directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SshEndpoint } from '../../main/ssh/endpoint.ts';
import { createRsyncTransport } from '../../main/transport/rsync-transport.ts';
import { sshArgsFor } from '../../main/transport/ssh-command.ts';
import { TEMP_PREFIX } from '../../main/core/temp-name.ts';
import type { RemoteTransport, UploadItem } from '../../main/transport/transport.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';

let sshd: TestSshd;
let local: string;
let rsync: RemoteTransport;

function endpointFor(s: TestSshd, overrides: Partial<SshEndpoint> = {}): SshEndpoint {
  return {
    host: s.host,
    port: s.port,
    user: s.user,
    displayName: 'test-server',
    remoteRoot: s.remoteRoot,
    identityFiles: [s.clientKeyPath],
    agentSocket: null,
    knownHostsPath: s.knownHostsPath,
    hostKeyPolicy: 'strict',
    ...overrides,
  };
}

/** Writes a local file below `local` and returns the upload item describing it. */
function localFile(path: string, content: string, mode = 0o644, mtime?: Date, root = local): UploadItem {
  const localPath = join(root, path);
  mkdirSync(dirname(localPath), { recursive: true });
  writeFileSync(localPath, content);
  chmodSync(localPath, mode);
  if (mtime) utimesSync(localPath, mtime, mtime);
  const st = lstatSync(localPath);
  return { path, localPath, expected: { kind: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 } };
}

const remote = (path: string) => join(sshd.remoteRoot, path);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

before(async () => {
  sshd = await startSshd({ sftp: false });
  local = mkdtempSync(join(tmpdir(), 'ferry-rsync-local-'));
  rsync = createRsyncTransport(endpointFor(sshd), local);
});

after(async () => {
  await rsync?.close();
  await sshd?.dispose();
  if (local) rmSync(local, { recursive: true, force: true });
});

test('the test server really has no SFTP subsystem', () => {
  const r = spawnSync('ssh', [...sshArgsFor(endpointFor(sshd)), '-s', sshd.host, 'sftp'], {
    input: '',
    encoding: 'utf8',
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /subsystem request failed/);
});

test('uploads files with their modes and mtimes, and reports what was sent', async () => {
  assert.deepEqual(
    await rsync.mkdir([
      { path: 'tree', mode: 0o755 },
      { path: 'tree/bin', mode: 0o750 },
    ]),
    [{ path: 'tree' }, { path: 'tree/bin' }],
  );
  const script = localFile('tree/bin/run.sh', '#!/bin/sh\necho hi\n', 0o755, new Date('2001-02-03T04:05:06Z'));
  const secret = localFile('tree/secret.txt', 'top secret', 0o600, new Date('2010-06-07T08:09:10Z'));
  const progress: number[] = [];
  const settled = new Map<number, unknown>();
  const results = await rsync.upload(
    [script, secret],
    (p) => progress.push(p.files),
    (i, r) => settled.set(i, r),
  );
  assert.deepEqual([...settled.keys()].sort(), [0, 1]);
  assert.deepEqual(settled.get(1), results[1], 'onItem reports what the batch returns');

  assert.equal(results.length, 2);
  for (const [i, r] of results.entries()) {
    assert.equal(r.error, undefined);
    assert.equal(r.changedDuringUpload, undefined);
    assert.equal(r.uploaded?.hash, sha256(i === 0 ? '#!/bin/sh\necho hi\n' : 'top secret'));
  }
  assert.deepEqual(progress, [1, 2]);
  assert.equal(lstatSync(remote('tree/bin/run.sh')).mode & 0o7777, 0o755);
  assert.equal(lstatSync(remote('tree/secret.txt')).mode & 0o7777, 0o600);
  assert.equal(lstatSync(remote('tree/bin')).mode & 0o7777, 0o750);
  assert.equal(
    Math.floor(lstatSync(remote('tree/bin/run.sh')).mtimeMs / 1000),
    Date.parse('2001-02-03T04:05:06Z') / 1000,
  );
  assert.equal(
    Math.floor(lstatSync(remote('tree/secret.txt')).mtimeMs / 1000),
    Date.parse('2010-06-07T08:09:10Z') / 1000,
  );
  assert.equal(readFileSync(remote('tree/secret.txt'), 'utf8'), 'top secret');

  // Sending an unchanged file again is still a confirmed upload (rsync's quick check is off).
  const again = await rsync.upload([secret]);
  assert.equal(again[0]?.error, undefined);
  assert.equal(again[0]?.uploaded?.size, 10);

  const scan = await rsync.scan(['tree']);
  assert.deepEqual(
    [...scan.entries].sort(),
    [
      ['tree', { kind: 'dir', mode: 0o755 }],
      ['tree/bin', { kind: 'dir', mode: 0o750 }],
      ['tree/bin/run.sh', { kind: 'file', size: 18, mtimeMs: Date.parse('2001-02-03T04:05:06Z'), mode: 0o755 }],
      ['tree/secret.txt', { kind: 'file', size: 10, mtimeMs: Date.parse('2010-06-07T08:09:10Z'), mode: 0o600 }],
    ].sort(),
  );
});

test('hostile names are uploaded and scanned back exactly, and never reach a shell', async () => {
  const names = [
    'with space',
    "single'quote",
    'double"quote',
    'new\nline',
    'tab\there',
    '$(touch x)',
    '`touch x`',
    '-leading-dash',
    '--rsh=evil',
    'back\\slash',
    'lit\\#123',
    'ünïcødé ☃',
    'a -> b',
    'star*',
    'br[1]',
    'n'.repeat(255),
    'é'.repeat(127) + 'x',
  ];
  await rsync.mkdir([{ path: 'hostile', mode: 0o755 }]);
  const items = names.map((n, i) => localFile(`hostile/${n}`, `content ${i}`));
  const results = await rsync.upload(items);
  assert.deepEqual(
    results.map((r) => r.error),
    names.map(() => undefined),
  );
  const linkTarget = 'target -> with "arrow" $(touch x)';
  assert.deepEqual(await rsync.symlink([{ path: 'hostile/link -> x', target: linkTarget }]), [
    { path: 'hostile/link -> x' },
  ]);

  const scan = await rsync.scan(['hostile']);
  const expected = new Map<string, unknown>([['hostile', { kind: 'dir', mode: 0o755 }]]);
  names.forEach((n, i) =>
    expected.set(`hostile/${n}`, {
      kind: 'file',
      size: `content ${i}`.length,
      mtimeMs: Math.floor(items[i]!.expected.mtimeMs / 1000) * 1000,
      mode: 0o644,
    }),
  );
  expected.set('hostile/link -> x', { kind: 'symlink', target: linkTarget });
  assert.deepEqual(new Map([...scan.entries].sort()), new Map([...expected].sort()));
  names.forEach((n, i) => assert.equal(readFileSync(remote(`hostile/${n}`), 'utf8'), `content ${i}`));

  // "$(touch x)" and "`touch x`" would have created a file named x in some shell's working directory.
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'x') found.push(join(dir, e.name));
      if (e.isDirectory()) walk(join(dir, e.name));
    }
  };
  walk(sshd.dir);
  walk(local);
  assert.deepEqual(found, []);
  assert.equal(existsSync(join(process.cwd(), 'x')), false);
});

test('a symlink pointing outside the root stays a link and is never followed', async () => {
  await rsync.mkdir([{ path: 'links', mode: 0o755 }]);
  const results = await rsync.symlink([
    { path: 'links/etc', target: '/etc' },
    { path: 'links/up', target: '../../..' },
  ]);
  assert.deepEqual(results, [{ path: 'links/etc' }, { path: 'links/up' }]);
  assert.ok(lstatSync(remote('links/etc')).isSymbolicLink());
  assert.equal(readlinkSync(remote('links/etc')), '/etc');
  const scan = await rsync.scan(['links']);
  assert.deepEqual([...scan.entries.keys()].sort(), ['links', 'links/etc', 'links/up']);
  assert.deepEqual(scan.entries.get('links/etc'), { kind: 'symlink', target: '/etc' });
  // A scope that is a symlink lists the link itself, not what it points to.
  assert.deepEqual(
    [...(await rsync.scan(['links/etc'])).entries],
    [['links/etc', { kind: 'symlink', target: '/etc' }]],
  );
});

test('remove deletes files, symlinks and whole trees; a missing path is success', async () => {
  mkdirSync(remote('rm/tree/a/b'), { recursive: true });
  writeFileSync(remote('rm/tree/a/b/c.txt'), 'c');
  writeFileSync(remote('rm/tree/top.txt'), 't');
  writeFileSync(remote('rm/file.txt'), 'f');
  writeFileSync(remote('rm/keep.txt'), 'k');
  symlinkSync(sshd.dir, remote('rm/link-to-server-dir'));
  sshd.own(remote('rm'));
  const results = await rsync.remove([
    { path: 'rm/file.txt', kind: 'file' },
    { path: 'rm/tree', kind: 'dir' },
    { path: 'rm/tree/a', kind: 'dir' },
    { path: 'rm/link-to-server-dir', kind: 'symlink' },
    { path: 'rm/never-existed', kind: 'file' },
    { path: 'no-such-dir/child', kind: 'file' },
  ]);
  assert.deepEqual(
    results.map((r) => r.error),
    results.map(() => undefined),
  );
  assert.deepEqual(readdirSync(remote('rm')), ['keep.txt']);
  assert.ok(existsSync(join(sshd.dir, 'known_hosts')), 'the symlink was removed, not what it points to');
  assert.equal(existsSync(remote('no-such-dir')), false);
});

test('scanning a missing scope, a path below a file, or a missing root gives nothing', async () => {
  writeFileSync(remote('plain-file'), 'p');
  const scan = await rsync.scan(['no/such/scope', 'plain-file/below']);
  assert.equal(scan.entries.size, 0);
  assert.deepEqual(scan.tempFiles, []);
  const elsewhere = createRsyncTransport(endpointFor(sshd, { remoteRoot: join(sshd.dir, 'no-such-root') }), local);
  try {
    const empty = await elsewhere.scan(['']);
    assert.equal(empty.entries.size, 0);
  } finally {
    await elsewhere.close();
  }
});

test('Ferry temp files are reported apart from entries', async () => {
  mkdirSync(remote('tmpfiles'));
  writeFileSync(remote(`tmpfiles/${TEMP_PREFIX}abc`), 'partial');
  writeFileSync(remote('tmpfiles/real.txt'), 'real');
  const scan = await rsync.scan(['tmpfiles']);
  assert.deepEqual(scan.tempFiles, [`tmpfiles/${TEMP_PREFIX}abc`]);
  assert.deepEqual([...scan.entries.keys()].sort(), ['tmpfiles', 'tmpfiles/real.txt']);
});

test('a conflict copy keeps the server version under the requested stamp', async () => {
  mkdirSync(remote('conflict'));
  writeFileSync(remote('conflict/doc.txt'), 'server version');
  sshd.own(remote('conflict'));
  const item = {
    ...localFile('conflict/doc.txt', 'local version!'),
    conflictCopyPath: 'conflict/doc.ferry-conflict-20260102-030405.txt',
  };
  const fresh = {
    ...localFile('conflict/new.txt', 'new'),
    conflictCopyPath: 'conflict/new.ferry-conflict-20260102-030405.txt',
  };
  const plain = localFile('conflict/plain.txt', 'plain');
  const [r, n, p] = await rsync.upload([item, fresh, plain]);
  assert.equal(r?.error, undefined);
  // The README's name, the same as over SFTP: name.ferry-conflict-STAMP.ext.
  assert.equal(r?.conflictCopyPath, 'conflict/doc.ferry-conflict-20260102-030405.txt');
  assert.equal(readFileSync(remote('conflict/doc.ferry-conflict-20260102-030405.txt'), 'utf8'), 'server version');
  assert.equal(readFileSync(remote('conflict/doc.txt'), 'utf8'), 'local version!');
  assert.equal(n?.error, undefined);
  assert.equal(n?.conflictCopyPath, undefined, 'nothing was on the server, so no copy exists');
  assert.equal(p?.error, undefined);
  assert.deepEqual(readdirSync(remote('conflict')).sort(), [
    'doc.ferry-conflict-20260102-030405.txt',
    'doc.txt',
    'new.txt',
    'plain.txt',
  ]);
});

test('one failing item gets its own error while the rest of the batch succeeds', async () => {
  mkdirSync(remote('fault'));
  // A parent that is a FILE on the server fails for everyone, root included.
  writeFileSync(remote('fault/blocker'), 'I am a file');
  sshd.own(remote('fault'));
  const blocked = localFile('fault/blocker/child.txt', 'child');
  const fine = localFile('fault/fine.txt', 'fine');
  const gone = { ...localFile('fault/gone.txt', 'gone'), localPath: join(local, 'fault/gone.txt') };
  rmSync(gone.localPath);
  const [b, f, g] = await rsync.upload([blocked, fine, gone]);
  assert.match(b?.error ?? '', /Not a directory/);
  assert.equal(b?.uploaded, undefined);
  assert.equal(f?.error, undefined);
  assert.equal(readFileSync(remote('fault/fine.txt'), 'utf8'), 'fine');
  assert.equal(g?.errorCode, 'local-read-failed');
  assert.equal(g?.localVanished, true);
  const [m] = await rsync.mkdir([{ path: 'fault/blocker/sub', mode: 0o755 }]);
  assert.ok(m?.error, 'mkdir below a file fails');
});

test('an item in a read-only server directory fails as permission-denied while the rest succeeds', async (t) => {
  if (sshd.uid === 0) {
    t.skip('the server logs in as root, which ignores permissions: a read-only directory cannot be provoked');
    return;
  }
  mkdirSync(remote('fault/ro'), { recursive: true });
  sshd.own(remote('fault'));
  chmodSync(remote('fault/ro'), 0o555);
  try {
    const [ro, ok] = await rsync.upload([localFile('fault/ro/x.txt', 'x'), localFile('fault/ok.txt', 'ok')]);
    assert.equal(ro?.errorCode, 'permission-denied');
    assert.match(ro?.error ?? '', /fault\/ro\/.*Permission denied/);
    assert.equal(ok?.error, undefined);
    assert.equal(existsSync(remote('fault/ro/x.txt')), false);
  } finally {
    chmodSync(remote('fault/ro'), 0o755);
  }
});

test('rename and setAttributes answer with per-item errors', async () => {
  const [r] = await rsync.rename([{ from: 'a', to: 'b' }]);
  assert.match(r?.error ?? '', /not available over rsync/);
  const [s] = await rsync.setAttributes([
    { path: 'tree/secret.txt', mode: 0o644, expected: { kind: 'file', size: 0, mtimeMs: 0, mode: 0o600 } },
  ]);
  assert.match(s?.error ?? '', /not supported over rsync/);
  assert.equal(lstatSync(remote('tree/secret.txt')).mode & 0o7777, 0o600);
});

test('a remote root with spaces and glob characters is used literally', async () => {
  const rootName = 'glob [1]* root';
  mkdirSync(remote(rootName));
  mkdirSync(remote('glob 1x root')); // matches the glob, must never be touched
  sshd.own(remote(rootName));
  const other = createRsyncTransport(endpointFor(sshd, { remoteRoot: remote(rootName) }), local);
  try {
    const [r] = await other.upload([localFile('f.txt', 'in the right place')]);
    assert.equal(r?.error, undefined);
    assert.equal(readFileSync(remote(`${rootName}/f.txt`), 'utf8'), 'in the right place');
    assert.deepEqual(readdirSync(remote('glob 1x root')), []);
    writeFileSync(remote('glob 1x root/decoy'), 'd');
    assert.deepEqual([...(await other.scan([''])).entries.keys()].sort(), ['', 'f.txt']);
  } finally {
    await other.close();
  }
});

test('key and known_hosts paths with spaces and quotes work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry k\'ey "dir" '));
  try {
    const key = join(dir, 'id 1');
    const knownHosts = join(dir, 'known hosts');
    copyFileSync(sshd.clientKeyPath, key);
    chmodSync(key, 0o600);
    copyFileSync(sshd.knownHostsPath, knownHosts);
    const other = createRsyncTransport(endpointFor(sshd, { identityFiles: [key], knownHostsPath: knownHosts }), local);
    try {
      assert.ok((await other.scan(['tree'])).entries.has('tree/secret.txt'));
    } finally {
      await other.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a jump host is reached with its own key and known_hosts', async () => {
  const jump = await startSshd({ sftp: false });
  try {
    const hop = endpointFor(jump, { displayName: 'jump', remoteRoot: '/' });
    const via = createRsyncTransport(endpointFor(sshd, { jump: [hop] }), local);
    try {
      const [r] = await via.upload([localFile('jumped.txt', 'via the jump host')]);
      assert.equal(r?.error, undefined);
      assert.equal(readFileSync(remote('jumped.txt'), 'utf8'), 'via the jump host');
    } finally {
      await via.close();
    }
    // The hop's own identity really is used: with the target's key, the jump host refuses.
    const wrongKey = createRsyncTransport(
      endpointFor(sshd, { jump: [{ ...hop, identityFiles: [sshd.clientKeyPath] }] }),
      local,
    );
    try {
      await assert.rejects(wrongKey.scan(['']), /or one of its jump hosts refused the SSH key/);
    } finally {
      await wrongKey.close();
    }
  } finally {
    await jump.dispose();
  }
});

test('close() stops a running rsync and its ssh', async () => {
  // A "server" that accepts the connection and never speaks: ssh waits for its banner.
  const sockets: Socket[] = [];
  let connected!: () => void;
  const gotConnection = new Promise<void>((r) => (connected = r));
  let closedByClient!: () => void;
  const clientGone = new Promise<void>((r) => (closedByClient = r));
  const silent = createServer((s) => {
    sockets.push(s);
    s.resume(); // without reading, 'end' and 'close' would never be emitted
    s.on('error', () => undefined);
    s.on('close', () => closedByClient());
    connected();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    const hung = createRsyncTransport(endpointFor(sshd, { port }), local);
    const scan = hung.scan(['']);
    const outcome = scan.then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    await gotConnection;
    await hung.close();
    assert.match(await outcome, /^The rsync transport to .* was closed while rsync was running\.$/);
    await clientGone; // ssh's socket was closed because the process group was stopped
    await assert.rejects(hung.scan(['']), { message: /^The rsync transport to .* is closed\.$/ });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

// Last: it replaces the server's host key.
test('a changed host key makes the transport fail with a known_hosts hint', async () => {
  await sshd.rotateHostKey();
  const err = await rsync.scan(['tree']).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, 'scan must fail');
  // The "changed" sentence, not the one for a key that could not be verified at all.
  assert.ok(err.message.startsWith('The host key of '), err.message);
  assert.ok(err.message.includes(` has changed and no longer matches ${sshd.knownHostsPath}. `), err.message);
});
