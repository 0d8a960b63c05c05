import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../harness/ed25519-key-pair.ts';
import type { Client as ClientType, Server as ServerType } from 'ssh2';
import { connectSsh, openSftp, SshConnectError } from '../../main/ssh/connect.ts';
import type { SshEndpoint } from '../../main/ssh/endpoint.ts';
import { HostKeyError } from '../../main/ssh/host-key.ts';
import { freePort, startSshd, type TestSshd } from '../harness/sshd.ts';

const { Server } = ssh2;

let sshd: TestSshd;
let scratch: string;

function endpoint(over: Partial<SshEndpoint> = {}): SshEndpoint {
  return {
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    displayName: 'test-sshd',
    remoteRoot: sshd.remoteRoot,
    identityFiles: [sshd.clientKeyPath],
    agentSocket: null,
    knownHostsPath: sshd.knownHostsPath,
    hostKeyPolicy: 'strict',
    ...over,
  };
}

function fingerprintOf(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubPath], { encoding: 'utf8' }).split(/\s+/)[1] ?? '';
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    const value = await p;
    (value as ClientType | undefined)?.end?.();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the connection to be refused');
}

async function readdirNames(client: ClientType, path: string): Promise<string[]> {
  const sftp = await openSftp(client);
  return await new Promise((resolve, reject) =>
    sftp.readdir(path, (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename).sort()))),
  );
}

before(async () => {
  sshd = await startSshd();
  scratch = mkdtempSync(join(tmpdir(), 'ferry-connect-'));
  writeFileSync(join(sshd.remoteRoot, 'hello.txt'), 'hi');
});

after(async () => {
  await sshd?.dispose();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('connectSsh against OpenSSH', () => {
  test('strict with the pinned key: connects and lists the remote root over SFTP', async () => {
    const client = await connectSsh(endpoint());
    try {
      assert.deepEqual(await readdirNames(client, sshd.remoteRoot), ['hello.txt']);
    } finally {
      client.end();
    }
  });

  test('strict with an empty known_hosts: refused as unknown, nothing written', async () => {
    const kh = join(scratch, 'empty_known_hosts');
    writeFileSync(kh, '');
    const err = await rejection(connectSsh(endpoint({ knownHostsPath: kh })));
    assert.ok(err instanceof HostKeyError, `got ${err.message}`);
    assert.equal(err.kind, 'unknown');
    assert.equal(err.presentedFingerprint, fingerprintOf(sshd.hostPublicKeyPath));
    assert.ok(err.message.includes(kh));
    assert.equal(readFileSync(kh, 'utf8'), '');
  });

  test('accept-new pins the key; a later strict connection succeeds', async () => {
    const kh = join(scratch, 'pin', 'known_hosts');
    const first = await connectSsh(endpoint({ knownHostsPath: kh, hostKeyPolicy: 'accept-new' }));
    first.end();
    const pinned = readFileSync(kh, 'utf8');
    const hostPub = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    assert.equal(pinned, `[127.0.0.1]:${sshd.port} ${hostPub}\n`);
    const second = await connectSsh(endpoint({ knownHostsPath: kh }));
    second.end();
    assert.equal(readFileSync(kh, 'utf8'), pinned, 'nothing appended the second time');
  });

  test('a hashed known_hosts (ssh-keygen -H) is accepted', async () => {
    const kh = join(scratch, 'hashed_known_hosts');
    copyFileSync(sshd.knownHostsPath, kh);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', kh], { stdio: 'pipe' });
    assert.match(readFileSync(kh, 'utf8'), /^\|1\|/);
    const client = await connectSsh(endpoint({ knownHostsPath: kh }));
    client.end();
  });

  test('a key the server does not know gives the authentication sentence', async () => {
    const wrong = join(scratch, 'wrong_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
    const err = await rejection(connectSsh(endpoint({ identityFiles: [wrong] })));
    assert.ok(err instanceof SshConnectError, `got ${err.message}`);
    assert.equal(err.kind, 'auth');
    assert.match(
      err.message,
      new RegExp(`^Authentication as ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} failed; tried: key ${wrong}\\.`),
    );
    assert.match(err.message, /authorized_keys/);
  });

  test('a passphrase-protected key works with its passphrase and fails clearly without', async () => {
    const enc = join(scratch, 'encrypted_key');
    copyFileSync(sshd.clientKeyPath, enc);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'sekrit', '-f', enc]);
    const client = await connectSsh(endpoint({ identityFiles: [enc], passphrase: 'sekrit' }));
    client.end();

    const missing = await rejection(connectSsh(endpoint({ identityFiles: [enc] })));
    assert.ok(missing instanceof SshConnectError);
    assert.equal(missing.kind, 'auth');
    assert.ok(missing.message.includes(`the key ${enc} is encrypted and no passphrase was given`), missing.message);

    const wrongPass = await rejection(connectSsh(endpoint({ identityFiles: [enc], passphrase: 'nope' })));
    assert.match(wrongPass.message, /passphrase given does not decrypt it/);
  });

  test('a closed port gives the connection-refused sentence', async () => {
    const port = await freePort();
    const err = await rejection(connectSsh(endpoint({ port })));
    assert.ok(err instanceof SshConnectError);
    assert.equal(err.kind, 'refused');
    assert.equal(
      err.message,
      `Could not connect to 127.0.0.1:${port}: connection refused. Is sshd running there and is the port right?`,
    );
  });

  test('a server that never speaks SSH gives the timeout sentence', async () => {
    // Reads (so it notices our side closing) but never answers.
    const silent = createServer((s) => s.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const err = await rejection(connectSsh(endpoint({ port }), { readyTimeoutMs: 300 }));
      assert.ok(err instanceof SshConnectError, `got ${err.message}`);
      assert.equal(err.kind, 'timeout');
      assert.match(
        err.message,
        new RegExp(`^Could not connect to 127\\.0\\.0\\.1:${port}: no SSH session was ready within 300 ms\\.`),
      );
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('an already aborted signal cancels without connecting', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await rejection(connectSsh(endpoint(), { signal: controller.signal }));
    assert.ok(err instanceof SshConnectError);
    assert.equal(err.kind, 'aborted');
  });

  test('ProxyJump: reaches the target through a jump host, verifying both host keys', async () => {
    const client = await connectSsh(endpoint({ jump: [endpoint({ displayName: 'jump' })] }));
    try {
      assert.deepEqual(await readdirNames(client, sshd.remoteRoot), ['hello.txt']);
    } finally {
      client.end();
    }
    const kh = join(scratch, 'jump_empty_known_hosts');
    writeFileSync(kh, '');
    const err = await rejection(
      connectSsh(endpoint({ knownHostsPath: kh, jump: [endpoint({ displayName: 'jump' })] })),
    );
    assert.ok(err instanceof HostKeyError, `the target's key is checked too; got ${err.message}`);
    assert.equal(err.kind, 'unknown');
  });

  // Runs last: it replaces the server's host key.
  test('after the host key rotates, the connection is refused as changed with both fingerprints', async () => {
    const oldFingerprint = fingerprintOf(sshd.hostPublicKeyPath);
    const before = readFileSync(sshd.knownHostsPath, 'utf8');
    await sshd.rotateHostKey();
    const newFingerprint = fingerprintOf(sshd.hostPublicKeyPath);
    assert.notEqual(oldFingerprint, newFingerprint);
    for (const policy of ['strict', 'accept-new'] as const) {
      const err = await rejection(connectSsh(endpoint({ hostKeyPolicy: policy })));
      assert.ok(err instanceof HostKeyError, `got ${err.message}`);
      assert.equal(err.kind, 'changed');
      assert.equal(err.presentedFingerprint, newFingerprint);
      assert.deepEqual(err.knownFingerprints, [oldFingerprint]);
      assert.ok(err.message.includes(oldFingerprint) && err.message.includes(newFingerprint), err.message);
      assert.ok(err.message.includes(`ssh-keygen -R '[127.0.0.1]:${sshd.port}'`), err.message);
    }
    assert.equal(readFileSync(sshd.knownHostsPath, 'utf8'), before, 'known_hosts is untouched');
  });
});

describe('connectSsh with a server holding several host keys', () => {
  let multi: TestSshd;
  let ecdsaPub: string;

  before(async () => {
    const ecdsaKey = join(scratch, 'host_ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsaKey]);
    ecdsaPub = readFileSync(`${ecdsaKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    multi = await startSshd({ extraConfig: [`HostKey ${ecdsaKey}`] });
  });

  after(async () => {
    await multi?.dispose();
  });

  test('asks for the key type known_hosts has, so a pinned ECDSA key is not mistaken for a change', async () => {
    const kh = join(scratch, 'ecdsa_only_known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${multi.port} ${ecdsaPub}\n`);
    const client = await connectSsh({
      host: '127.0.0.1',
      port: multi.port,
      user: multi.user,
      displayName: 'multi',
      remoteRoot: multi.remoteRoot,
      identityFiles: [multi.clientKeyPath],
      agentSocket: null,
      knownHostsPath: kh,
      hostKeyPolicy: 'strict',
    });
    client.end();
  });
});

describe('connectSsh password authentication (in-process ssh2 server)', () => {
  let server: ServerType;
  let port: number;
  let kh: string;

  before(async () => {
    const hostKey = ed25519KeyPair();
    server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
      conn.on('authentication', (ctx) => {
        if (ctx.method === 'password' && ctx.username === 'u' && ctx.password === 'pw') ctx.accept();
        else ctx.reject(['password']);
      });
      conn.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const [type, b64] = hostKey.public.split(/\s+/);
    kh = join(scratch, 'password_known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${port} ${type} ${b64}\n`);
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const passwordEndpoint = (password: string): SshEndpoint => ({
    host: '127.0.0.1',
    port,
    user: 'u',
    displayName: 'pw-server',
    remoteRoot: '/',
    identityFiles: [],
    agentSocket: null,
    password,
    knownHostsPath: kh,
    hostKeyPolicy: 'strict',
  });

  test('the right password authenticates', async () => {
    const client = await connectSsh(passwordEndpoint('pw'));
    assert.equal(typeof client.end, 'function');
    client.end();
  });

  test('a wrong password gives the authentication sentence', async () => {
    const err = await rejection(connectSsh(passwordEndpoint('wrong')));
    assert.ok(err instanceof SshConnectError, `got ${err.message}`);
    assert.equal(err.kind, 'auth');
    assert.match(err.message, new RegExp(`^Authentication as u@127\\.0\\.0\\.1:${port} failed; tried: password\\.`));
  });

  test('without credentials it fails before connecting, saying what to give', async () => {
    const ep = { ...passwordEndpoint('x') };
    delete ep.password;
    const err = await rejection(connectSsh(ep));
    assert.ok(err instanceof SshConnectError);
    assert.match(err.message, /no usable credentials/);
    assert.equal(existsSync(kh), true);
  });
});
