/**
 * Secrets never leave the process: a password or key passphrase, given to `ferry` through
 * `--password-env` / `--passphrase-env` or to the app through its add-folder request and
 * `provideSecret`, appears in none of Ferry's output (stdout, stderr, `--json` events), error
 * messages, conflict log, state directory files or settings file. Right and wrong secrets
 * alike: a refused password must not be echoed back either.
 *
 * The secrets are distinctive strings (with characters JSON escapes, so an escaped copy is
 * searched for too); everything Ferry wrote is read back and searched byte for byte.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { eventually, runFerry, startFerry, tempDir, writeTree, type FerryRun } from '../harness/trees.ts';

const PASSWORD = 'pa55-"w0rd"\\-ferry-secret-1-é';
const WRONG_PASSWORD = 'wr0ng-"pa55"\\-ferry-secret-2-ü';
const PASSPHRASE = 'phrase-"of"\\-the-key-ferry-secret-3-ß';
const WRONG_PASSPHRASE = 'not-"the"\\-phrase-ferry-secret-4-ø';
const SECRETS = [PASSWORD, WRONG_PASSWORD, PASSPHRASE, WRONG_PASSPHRASE];

let server: FaultSftpServer;
let sshd: TestSshd;
let tmp: string;
let encryptedKey: string;

before(async () => {
  tmp = tempDir('secrets');
  mkdirSync(join(tmp, 'srv'));
  server = await startFaultSftpServer({ root: join(tmp, 'srv'), password: PASSWORD });
  sshd = await startSshd();
  encryptedKey = join(tmp, 'id_encrypted');
  copyFileSync(sshd.clientKeyPath, encryptedKey);
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', PASSPHRASE, '-f', encryptedKey]);
});

after(async () => {
  await server?.close();
  await sshd?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Every way a secret could be written down: as is, JSON-escaped, and as UTF-8 bytes in a file. */
function assertNoSecret(where: string, text: string): void {
  for (const s of SECRETS) {
    for (const form of [s, JSON.stringify(s).slice(1, -1)])
      assert.equal(text.includes(form), false, `${where} contains a secret (${JSON.stringify(s)})`);
  }
}

/** Every file below `dir`, read whole. */
function assertNoSecretInFiles(dir: string): number {
  let files = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        files++;
        assertNoSecret(p, readFileSync(p, 'utf8'));
      }
    }
  };
  walk(dir);
  return files;
}

const outputOf = (r: FerryRun) => `${r.stdout}\n${r.stderr}`;

test('ferry with --password-env: no output, error, conflict log or state file holds the password, right or wrong', async () => {
  const local = join(tmp, 'pw-local');
  const state = join(tmp, 'pw-state');
  const remote = join(server.root, 'pw-target');
  mkdirSync(state, { recursive: true });
  const knownHosts = join(state, 'known_hosts');
  writeFileSync(knownHosts, `${server.knownHostsLine}\n`);
  writeTree(local, { 'a.txt': 'a', 'shared.txt': 'first' });
  const args = (...extra: string[]) => [
    'sync',
    '--once',
    ...extra,
    '--password-env',
    'FERRY_PW',
    '--known-hosts',
    knownHosts,
    '--state-dir',
    state,
    '--ssh-config',
    '/dev/null',
    '--transport',
    'sftp',
    local,
    `ssh://${server.user}@127.0.0.1:${server.port}${remote}`,
  ];
  const env = (pw: string) => ({ env: { FERRY_PW: pw, HOME: state } });

  const first = await runFerry(args('--json'), env(PASSWORD));
  assert.equal(first.code, 0, outputOf(first));
  // A conflict, so the conflict log is written too: both sides change shared.txt.
  writeFileSync(join(remote, 'shared.txt'), 'changed on the server');
  utimesSync(join(remote, 'shared.txt'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  writeFileSync(join(local, 'shared.txt'), 'changed locally, longer');
  const second = await runFerry(args(), env(PASSWORD));
  assert.equal(second.code, 0, outputOf(second));
  assert.match(second.stderr, /conflict/i, 'the human-readable run reports the conflict');
  const wrong = await runFerry(args('--json'), env(WRONG_PASSWORD));
  assert.equal(wrong.code, 4, outputOf(wrong));
  assert.match(outputOf(wrong), /Authentication as u@127\.0\.0\.1:\d+ failed; tried: password/);
  const wrongHuman = await runFerry(args(), env(WRONG_PASSWORD));
  assert.equal(wrongHuman.code, 4, outputOf(wrongHuman));

  // Watch mode too, stopped with SIGTERM.
  writeFileSync(join(local, 'b.txt'), 'b');
  const watch = startFerry(['sync', '--json', ...args().slice(2)], env(PASSWORD));
  await watch.waitFor(
    (e) => e.event === 'state' && e.state === 'idle' && e.inSync === true,
    30_000,
    'idle and in sync',
  );
  watch.child.kill('SIGTERM');
  assert.deepEqual(await watch.exited, { code: 0, signal: null }, watch.stderr());

  for (const [name, r] of Object.entries({ first, second, wrong, wrongHuman }))
    assertNoSecret(`output of the ${name} run`, outputOf(r));
  assertNoSecret('output of the watch run', `${JSON.stringify(watch.events)}\n${watch.stderr()}`);
  const files = assertNoSecretInFiles(state);
  assert.ok(files >= 3, `the state dir holds the index, the conflict log and known_hosts (${files} files)`);
  assert.ok(
    readdirSync(remote).some((n) => n.includes('.ferry-conflict-')),
    'the conflict happened',
  );
});

test('ferry with --passphrase-env: no output, error or state file holds the passphrase, right or wrong', async () => {
  const local = join(tmp, 'pp-local');
  const state = join(tmp, 'pp-state');
  writeTree(local, { 'a.txt': 'a' });
  const args = (...extra: string[]) => [
    'sync',
    '--once',
    ...extra,
    '-i',
    encryptedKey,
    '--passphrase-env',
    'FERRY_PP',
    '--known-hosts',
    sshd.knownHostsPath,
    '--state-dir',
    state,
    '--ssh-config',
    '/dev/null',
    local,
    `ssh://${sshd.user}@127.0.0.1:${sshd.port}${join(sshd.remoteRoot, 'pp')}`,
  ];
  const env = (pp: string) => ({ env: { FERRY_PP: pp, HOME: state } });
  const ok = await runFerry(args('--json'), env(PASSPHRASE));
  assert.equal(ok.code, 0, outputOf(ok));
  const wrong = await runFerry(args('--json'), env(WRONG_PASSPHRASE));
  assert.notEqual(wrong.code, 0, outputOf(wrong));
  assert.equal(
    wrong.events.find((e) => e.event === 'error')?.message,
    `Cannot authenticate as ${sshd.user}@127.0.0.1:${sshd.port}: no usable credentials ` +
      `(key ${encryptedKey} was skipped: the passphrase given does not decrypt it). ` +
      'Give a private key file (-i), start ssh-agent with your key loaded, or give a password.',
    'the error says what is wrong',
  );
  const wrongHuman = await runFerry(args(), env(WRONG_PASSPHRASE));
  assert.notEqual(wrongHuman.code, 0);
  for (const [name, r] of Object.entries({ ok, wrong, wrongHuman }))
    assertNoSecret(`output of the ${name} run`, outputOf(r));
  assertNoSecretInFiles(state);
});

test('the app: settings file, state files, folder list, statuses and error messages never hold a password or passphrase', async () => {
  const root = join(tmp, 'app');
  const settingsFile = join(root, 'settings.json');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'known_hosts'), `${server.knownHostsLine}\n${readFileSync(sshd.knownHostsPath, 'utf8')}`);
  const statuses: unknown[] = [];
  const messages: string[] = [];
  const manager = await FolderManager.open({
    store: new JsonFileSettingsStore(settingsFile),
    secrets: new MemorySecretStore(),
    stateRoot: join(root, 'state'),
    knownHostsPath: join(root, 'known_hosts'),
    sshConfigPath: join(root, 'no-ssh-config'),
    pollIntervalMs: 5_000,
  });
  manager.on('folderStatus', (s) => statuses.push(s));
  try {
    const pwLocal = join(root, 'pw-folder');
    const ppLocal = join(root, 'pp-folder');
    writeTree(pwLocal, { 'a.txt': 'a' });
    writeTree(ppLocal, { 'b.txt': 'b' });
    const common = { host: '127.0.0.1', mode: 'push' as const, ignore: [] };
    // Wrong secrets first: refused, and the refusal does not repeat them.
    const wrongPw = await manager
      .add({
        ...common,
        localPath: pwLocal,
        port: server.port,
        user: server.user,
        auth: { kind: 'password', password: WRONG_PASSWORD },
        remotePath: join(server.root, 'app-pw'),
      })
      .then(
        (entry) => entry,
        (err: Error) => (messages.push(err.message), undefined),
      );
    if (wrongPw) {
      await eventually(
        () => manager.list().find((f) => f.id === wrongPw.id)?.status.lastErrorKind === 'auth',
        30_000,
        () => JSON.stringify(manager.list()),
      );
      messages.push(String(manager.list().find((f) => f.id === wrongPw.id)?.status.lastError));
      await manager.remove(wrongPw.id);
    }
    await manager
      .add({
        ...common,
        localPath: ppLocal,
        port: sshd.port,
        user: sshd.user,
        auth: { kind: 'key', keyPath: encryptedKey, passphrase: WRONG_PASSPHRASE },
        remotePath: join(sshd.remoteRoot, 'app-pp'),
      })
      .then(
        async (entry) => {
          await eventually(
            () => typeof manager.list().find((f) => f.id === entry.id)?.status.lastError === 'string',
            30_000,
            () => JSON.stringify(manager.list()),
          );
          messages.push(String(manager.list().find((f) => f.id === entry.id)?.status.lastError));
          await manager.remove(entry.id);
        },
        (err: Error) => messages.push(err.message),
      );
    assert.ok(messages.length >= 2, `both wrong secrets were refused: ${JSON.stringify(messages)}`);

    // The right ones: both folders sync.
    await manager.add({
      ...common,
      localPath: pwLocal,
      port: server.port,
      user: server.user,
      auth: { kind: 'password', password: PASSWORD },
      remotePath: join(server.root, 'app-pw'),
    });
    await manager.add({
      ...common,
      localPath: ppLocal,
      port: sshd.port,
      user: sshd.user,
      auth: { kind: 'key', keyPath: encryptedKey, passphrase: PASSPHRASE },
      remotePath: join(sshd.remoteRoot, 'app-pp'),
    });
    await eventually(
      () => manager.list().length === 2 && manager.list().every((f) => f.status.state === 'idle' && f.status.inSync),
      30_000,
      () => JSON.stringify(manager.list()),
    );

    assertNoSecret('error messages', messages.join('\n'));
    assertNoSecret('the folder list', JSON.stringify(manager.list()));
    assertNoSecret('the status events', JSON.stringify(statuses));
  } finally {
    await manager.stopAll();
  }
  assertNoSecret('the settings file', readFileSync(settingsFile, 'utf8'));
  assertNoSecretInFiles(root);
});
