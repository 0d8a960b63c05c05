/**
 * Directory creation over SFTP against the real sshd, whose sftp-server applies its umask
 * (022) to the mode a mkdir asks for.
 *
 * Two things must hold:
 * - Every directory Ferry creates gets the local mode. Otherwise the index records a mode the
 *   server does not have, and the difference passes for a server-side change for good.
 * - Below the remote root, nothing is created that the engine did not ask for. A directory
 *   created behind the engine's back is unknown to its index, and once deleted locally it
 *   stayed on the server (both found by short soaks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { openTransports, type OpenTransports } from '../../main/transport/open-transport.ts';
import { resolveEndpoint } from '../../main/ssh/resolve-endpoint.ts';

const fx = sshdForFile();

async function open(remoteDir: string): Promise<OpenTransports> {
  const { sshd } = fx;
  const endpoint = resolveEndpoint(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${remoteDir}`, {
    identityFiles: [sshd.clientKeyPath],
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: null,
    agentSocket: null,
  });
  return await openTransports(endpoint, fx.scope.dir('mkdir-local'), 'sftp');
}

const modeOf = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

test('mkdir leaves a group-writable mode that the umask would trim, on the remote root and below it', async () => {
  // The root and two of its parents are missing: they are created, and the root gets its mode.
  const remote = join(fx.sshd.remoteRoot, 'mkdir-modes', 'not', 'there');
  const t = await open(remote);
  try {
    assert.deepEqual(await t.main.mkdir([{ path: '', mode: 0o775 }]), [{ path: '' }]);
    assert.equal(modeOf(remote), '775');
    assert.deepEqual(
      await t.main.mkdir([
        { path: 'plain', mode: 0o775 },
        { path: 'plain/deeper', mode: 0o770 },
      ]),
      [{ path: 'plain' }, { path: 'plain/deeper' }],
    );
    assert.equal(modeOf(join(remote, 'plain')), '775');
    assert.equal(modeOf(join(remote, 'plain/deeper')), '770');
  } finally {
    await t.close();
  }
});

test('mkdir below a missing directory fails and creates nothing: the engine creates each directory itself', async () => {
  const remote = join(fx.sshd.remoteRoot, 'mkdir-parents');
  mkdirSync(remote, { recursive: true });
  const t = await open(remote);
  try {
    const [result] = await t.main.mkdir([{ path: 'gone/deeper/dir', mode: 0o775 }]);
    assert.equal(result?.path, 'gone/deeper/dir');
    assert.match(result?.error ?? '', /gone\/deeper\/dir/);
    assert.equal(existsSync(join(remote, 'gone')), false, 'no parent was created behind the engine');
  } finally {
    await t.close();
  }
});
