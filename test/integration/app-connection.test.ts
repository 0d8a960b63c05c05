/**
 * The add form's server side against a real sshd: host key confirmation (nothing pinned
 * until the user confirms the exact key shown), the changed-key warning with both
 * fingerprints, the remote directory browser, and the folder manager's refusals.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionService } from '../../main/app-core/connection.ts';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import type { ConnectionRequest } from '../../main/ipc/contract.ts';
import { fingerprintSha256 } from '../../main/ssh/host-key.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';

let sshd: TestSshd;
let tmp: string;
let knownHosts: string;
let service: ConnectionService;
let req: ConnectionRequest;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hostFingerprint = () =>
  fingerprintSha256(Buffer.from(readFileSync(sshd.hostPublicKeyPath, 'utf8').split(/\s+/)[1] ?? '', 'base64'));

before(async () => {
  sshd = await startSshd();
  tmp = mkdtempSync(join(tmpdir(), 'ferry-app-conn-'));
  knownHosts = join(tmp, 'known_hosts');
  service = new ConnectionService({ knownHostsPath: knownHosts, sshConfigPath: null });
  mkdirSync(join(sshd.remoteRoot, 'b-dir'));
  mkdirSync(join(sshd.remoteRoot, 'a-dir'));
  writeFileSync(join(sshd.remoteRoot, 'file.txt'), 'x');
  req = {
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    auth: { kind: 'key', keyPath: sshd.clientKeyPath },
    remotePath: sshd.remoteRoot,
  };
});

after(async () => {
  await sshd?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a first connection asks to confirm the fingerprint and pins only the key shown', async () => {
  const first = await service.testConnection(req);
  assert.equal(first.outcome, 'unknown-host-key');
  assert.ok(first.outcome === 'unknown-host-key');
  assert.deepEqual(first.hostKey, {
    host: '127.0.0.1',
    port: sshd.port,
    keyType: 'ssh-ed25519',
    fingerprint: hostFingerprint(),
    knownHostsPath: knownHosts,
  });
  assert.equal(existsSync(knownHosts), false);

  await assert.rejects(
    service.trustHostKey({ host: '127.0.0.1', port: sshd.port, fingerprint: `SHA256:${'A'.repeat(43)}` }),
    /was not the one shown .* test the connection again/,
  );
  assert.equal(existsSync(knownHosts), false, 'a mismatching fingerprint pins nothing');

  await service.trustHostKey({ host: '127.0.0.1', port: sshd.port, fingerprint: hostFingerprint() });
  const second = await service.testConnection(req);
  assert.deepEqual(second, { outcome: 'ok', hostKey: first.hostKey, remotePathExists: true, sftp: true });
});

test('the remote browser lists directories only, sorted, and can create one', async () => {
  assert.deepEqual(await service.browseRemote(req), { path: sshd.remoteRoot, dirs: ['a-dir', 'b-dir'] });
  await service.makeRemoteDir({ ...req, remotePath: `${sshd.remoteRoot}/new-dir` });
  assert.ok(existsSync(join(sshd.remoteRoot, 'new-dir')));
  await assert.rejects(
    service.makeRemoteDir({ ...req, remotePath: `${sshd.remoteRoot}/no/such/parent` }),
    /Could not create .*no\/such\/parent on 127\.0\.0\.1.*parent exists/,
  );
});

test('a wrong key file fails with the authentication explanation', async () => {
  const r = await service.testConnection({ ...req, auth: { kind: 'key', keyPath: join(tmp, 'missing_key') } });
  assert.equal(r.outcome, 'failed');
  assert.match(r.outcome === 'failed' ? r.message : '', /missing_key was skipped: the file does not exist/);
});

test('the folder manager refuses a file, a missing path and a folder that already syncs', async () => {
  const local = join(tmp, 'local');
  mkdirSync(local);
  writeFileSync(join(tmp, 'plain.txt'), 'x');
  const manager = await FolderManager.open({
    store: new JsonFileSettingsStore(join(tmp, 'settings.json')),
    secrets: new MemorySecretStore(),
    stateRoot: join(tmp, 'state'),
    knownHostsPath: knownHosts,
    sshConfigPath: join(tmp, 'no-config'),
  });
  try {
    const add = { ...req, remotePath: `${sshd.remoteRoot}/target`, mode: 'push' as const, ignore: [] };
    await assert.rejects(
      manager.add({ ...add, localPath: join(tmp, 'plain.txt') }),
      /plain\.txt is a file\. Ferry syncs folders/,
    );
    await assert.rejects(manager.add({ ...add, localPath: join(tmp, 'nope') }), /nope does not exist/);
    const entry = await manager.add({ ...add, localPath: local });
    assert.equal(entry.localPath, local);
    assert.deepEqual(await manager.inspectLocalPath(local), { path: local, kind: 'dir', alreadySyncedBy: entry.id });
    await assert.rejects(
      manager.add({ ...add, localPath: local, remotePath: `${sshd.remoteRoot}/other` }),
      /already syncs to .*Remove that folder first/,
    );
    assert.throws(() => manager.localPathOf(entry.id, '../outside.txt'), /is not inside the folder/);
    await manager.remove(entry.id);
    assert.deepEqual(manager.list(), []);
    assert.deepEqual(
      (JSON.parse(readFileSync(join(tmp, 'settings.json'), 'utf8')) as { folders: unknown[] }).folders,
      [],
    );
  } finally {
    await manager.stopAll();
  }
});

test('a changed host key is a blocking result with both fingerprints, and cannot be trusted from the app', async () => {
  const before = hostFingerprint();
  await sshd.rotateHostKey();
  const r = await service.testConnection(req);
  assert.equal(r.outcome, 'changed-host-key');
  assert.ok(r.outcome === 'changed-host-key');
  assert.deepEqual(r.knownFingerprints, [before]);
  assert.equal(r.hostKey.fingerprint, hostFingerprint());
  assert.notEqual(before, hostFingerprint());
  // The "changed" warning naming both keys (not the unknown- or revoked-key sentence).
  const changed = new RegExp(
    `^WARNING: the host key for \\[127\\.0\\.0\\.1\\]:${sshd.port} has changed\\. ` +
      `The server presented \\S+ ${escapeRegExp(hostFingerprint())}, but .* has ${escapeRegExp(before)}\\. `,
  );
  assert.match(r.message, changed);
  await assert.rejects(service.trustHostKey({ host: '127.0.0.1', port: sshd.port, fingerprint: hostFingerprint() }), {
    message: changed,
  });
  assert.equal(readFileSync(knownHosts, 'utf8').trim().split('\n').length, 1, 'known_hosts is unchanged');
});
