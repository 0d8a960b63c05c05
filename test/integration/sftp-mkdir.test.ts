/**
 * Directory creation over SFTP against the real sshd, whose sftp-server applies its umask
 * (022) to the mode a mkdir asks for: Ferry must still leave every directory it creates with
 * the local mode, or its index records a mode the server does not have, and the difference
 * passes for a server-side change for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { openTransports, type OpenTransports } from '../../main/engine/open-transport.ts';
import { resolveEndpoint } from '../../main/ssh/resolve-endpoint.ts';

const fx = sshdForFile();

async function open(remoteDir: string): Promise<OpenTransports> {
  const { sshd } = fx;
  mkdirSync(remoteDir, { recursive: true });
  const endpoint = resolveEndpoint(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${remoteDir}`, {
    identityFiles: [sshd.clientKeyPath],
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: null,
    agentSocket: null,
  });
  return await openTransports(endpoint, fx.scope.dir('mkdir-local'), 'sftp');
}

const modeOf = (p: string) => lstatSync(p).mode & 0o7777;

test('mkdir leaves a group-writable mode the umask would trim, with or without missing parents', async () => {
  const remote = join(fx.sshd.remoteRoot, 'mkdir-modes');
  const t = await open(remote);
  try {
    // 'gone/deeper' is missing: the second directory goes through the create-the-parents path.
    // The CI soak found that path skipped the mode fix: the server kept 0755 for a 0775
    // directory while Ferry recorded 0775 and reported in sync.
    const results = await t.main.mkdir([
      { path: 'plain', mode: 0o775 },
      { path: 'gone/deeper/dir', mode: 0o775 },
    ]);
    assert.deepEqual(results, [{ path: 'plain' }, { path: 'gone/deeper/dir' }]);
    assert.equal(modeOf(join(remote, 'plain')).toString(8), '775');
    assert.equal(modeOf(join(remote, 'gone/deeper/dir')).toString(8), '775');
  } finally {
    await t.close();
  }
});
