import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { runFerry, sshFlags, startFerry, targetOf, tempDir } from '../harness/trees.ts';

let sshd: TestSshd;
before(async () => {
  sshd = await startSshd();
});
after(async () => sshd?.dispose());

test('a second ferry on the same folder and state is refused; a stale lock is taken over', async () => {
  const local = tempDir('lock-local');
  const state = tempDir('lock-state');
  writeFileSync(join(local, 'a.txt'), 'a');
  const args = ['sync', '--json', ...sshFlags(sshd, state), local, targetOf(sshd, join(sshd.remoteRoot, 'lock'))];
  const first = startFerry(args);
  const idle = await first.waitFor((e) => e.event === 'state' && e.state === 'idle', 30_000, 'first idle');
  const second = await runFerry(['sync', '--once', '--json', ...args.slice(2)]);
  assert.equal(second.code, 4);
  assert.match(
    String(second.events.find((e) => e.event === 'error')?.message),
    /Another Ferry process \(pid \d+\) is already syncing/,
  );
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0);
  const lockFile = join(state, 'folders', String(idle.folder), 'lock');
  assert.equal(existsSync(lockFile), false, 'a clean stop releases the lock');
  writeFileSync(lockFile, '999999999\n'); // a pid that cannot be alive: a crashed owner
  const third = await runFerry(['sync', '--once', '--json', ...args.slice(2)]);
  assert.equal(third.code, 0, third.stdout);
  rmSync(local, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});
