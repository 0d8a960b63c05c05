/**
 * An SFTP server that dies or stops answering must fail Ferry's requests, never leave them
 * pending for ever (a folder stuck in "scanning", a `--once` that never returns).
 *
 * A channel that dies while requests are in flight must fail them. ssh2 fails what was pending when the channel closed, but its readdir(path) then
 * sends a CLOSE for the directory handle on the dead channel and waits for that reply, which
 * never comes: a remote scan hung forever (the soak found it: a folder stuck in "scanning"
 * after sshd was stopped, until Ferry was killed).
 *
 * A server whose SSH layer still answers (so the keepalive is happy) while its SFTP side hangs
 * must time out: requests of a live session, and the request that starts SFTP. And a server
 * that goes silent (or a connection lost) while SFTP starts is a connection failure, not a
 * server without SFTP: `--transport auto` must not fall back to rsync for that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sftpOf } from '../harness/fault-sftp-server.ts';
import { faultServerForFile } from '../harness/fault-server-for-file.ts';
import { openTransports } from '../../main/transport/open-transport.ts';
import { openSftp, SshConnectError } from '../../main/ssh/connect.ts';
import { resolveEndpoint } from '../../main/ssh/resolve-endpoint.ts';
import { SftpSession, type SftpSessionOptions } from '../../main/transport/sftp-session.ts';
import { SftpTransport } from '../../main/transport/sftp-transport.ts';

const fx = faultServerForFile('ferry-sftp-death-', (root) => {
  for (const dir of ['a', 'b', 'doomed', 'c/d']) mkdirSync(join(root, 'tree', dir), { recursive: true });
  for (const dir of ['a', 'b', 'doomed', 'c/d']) writeFileSync(join(root, 'tree', dir, 'f.txt'), 'x');
});

const openClient = () => fx.connect();

async function openSession(opts?: SftpSessionOptions): Promise<SftpSession> {
  const client = await openClient();
  return new SftpSession(await sftpOf(client), opts);
}

/** Settles with the outcome of `p`, or 'still pending' after `ms` (generous: a hang is forever). */
function outcomeOf(p: Promise<unknown>, ms = 20_000): Promise<string> {
  return Promise.race([
    p.then(
      () => 'resolved',
      (err: Error) => `rejected: ${err.message}`,
    ),
    new Promise<string>((r) => setTimeout(() => r('still pending'), ms).unref()),
  ]);
}

test('readdir of a directory whose channel dies mid-listing rejects instead of hanging', async () => {
  const session = await openSession();
  fx.server.faults.closeChannelOnReaddirMatching = /doomed$/;
  const outcome = await outcomeOf(session.readdir(join(fx.root, 'tree', 'doomed')));
  assert.match(outcome, /^rejected: readdir .*doomed failed on the server/);
  assert.ok(session.dead, 'the session knows its channel is gone');
  assert.match(
    await outcomeOf(session.lstat(join(fx.root, 'tree'))),
    /^rejected: lstat .* the SFTP channel was closed/,
  );
});

test('a remote scan whose channel dies mid-walk fails (the engine reconnects) instead of hanging', async () => {
  const transport = new SftpTransport(await openSession(), join(fx.root, 'tree'), async () => undefined);
  fx.server.faults.closeChannelOnReaddirMatching = /doomed$/;
  const outcome = await outcomeOf(transport.scan(['']));
  // Whichever request was pending when the channel went (the walk reads directories in
  // parallel) fails with the channel's death, not with some other error.
  assert.match(outcome, /^rejected: \w+ \S+\/tree\S* failed on the server: the SFTP channel was closed$/);

  // The same tree scans fine over a new session once the fault is gone.
  fx.server.faults = {};
  const again = new SftpTransport(await openSession(), join(fx.root, 'tree'), async () => undefined);
  const scan = await again.scan(['']);
  assert.deepEqual([...scan.entries.keys()].sort(), [
    '',
    'a',
    'a/f.txt',
    'b',
    'b/f.txt',
    'c',
    'c/d',
    'c/d/f.txt',
    'doomed',
    'doomed/f.txt',
  ]);
});

test('requests to a server that stops answering fail once none was answered for the request timeout', async () => {
  const session = await openSession({ requestTimeoutMs: 500 });
  assert.equal((await session.lstat(join(fx.root, 'tree'))).isDirectory(), true);
  fx.server.faults.hangAfterAuth = true; // live sessions' requests are never answered from now on
  const outcome = await outcomeOf(
    Promise.all([session.lstat(join(fx.root, 'tree')), session.readdir(join(fx.root, 'tree', 'a'))]),
  );
  assert.match(outcome, /^rejected: .* failed on the server: the server answered no SFTP request for 1 s$/);
  assert.match(await outcomeOf(session.lstat(join(fx.root, 'tree'))), /^rejected: .*answered no SFTP request/);
});

test('a server that accepts the login but never starts SFTP fails the connect instead of hanging', async () => {
  const client = await openClient();
  fx.server.faults.hangAfterAuth = true;
  const outcome = await outcomeOf(openSftp(client, 500));
  assert.match(outcome, /^rejected: The server did not start SFTP within 1 s/);
});

test('--transport auto: a server gone silent while SFTP starts is a connection failure, not a reason to fall back to rsync', async () => {
  const knownHosts = join(fx.root, 'known_hosts');
  writeFileSync(knownHosts, `${fx.server.knownHostsLine}\n`);
  const endpoint = resolveEndpoint(`ssh://${fx.server.user}@127.0.0.1:${fx.server.port}${join(fx.root, 'tree')}`, {
    password: fx.server.password,
    knownHostsPath: knownHosts,
    sshConfigPath: null,
    agentSocket: null,
  });
  fx.server.faults.hangAfterAuth = true;
  const outcome = await openTransports(endpoint, fx.root, 'auto', { sftpStartTimeoutMs: 500 }).then(
    async (t) => {
      await t.close();
      return `opened ${t.main.kind}`;
    },
    (err: Error) =>
      err instanceof SshConnectError ? `SshConnectError ${err.kind}: ${err.message}` : `other error: ${err.message}`,
  );
  assert.match(
    outcome,
    /^SshConnectError timeout: Lost the connection to .* while starting SFTP: The server did not start SFTP within 1 s/,
  );
});
