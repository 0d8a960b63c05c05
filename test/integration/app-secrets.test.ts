/**
 * Secrets without a system keyring (Linux's `basic_text` safeStorage backend): the folder
 * syncs in the session its passphrase was given, is not started at the next launch but says
 * which secret it needs, and starts once the window sends it. A wrong passphrase is refused
 * before anything connects. The secret never lands in the settings file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderManager, type FolderManagerOptions } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { eventually } from '../harness/trees.ts';

/** Like safeStorage on Linux without a keyring: keeps secrets for this process only, says so. */
class SessionOnlySecretStore extends MemorySecretStore {
  override async set(key: string, value: string): Promise<boolean> {
    await super.set(key, value);
    return false;
  }
}

const PASSPHRASE = 'correct horse battery staple';
let sshd: TestSshd;
let tmp: string;
let encryptedKey: string;

before(async () => {
  sshd = await startSshd();
  tmp = mkdtempSync(join(tmpdir(), 'ferry-app-secrets-'));
  // The harness's authorized key, encrypted with a passphrase.
  encryptedKey = join(tmp, 'id_encrypted');
  copyFileSync(sshd.clientKeyPath, encryptedKey);
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', PASSPHRASE, '-f', encryptedKey]);
});

after(async () => {
  await sshd?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('without a keyring the passphrase is asked for at the next start, checked, and then the folder syncs', async () => {
  const local = join(tmp, 'folder');
  const remote = join(sshd.remoteRoot, 'secrets');
  execFileSync('mkdir', ['-p', local]);
  writeFileSync(join(local, 'a.txt'), 'first session\n');
  const settingsFile = join(tmp, 'settings.json');
  const opts = (): FolderManagerOptions => ({
    store: new JsonFileSettingsStore(settingsFile),
    secrets: new SessionOnlySecretStore(),
    stateRoot: join(tmp, 'state'),
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: join(tmp, 'no-ssh-config'),
    pollIntervalMs: 5_000,
  });

  // First session: added with its passphrase; it syncs, and the entry says the secret is session-only.
  const first = await FolderManager.open(opts());
  const added = await first.add({
    localPath: local,
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    auth: { kind: 'key', keyPath: encryptedKey, passphrase: PASSPHRASE },
    remotePath: remote,
    mode: 'push',
    ignore: [],
  });
  assert.equal(added.secretSessionOnly, true);
  await eventually(
    () => existsSync(join(remote, 'a.txt')),
    30_000,
    () => JSON.stringify(first.list()[0]?.status),
  );
  await first.stopAll();
  assert.ok(!readFileSync(settingsFile, 'utf8').includes(PASSPHRASE), 'the passphrase is not in the settings file');

  // Next start: the secret is gone; the folder waits for it instead of failing to authenticate.
  writeFileSync(join(local, 'b.txt'), 'written while Ferry was not running\n');
  const second = await FolderManager.open(opts());
  try {
    const [waiting] = second.list();
    assert.equal(waiting?.needsSecret, 'passphrase');
    assert.equal(waiting?.status.state, 'error');
    assert.equal(waiting?.status.lastErrorKind, 'needs-secret');
    assert.match(
      waiting?.status.lastError ?? '',
      /needs the passphrase of the key .*id_encrypted to start this folder: no system keyring/,
    );
    assert.equal(existsSync(join(remote, 'b.txt')), false, 'nothing synced while waiting');
    await assert.rejects(second.resume(added.id), /is not running: Ferry needs the passphrase/);

    await assert.rejects(second.provideSecret(added.id, 'wrong passphrase'), /does not decrypt the key .*id_encrypted/);
    assert.equal(second.list()[0]?.needsSecret, 'passphrase', 'still waiting after a wrong passphrase');

    const started = await second.provideSecret(added.id, PASSPHRASE);
    assert.equal(started.needsSecret, undefined);
    assert.equal(started.secretSessionOnly, true);
    await eventually(
      () => existsSync(join(remote, 'b.txt')),
      30_000,
      () => JSON.stringify(second.list()[0]?.status),
    );
    await assert.rejects(second.provideSecret(added.id, PASSPHRASE), /is not waiting for a password or passphrase/);
  } finally {
    await second.stopAll();
  }
  assert.ok(!readFileSync(settingsFile, 'utf8').includes(PASSPHRASE));
});
