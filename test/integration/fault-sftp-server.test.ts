import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  rmSync,
  readFileSync,
  writeFileSync,
  existsSync,
  statSync,
  lstatSync,
  readlinkSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../harness/ed25519-key-pair.ts';
import type { ConnectConfig, SFTPWrapper, Stats, FileEntryWithStats } from 'ssh2';
import { sftpOf, startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import { faultServerForFile } from '../harness/fault-server-for-file.ts';

const { utils } = ssh2;

/** An error from ssh2's SFTP client: `code` is the SFTP status code. */
type SftpError = Error & { code?: number };

const fx = faultServerForFile('ferry-fault-sftp-');

const connectTo = (srv: FaultSftpServer, extra: Partial<ConnectConfig> = {}) => fx.connect(srv, extra);

async function session(): Promise<SFTPWrapper> {
  return await sftpOf(await connectTo(fx.server));
}

/** Runs an ssh2 callback-style call; resolves with its result or rejects with its error. */
function call<T = void>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

async function sftpError(p: Promise<unknown>): Promise<SftpError> {
  try {
    await p;
  } catch (err) {
    return err as SftpError;
  }
  assert.fail('expected the SFTP request to fail');
}

const STATUS = utils.sftp.STATUS_CODE;

test('verifies the host key, authenticates with the password and writes/reads through the real fs', async () => {
  assert.equal(fx.server.knownHostsLine, `[127.0.0.1]:${fx.server.port} ssh-ed25519 ${fx.server.hostPublicKeyBase64}`);
  const sftp = await session();
  const path = join(fx.root, 'hello.txt');
  await call((cb) => sftp.writeFile(path, 'hello over sftp', cb));
  assert.equal(readFileSync(path, 'utf8'), 'hello over sftp');

  writeFileSync(join(fx.root, 'local.txt'), 'written locally');
  const back = await call<Buffer>((cb) => sftp.readFile(join(fx.root, 'local.txt'), cb));
  assert.equal(back.toString(), 'written locally');

  const st = await call<Stats>((cb) => sftp.stat(path, cb));
  assert.equal(st.size, 15);
  assert.ok(st.isFile());
  assert.ok((fx.server.stats.WRITE ?? 0) >= 1);
  assert.ok((fx.server.stats.OPEN ?? 0) >= 2);
});

test('rejects a wrong password, a wrong user and an unexpected host key', async () => {
  await assert.rejects(connectTo(fx.server, { password: 'nope' }), /authentication methods failed/);
  await assert.rejects(connectTo(fx.server, { username: 'someone-else' }), /authentication methods failed/);
  await assert.rejects(connectTo(fx.server, { hostVerifier: () => false }), /verification failed/i);
});

test('accepts the authorized public key', async () => {
  const keyRoot = mkdtempSync(join(tmpdir(), 'ferry-fault-sftp-key-'));
  const pair = ed25519KeyPair();
  const other = ed25519KeyPair();
  const srv = await startFaultSftpServer({ root: keyRoot, authorizedPublicKey: pair.public });
  try {
    const client = await connectTo(srv, { password: undefined, privateKey: pair.private });
    const sftp = await sftpOf(client);
    assert.equal(await call<string>((cb) => sftp.realpath('.', cb)), keyRoot);
    client.end();
    await assert.rejects(
      connectTo(srv, { password: undefined, privateKey: other.private }),
      /authentication methods failed/,
    );
  } finally {
    await srv.close();
    rmSync(keyRoot, { recursive: true, force: true });
  }
});

test('directory operations, attributes, links and paths outside the root', async () => {
  const sftp = await session();
  const dir = join(fx.root, 'tree');
  await call((cb) => sftp.mkdir(dir, { mode: 0o750 }, cb));
  assert.equal(statSync(dir).mode & 0o777, 0o750);
  writeFileSync(join(dir, 'a.txt'), 'aaa');
  mkdirSync(join(dir, 'sub'));

  const list = await call<FileEntryWithStats[]>((cb) => sftp.readdir(dir, cb));
  const byName = new Map(list.map((e) => [e.filename, e]));
  assert.deepEqual([...byName.keys()].sort(), ['a.txt', 'sub']);
  assert.equal(byName.get('a.txt')?.attrs.size, 3);
  assert.match(byName.get('a.txt')?.longname ?? '', /^-rw.* a\.txt$/);
  assert.match(byName.get('sub')?.longname ?? '', /^d.* sub$/);
  assert.ok(byName.get('sub')?.attrs.isDirectory());

  const file = join(dir, 'a.txt');
  await call((cb) => sftp.setstat(file, { mode: 0o600, atime: 1_600_000_000, mtime: 1_500_000_000 }, cb));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(Math.floor(statSync(file).mtimeMs / 1000), 1_500_000_000);

  const handle = await call<Buffer>((cb) => sftp.open(file, 'r+', cb));
  await call((cb) => sftp.fsetstat(handle, { mode: 0o640 }, cb));
  const fst = await call<Stats>((cb) => sftp.fstat(handle, cb));
  assert.equal(fst.mode & 0o777, 0o640);
  await call((cb) => sftp.close(handle, cb));

  // ssh2's symlink(target, linkPath) must create linkPath -> target.
  const link = join(dir, 'link');
  await call((cb) => sftp.symlink('a.txt', link, cb));
  assert.equal(readlinkSync(link), 'a.txt');
  assert.equal(await call<string>((cb) => sftp.readlink(link, cb)), 'a.txt');
  const lst = await call<Stats>((cb) => sftp.lstat(link, cb));
  assert.ok(lst.isSymbolicLink());

  assert.equal(await call<string>((cb) => sftp.realpath('.', cb)), fx.root);
  assert.equal(await call<string>((cb) => sftp.realpath(join(dir, 'sub', '..'), cb)), dir);

  const outside = await sftpError(call((cb) => sftp.stat('/etc/passwd', cb)));
  assert.equal(outside.code, STATUS.PERMISSION_DENIED);
  const missing = await sftpError(call((cb) => sftp.stat(join(dir, 'nope'), cb)));
  assert.equal(missing.code, STATUS.NO_SUCH_FILE);
  const exclusive = await sftpError(call<Buffer>((cb) => sftp.open(file, 'wx', cb)));
  assert.equal(exclusive.code, STATUS.FAILURE);

  await call((cb) => sftp.unlink(link, cb));
  await call((cb) => sftp.unlink(file, cb));
  await call((cb) => sftp.rmdir(join(dir, 'sub'), cb));
  await call((cb) => sftp.rmdir(dir, cb));
  assert.equal(existsSync(dir), false);
});

test('RENAME refuses an existing target; posix-rename replaces it', async () => {
  const sftp = await session();
  const a = join(fx.root, 'ren-a');
  const b = join(fx.root, 'ren-b');
  writeFileSync(a, 'A');
  writeFileSync(b, 'B');
  const err = await sftpError(call((cb) => sftp.rename(a, b, cb)));
  assert.equal(err.code, STATUS.FAILURE);
  assert.equal(readFileSync(a, 'utf8'), 'A');
  assert.equal(readFileSync(b, 'utf8'), 'B');

  const before = fx.server.stats['posix-rename@openssh.com'] ?? 0;
  await call((cb) => sftp.ext_openssh_rename(a, b, cb));
  assert.equal(existsSync(a), false);
  assert.equal(readFileSync(b, 'utf8'), 'A');
  assert.equal(fx.server.stats['posix-rename@openssh.com'], before + 1);

  const c = join(fx.root, 'ren-c');
  await call((cb) => sftp.rename(b, c, cb));
  assert.equal(readFileSync(c, 'utf8'), 'A');
  assert.equal(existsSync(b), false);
});

test('noPosixRename: the extension is not advertised, and answers OP_UNSUPPORTED if used anyway', async () => {
  const advertised = await session(); // started before the fault: still advertises
  fx.server.faults.noPosixRename = true;
  const plain = await session();
  const before = fx.server.stats['posix-rename@openssh.com'] ?? 0;
  const a = join(fx.root, 'nopr-a');
  writeFileSync(a, 'x');
  assert.throws(() => plain.ext_openssh_rename(a, join(fx.root, 'nopr-b'), () => {}), /does not support/);
  assert.equal(fx.server.stats['posix-rename@openssh.com'] ?? 0, before, 'the request never reached the server');

  const err = await sftpError(call((cb) => advertised.ext_openssh_rename(a, join(fx.root, 'nopr-b'), cb)));
  assert.equal(err.code, STATUS.OP_UNSUPPORTED);
  assert.equal(existsSync(a), true);
});

test('failWritesMatching answers the configured status and writes nothing', async () => {
  const sftp = await session();
  fx.server.faults.failWritesMatching = /forbidden/;
  fx.server.faults.failWriteStatus = 'permission-denied';
  const denied = await sftpError(call((cb) => sftp.writeFile(join(fx.root, 'forbidden.txt'), 'data', cb)));
  assert.equal(denied.code, STATUS.PERMISSION_DENIED);
  assert.equal(denied.message, 'Permission denied');
  assert.equal(statSync(join(fx.root, 'forbidden.txt')).size, 0, 'OPEN succeeded, the WRITE did not');

  fx.server.faults.failWriteStatus = 'failure';
  const failed = await sftpError(call((cb) => sftp.writeFile(join(fx.root, 'forbidden-2.txt'), 'data', cb)));
  assert.equal(failed.code, STATUS.FAILURE);

  await call((cb) => sftp.writeFile(join(fx.root, 'allowed.txt'), 'data', cb));
  assert.equal(readFileSync(join(fx.root, 'allowed.txt'), 'utf8'), 'data');
});

test('diskFullAfterBytes fails the write that crosses the limit and leaves a partial file', async () => {
  const sftp = await session();
  fx.server.faults.diskFullAfterBytes = fx.server.bytesWritten + 10;
  const path = join(fx.root, 'big.bin');
  const err = await sftpError(call((cb) => sftp.writeFile(path, Buffer.alloc(25, 7), cb)));
  assert.equal(err.code, STATUS.FAILURE);
  assert.equal(err.message, 'No space left on device');
  assert.equal(statSync(path).size, 10);
  const again = await sftpError(call((cb) => sftp.writeFile(join(fx.root, 'small.bin'), 'x', cb)));
  assert.equal(again.message, 'No space left on device');
});

test('closeChannelOnWriteMatching closes the SFTP channel mid-write; a new session still works', async () => {
  const client = await connectTo(fx.server);
  const sftp = await sftpOf(client);
  fx.server.faults.closeChannelOnWriteMatching = /doomed/;
  const closed = new Promise<void>((r) => sftp.once('close', () => r()));
  // open/write, not writeFile: after a failed write, ssh2's writeFile sends CLOSE on the dead
  // channel and never calls back.
  const handle = await call<Buffer>((cb) => sftp.open(join(fx.root, 'doomed.txt'), 'w', cb));
  const err = await sftpError(call((cb) => sftp.write(handle, Buffer.from('data'), 0, 4, 0, cb)));
  assert.match(err.message, /No response from server/);
  await closed;
  assert.equal(statSync(join(fx.root, 'doomed.txt')).size, 0);

  fx.server.faults = {};
  const next = await sftpOf(client);
  await call((cb) => next.writeFile(join(fx.root, 'doomed.txt'), 'second try', cb));
  assert.equal(readFileSync(join(fx.root, 'doomed.txt'), 'utf8'), 'second try');
});

test('hangAfterAuth: authentication succeeds but client.sftp() gets no answer', async () => {
  fx.server.faults.hangAfterAuth = true;
  const client = await connectTo(fx.server);
  let outcome = 'pending';
  client.sftp((err) => (outcome = err ? 'failed' : 'succeeded'));
  // The server answers its messages in order on one connection. Each refused direct-tcpip
  // channel is a round trip behind the session request; three of them in a row cover what a
  // server that did answer would need (session confirm, subsystem reply, SFTP version), so
  // by then the answer would have arrived.
  for (let i = 0; i < 3; i++) {
    const refused = await new Promise<Error | undefined>((resolve) =>
      client.forwardOut('127.0.0.1', 0, '127.0.0.1', 9, (err) => resolve(err)),
    );
    assert.match(String(refused?.message), /^\(SSH\) Channel open failure: /, 'the server answers other requests');
  }
  assert.equal(outcome, 'pending', 'the server must not answer the sftp request');
  client.end();

  fx.server.faults.hangAfterAuth = false;
  const sftp = await session();
  assert.equal(await call<string>((cb) => sftp.realpath('.', cb)), fx.root);
});

test('lists large directories in several READDIR batches', async () => {
  const sftp = await session();
  const dir = join(fx.root, 'many');
  mkdirSync(dir);
  for (let i = 0; i < 250; i++) writeFileSync(join(dir, `f${i}`), '');
  const readdirsBefore = fx.server.stats.READDIR ?? 0;
  const list = await call<FileEntryWithStats[]>((cb) => sftp.readdir(dir, cb));
  assert.equal(list.length, 250);
  assert.ok((fx.server.stats.READDIR ?? 0) - readdirsBefore >= 3);
  assert.ok(lstatSync(dir).isDirectory());
});
