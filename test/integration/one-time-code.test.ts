/**
 * Logins that ask for a one-time code (issue 16): the in-process ssh2 server with
 * `oneTimeCode` takes the password as the first factor, then asks "Verification code:"
 * (keyboard-interactive, echo off). OpenSSH with PAM cannot easily be given an OTP module
 * here, so this is the server for the prompt path.
 *
 * - The engine hands the folder's prompt answerer to every connection: the right code syncs;
 *   a wrong one fails with the server's refusal quoted.
 * - Without an answerer (the daemon, ferry sync without a terminal) the login fails with a
 *   sentence naming the prompt and what to do, and the lane does not log in again soon.
 * - The ready timeout does not run while a person is asked; the answerer learns (its
 *   signal) when the login no longer needs the answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { folderConfigFrom } from '../../main/engine/folder-options.ts';
import {
  connectSsh,
  neededPerson,
  PromptUnansweredError,
  type KeyboardInteractiveRequest,
  type PromptAnswerer,
} from '../../main/ssh/connect.ts';
import type { SshEndpoint } from '../../main/ssh/endpoint.ts';
import { ONE_TIME_CODE_PROMPT, startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import { runFerry, tempDir, writeTree } from '../harness/trees.ts';

const CODE = '314159';
let server: FaultSftpServer;
let scratch: string;
let knownHosts: string;

before(async () => {
  scratch = tempDir('otp');
  const root = join(scratch, 'server');
  mkdirSync(root);
  server = await startFaultSftpServer({ root, oneTimeCode: CODE });
  knownHosts = join(scratch, 'known_hosts');
  writeFileSync(knownHosts, `${server.knownHostsLine}\n`);
});
after(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function folder(name: string) {
  const local = join(scratch, `${name}-local`);
  writeTree(local, { 'notes.txt': `synced after a code (${name})` });
  const remote = join(server.root, name);
  const config = await folderConfigFrom({
    local,
    target: `ssh://${server.user}@127.0.0.1:${server.port}${remote}`,
    password: server.password,
    knownHosts,
    sshConfig: '/dev/null',
    stateDir: join(scratch, `${name}-state`),
    transport: 'sftp',
  });
  return { local, remote, config };
}

const where = () => `u@127.0.0.1:${server.port}`;

describe('the engine with a prompt answerer', () => {
  test('the right code: the folder syncs, and the answerer saw the prompt with echo off', async () => {
    const f = await folder('right');
    const asked: KeyboardInteractiveRequest[] = [];
    const signals: AbortSignal[] = [];
    const answer: PromptAnswerer = async (request, { signal }) => {
      asked.push(request);
      signals.push(signal);
      return [CODE];
    };
    const summary = await new FolderSync(f.config, { answerPrompts: answer }).runOnce();
    assert.equal(summary.inSync, true, JSON.stringify(summary));
    assert.equal(readFileSync(join(f.remote, 'notes.txt'), 'utf8'), 'synced after a code (right)');
    assert.deepEqual(asked, [
      {
        host: '127.0.0.1',
        port: server.port,
        user: 'u',
        name: 'Two-factor authentication',
        instructions: '',
        prompts: [{ prompt: ONE_TIME_CODE_PROMPT, echo: false }],
      },
    ]);
    assert.equal(signals[0]?.aborted, true, 'the login is over: nobody needs to answer any more');
  });

  test('a wrong code fails the login with the server refusal quoted', async () => {
    const f = await folder('wrong');
    const sync = new FolderSync(f.config, { answerPrompts: async () => ['000000'] });
    await assert.rejects(sync.runOnce(), {
      name: 'SshConnectError',
      message: `Authentication as ${where()} failed; tried: password, keyboard-interactive. Also: the server did not accept the answer to "Verification code:". Check that the user name and the password are right.`,
    });
  });

  test('without an answerer: a clear permanent error, and no login again soon', async () => {
    const f = await folder('nobody');
    const before = server.codesAsked;
    const sync = new FolderSync(f.config);
    const errors: string[] = [];
    sync.on('status', (s) => {
      if (s.state === 'error' && s.lastError && errors.at(-1) !== s.lastError) errors.push(s.lastError);
    });
    await sync.start();
    try {
      const deadline = Date.now() + 10_000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // An ordinary permanent error retries after < 1 s, then < 2 s: three seconds would see
      // at least one more login. This one waits for the user (or ten minutes).
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(server.codesAsked - before, 1, 'the server was asked for a code once');
      assert.equal(sync.status().lastErrorKind, 'auth');
      assert.deepEqual(errors, [
        `Cannot log in as ${where()}: the server asks "Verification code:" (keyboard-interactive), which only a person can answer, and nobody can be asked here (ferry daemon, or ferry sync without a terminal). Run ferry sync in a terminal or use the Ferry app, which ask for it, or log in with a key that the server accepts without it.`,
      ]);
      // "Sync now" (retryFailed) asks again at once.
      sync.retryFailed();
      const again = Date.now() + 10_000;
      while (server.codesAsked - before < 2 && Date.now() < again) await new Promise((r) => setTimeout(r, 50));
      assert.equal(server.codesAsked - before, 2, 'Sync now logs in again');
    } finally {
      await sync.stop();
    }
  });
});

test('ferry sync --once --json without a terminal: exit 4 with the sentence, asked once', async () => {
  const local = join(scratch, 'cli-local');
  writeTree(local, { 'a.txt': 'a' });
  const before = server.codesAsked;
  const r = await runFerry(
    [
      'sync',
      '--once',
      '--json',
      '--password-env',
      'FERRY_TEST_PW',
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      '/dev/null',
      '--state-dir',
      join(scratch, 'cli-state'),
      local,
      `ssh://u@127.0.0.1:${server.port}${join(server.root, 'cli')}`,
    ],
    { env: { FERRY_TEST_PW: server.password } },
  );
  assert.equal(r.code, 4, r.stdout + r.stderr);
  const errors = r.events.filter((e) => e.event === 'error').map((e) => e.message);
  assert.deepEqual(errors, [
    `Cannot log in as ${where()}: the server asks "Verification code:" (keyboard-interactive), which only a person can answer, and nobody can be asked here (ferry daemon, or ferry sync without a terminal). Run ferry sync in a terminal or use the Ferry app, which ask for it, or log in with a key that the server accepts without it.`,
  ]);
  assert.equal(server.codesAsked - before, 1);
});

describe('connectSsh with a person answering', () => {
  const ep = (): SshEndpoint => ({
    host: '127.0.0.1',
    port: server.port,
    user: 'u',
    displayName: 'otp',
    remoteRoot: '/',
    identityFiles: [],
    agentSocket: null,
    password: server.password,
    knownHostsPath: knownHosts,
    hostKeyPolicy: 'strict',
  });

  test('the ready timeout stops while a person types; the client is marked as needing one', async () => {
    const client = await connectSsh(ep(), {
      readyTimeoutMs: 300,
      answerPrompts: async () => {
        await new Promise((r) => setTimeout(r, 900));
        return [CODE];
      },
    });
    try {
      assert.equal(neededPerson(client), true, 'rsync (BatchMode ssh) cannot log in here on its own');
    } finally {
      client.end();
    }
  });

  test('a login cancelled while a person is asked aborts the answerer signal', async () => {
    const cancel = new AbortController();
    let seen: AbortSignal | undefined;
    const connecting = connectSsh(ep(), {
      signal: cancel.signal,
      answerPrompts: (_request, { signal }) => {
        seen = signal;
        cancel.abort(new Error('the folder is stopping'));
        return new Promise(() => undefined);
      },
    });
    await assert.rejects(connecting, {
      name: 'SshConnectError',
      message: `Connecting to 127.0.0.1:${server.port} was cancelled.`,
    });
    assert.equal(seen?.aborted, true);
  });

  test('an answerer that gives up with PromptUnansweredError fails the login with it', async () => {
    const refusal = new PromptUnansweredError('127.0.0.1', server.port, 'Cancelled by you.');
    await assert.rejects(
      connectSsh(ep(), { answerPrompts: async () => Promise.reject(refusal) }),
      (err) => err === refusal,
    );
  });
});
