/** While watching, a server whose host key changes is refused and the status says so by kind. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { sshFlags, startFerry, targetOf, tempDir } from '../harness/trees.ts';

let sshd: TestSshd;
before(async () => {
  sshd = await startSshd();
});
after(async () => sshd?.dispose());

test('a host key that changes while watching stops the folder with lastErrorKind host-key-changed', async () => {
  const local = tempDir('hkw-local');
  const state = tempDir('hkw-state');
  writeFileSync(join(local, 'a.txt'), 'a');
  const ferry = startFerry([
    'sync',
    '--json',
    ...sshFlags(sshd, state),
    local,
    targetOf(sshd, join(sshd.remoteRoot, 'hkw')),
  ]);
  try {
    await ferry.waitFor((e) => e.event === 'state' && e.inSync === true, 30_000, 'first sync');
    await sshd.rotateHostKey();
    const err = (await ferry.waitFor(
      (e) =>
        e.event === 'state' &&
        e.state === 'error' &&
        (e.status as { lastErrorKind?: string }).lastErrorKind === 'host-key-changed',
      30_000,
      'host-key-changed error',
    )) as { status: { lastError: string } };
    assert.ok(
      err.status.lastError.startsWith(
        `WARNING: the host key for [127.0.0.1]:${sshd.port} has changed. The server presented ssh-ed25519 SHA256:`,
      ),
      err.status.lastError,
    );
  } finally {
    ferry.child.kill('SIGTERM');
    await ferry.exited;
    rmSync(local, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
});
