/** Agent authentication end to end: a real ssh-agent holds the key, no -i is given. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { eventually, runFerry, targetOf, tempDir, writeTree } from '../harness/trees.ts';
import { existsSync } from 'node:fs';

let sshd: TestSshd;
let agent: ChildProcess;
let sock: string;
before(async () => {
  sshd = await startSshd();
  sock = join(sshd.dir, 'agent.sock');
  agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  await eventually(
    () => existsSync(sock),
    10_000,
    () => 'ssh-agent did not create its socket',
  );
  execFileSync('ssh-add', ['-q', sshd.clientKeyPath], {
    env: { ...process.env, SSH_AUTH_SOCK: sock },
    stdio: 'ignore',
  });
});
after(async () => {
  agent?.kill();
  await sshd?.dispose();
});

test('ferry authenticates through SSH_AUTH_SOCK when no key file is given', async () => {
  const local = tempDir('agent-local');
  const state = tempDir('agent-state');
  const home = tempDir('agent-home'); // no ~/.ssh/id_* to fall back on
  writeTree(local, { 'a.txt': 'via the agent' });
  const remote = join(sshd.remoteRoot, 'agent');
  const args = [
    'sync',
    '--once',
    '--json',
    '--known-hosts',
    sshd.knownHostsPath,
    '--state-dir',
    state,
    '--ssh-config',
    '/dev/null',
    local,
    targetOf(sshd, remote),
  ];
  const withAgent = await runFerry(args, { env: { SSH_AUTH_SOCK: sock, HOME: home } });
  assert.equal(withAgent.code, 0, withAgent.stdout + withAgent.stderr);
  assert.equal(readFileSync(join(remote, 'a.txt'), 'utf8'), 'via the agent');
  const withoutAgent = await runFerry(args, { env: { SSH_AUTH_SOCK: '', HOME: home } });
  assert.equal(withoutAgent.code, 4, 'no agent and no key: a clear failure, not a hang');
  // The planner's own sentence, before any connection: nothing to offer, so nothing was tried.
  assert.equal(
    withoutAgent.events.find((e) => e.event === 'error')?.message,
    `Cannot authenticate as ${sshd.user}@127.0.0.1:${sshd.port}: no usable credentials. ` +
      'Give a private key file (-i), start ssh-agent with your key loaded, or give a password.',
    withoutAgent.stdout,
  );
  for (const d of [local, state, home]) rmSync(d, { recursive: true, force: true });
});
