/**
 * Errors that retrying cannot clear end `ferry sync` with exit 4 and one message, instead of
 * a line per retry or per file: a remote folder that cannot be created, an unknown host key
 * under the strict policy. Against the real sshd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { runFerry, sshFlags, startFerry, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

test('a remote folder that cannot be created is one error naming it, and --once exits 4', async () => {
  const local = fx.scope.dir('perm-root-local');
  const state = fx.scope.dir('perm-root-state');
  const tree: Record<string, string> = {};
  for (let d = 0; d < 20; d++) for (let f = 0; f < 10; f++) tree[`d${d}/f${f}.txt`] = `${d}/${f}`;
  writeTree(local, tree);
  const target = '/proc/ferry-cannot-create/site';
  const r = await runFerry(['sync', '--once', ...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, target)]);
  assert.equal(r.code, 4, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0] ?? '',
    /^Error: The remote folder \/proc\/ferry-cannot-create\/site on .+ does not exist and could not be created: .+\. Check the target path, and that \S+ may create it there\.$/,
  );
});

test('an unknown host key under the strict policy ends ferry sync with exit 4 and says so once', async () => {
  const local = fx.scope.dir('perm-hostkey-local');
  const state = fx.scope.dir('perm-hostkey-state');
  writeFileSync(join(local, 'a.txt'), 'a');
  const emptyKnownHosts = join(state, 'known_hosts');
  writeFileSync(emptyKnownHosts, '');
  const flags = sshFlags(fx.sshd, state);
  flags[flags.indexOf('--known-hosts') + 1] = emptyKnownHosts;
  const ferry = startFerry(['sync', ...flags, local, targetOf(fx.sshd, join(fx.sshd.remoteRoot, 'perm-hk'))]);
  const { code } = await ferry.exited;
  assert.equal(code, 4, ferry.stderr());
  const errors = ferry
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('Error: '));
  assert.equal(errors.length, 1, ferry.stderr());
  assert.ok(
    (errors[0] ?? '').startsWith(
      `Error: The host key for [127.0.0.1]:${fx.sshd.port} is not in ${emptyKnownHosts}. The server presented `,
    ),
    errors[0],
  );
});
