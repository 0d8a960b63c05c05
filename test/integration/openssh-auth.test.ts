/**
 * Password and keyboard-interactive logins against a real OpenSSH sshd (the in-process ssh2
 * servers of ssh-connect.test.ts cover the protocol; this is what real servers do). The
 * harness's server user has a password only when the tests run as root (they create the
 * user); keyboard-interactive goes through PAM, as on a stock Debian server.
 *
 * Prompts that are not for the password (one-time codes) cannot be made by a stock OpenSSH
 * without an extra PAM module, so those run against an in-process ssh2 server.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Client as ClientType, Server as ServerType } from 'ssh2';
import {
  connectSsh,
  openSftp,
  PromptUnansweredError,
  SshConnectError,
  type KeyboardInteractiveRequest,
} from '../../main/ssh/connect.ts';
import type { SshEndpoint } from '../../main/ssh/endpoint.ts';
import { ed25519KeyPair } from '../harness/ed25519-key-pair.ts';
import { SSHD_PATH, startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, readTree, runFerry, targetOf, tempDir, writeTree } from '../harness/trees.ts';

const PAM_SSHD = '/etc/pam.d/sshd';

function endpointOf(s: TestSshd, password: string | undefined): SshEndpoint {
  return {
    host: '127.0.0.1',
    port: s.port,
    user: s.user,
    displayName: 'test-sshd',
    remoteRoot: s.remoteRoot,
    identityFiles: [],
    agentSocket: null,
    ...(password !== undefined ? { password } : {}),
    knownHostsPath: s.knownHostsPath,
    hostKeyPolicy: 'strict',
  };
}

async function rejection(p: Promise<ClientType>): Promise<Error> {
  try {
    (await p).end();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the login to be refused');
}

async function listRoot(client: ClientType, path: string): Promise<string[]> {
  const sftp = await openSftp(client);
  return await new Promise((resolve, reject) =>
    sftp.readdir(path, (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename).sort()))),
  );
}

/** Why password logins cannot be tried here, or undefined when they can. */
function noPasswordReason(s: TestSshd): string | undefined {
  if (s.password === undefined)
    return `the server user ${s.user} has no password the tests know (only a root run creates the password user)`;
  return undefined;
}

/** A `ferry sync --once` run that has only a password (no key, no agent). */
function onceWithPassword(s: TestSshd, name: string, password: string) {
  const local = tempDir(`${name}-local`);
  const state = tempDir(`${name}-state`);
  const remote = join(s.remoteRoot, name);
  writeTree(local, { 'a.txt': 'over a password login', 'd/b.txt': 'b' });
  const run = () =>
    runFerry(
      [
        'sync',
        '--once',
        '--json',
        '--password-env',
        'FERRY_TEST_PASSWORD',
        '--known-hosts',
        s.knownHostsPath,
        '--state-dir',
        state,
        '--ssh-config',
        '/dev/null',
        local,
        targetOf(s, remote),
      ],
      { env: { FERRY_TEST_PASSWORD: password } },
    );
  const cleanup = () => {
    rmSync(local, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  };
  return { local, remote, run, cleanup };
}

describe('password login against OpenSSH (PasswordAuthentication yes, no PAM)', () => {
  let sshd: TestSshd;
  before(async () => {
    sshd = await startSshd({ auth: 'password' });
  });
  after(async () => {
    await sshd?.dispose();
  });

  test('the right password logs in and SFTP works', async (t: TestContext) => {
    const why = noPasswordReason(sshd);
    if (why) return t.skip(why);
    writeFileSync(join(sshd.remoteRoot, 'hello.txt'), 'hi');
    const client = await connectSsh(endpointOf(sshd, sshd.password));
    try {
      assert.deepEqual(await listRoot(client, sshd.remoteRoot), ['hello.txt']);
    } finally {
      client.end();
    }
  });

  test('a wrong password is refused with the authentication sentence', async (t: TestContext) => {
    const why = noPasswordReason(sshd);
    if (why) return t.skip(why);
    const err = await rejection(connectSsh(endpointOf(sshd, `${sshd.password}-wrong`)));
    assert.ok(err instanceof SshConnectError, err.message);
    assert.equal(err.kind, 'auth');
    assert.equal(
      err.message,
      `Authentication as ${sshd.user}@127.0.0.1:${sshd.port} failed; tried: password. Check that the user name and the password are right.`,
    );
  });

  test('ferry sync --once --password-env syncs with the password alone', async (t: TestContext) => {
    const why = noPasswordReason(sshd);
    if (why) return t.skip(why);
    const f = onceWithPassword(sshd, 'pw-sync', sshd.password as string);
    try {
      const r = await f.run();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    } finally {
      f.cleanup();
    }
  });
});

describe('keyboard-interactive only against OpenSSH (PAM)', () => {
  let sshd: TestSshd | undefined;
  let unavailable: string | undefined;
  before(async () => {
    if (!existsSync(PAM_SSHD)) unavailable = `${PAM_SSHD} is missing: this sshd has no PAM setup to log in through`;
    else if (SSHD_PATH && !readFileSync(SSHD_PATH).includes('UsePAM'))
      unavailable = `${SSHD_PATH} is built without PAM`;
    else sshd = await startSshd({ auth: 'keyboard-interactive' });
  });
  after(async () => {
    await sshd?.dispose();
  });
  const server = (t: TestContext): TestSshd | undefined => {
    if (unavailable || !sshd) return void t.skip(unavailable ?? 'no keyboard-interactive server');
    const why = noPasswordReason(sshd);
    if (why) return void t.skip(why);
    return sshd;
  };

  test('the password answers the PAM prompt; SFTP works', async (t: TestContext) => {
    const s = server(t);
    if (!s) return;
    writeFileSync(join(s.remoteRoot, 'kbd.txt'), 'hi');
    const client = await connectSsh(endpointOf(s, s.password));
    try {
      assert.deepEqual(await listRoot(client, s.remoteRoot), ['kbd.txt']);
    } finally {
      client.end();
    }
  });

  test('a key alone is refused: the server really takes keyboard-interactive only', async (t: TestContext) => {
    const s = server(t);
    if (!s) return;
    const err = await rejection(connectSsh({ ...endpointOf(s, undefined), identityFiles: [s.clientKeyPath] }));
    assert.ok(err instanceof SshConnectError, err.message);
    assert.match(
      err.message,
      new RegExp(
        `^Authentication as ${s.user}@127\\.0\\.0\\.1:${s.port} failed; tried: nothing\\. Also: the server does not accept publickey\\.`,
      ),
    );
  });

  test('a wrong password is refused with the authentication sentence', async (t: TestContext) => {
    const s = server(t);
    if (!s) return;
    const err = await rejection(connectSsh(endpointOf(s, `${s.password}-wrong`)));
    assert.ok(err instanceof SshConnectError, err.message);
    assert.equal(err.kind, 'auth');
    assert.equal(
      err.message,
      `Authentication as ${s.user}@127.0.0.1:${s.port} failed; tried: keyboard-interactive. Also: the server does not accept password. Check that the user name and the password are right.`,
    );
  });

  test('ferry sync --once --password-env syncs through keyboard-interactive', async (t: TestContext) => {
    const s = server(t);
    if (!s) return;
    const f = onceWithPassword(s, 'kbd-sync', s.password as string);
    try {
      const r = await f.run();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    } finally {
      f.cleanup();
    }
  });
});

describe('keyboard-interactive prompts that are not for the password (in-process ssh2 server)', () => {
  const { Server } = ssh2;
  let server: ServerType;
  let port: number;
  let kh: string;
  let scratch: string;
  before(async () => {
    scratch = tempDir('kbd-otp');
    const hostKey = ed25519KeyPair();
    server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
      conn.on('authentication', (ctx) => {
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
        ctx.prompt([{ prompt: 'Password: ', echo: false }], (pw) => {
          if (pw[0] !== 'pw') return ctx.reject(['keyboard-interactive']);
          ctx.prompt([{ prompt: 'Verification code: ', echo: true }], 'Two-factor', (code) =>
            code[0] === '123456' ? ctx.accept() : ctx.reject(['keyboard-interactive']),
          );
        });
      });
      conn.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const [type, b64] = hostKey.public.split(/\s+/);
    kh = join(scratch, 'known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${port} ${type} ${b64}\n`);
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  });
  const ep = (): SshEndpoint => ({
    host: '127.0.0.1',
    port,
    user: 'u',
    displayName: 'otp-server',
    remoteRoot: '/',
    identityFiles: [],
    agentSocket: null,
    password: 'pw',
    knownHostsPath: kh,
    hostKeyPolicy: 'strict',
  });

  test('without a hook, a one-time code prompt fails the login saying what was asked', async () => {
    const err = await rejection(connectSsh(ep()));
    assert.ok(err instanceof PromptUnansweredError, err.message);
    assert.equal(err.kind, 'auth');
    assert.equal(
      err.message,
      `Cannot log in as u@127.0.0.1:${port}: the server asks "Verification code:" (keyboard-interactive), which only a person can answer, and nobody can be asked here (ferry daemon, or ferry sync without a terminal). Run ferry sync in a terminal or use the Ferry app, which ask for it, or log in with a key that the server accepts without it.`,
    );
  });

  test('answerPrompts answers the code; the password prompt is still answered from the stored password', async () => {
    const asked: KeyboardInteractiveRequest[] = [];
    const client = await connectSsh(ep(), {
      answerPrompts: async (req) => {
        asked.push(req);
        return req.prompts.map(() => '123456');
      },
    });
    client.end();
    assert.deepEqual(asked, [
      {
        host: '127.0.0.1',
        port,
        user: 'u',
        name: 'Two-factor',
        instructions: '',
        prompts: [{ prompt: 'Verification code: ', echo: true }],
      },
    ]);
  });

  test('a hook that gives up fails the login with its own error', async () => {
    const refusal = new Error('the user cancelled the code prompt');
    const err = await rejection(connectSsh(ep(), { answerPrompts: () => Promise.reject(refusal) }));
    assert.equal(err, refusal);
  });
});
