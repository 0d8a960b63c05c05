/**
 * `--bwlimit` reaches what enforces it: rsync's own `--bwlimit` on its command line (seen by
 * a logging wrapper in front of the real rsync) and the SFTP transport's token bucket,
 * which the upload path awaits for every byte it writes. The bucket's timing is the unit
 * test's job (injected clock); no wall-clock timings here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SshEndpoint } from '../../main/ssh/endpoint.ts';
import { openTransports } from '../../main/transport/open-transport.ts';
import { TokenBucket, type RateLimiter } from '../../main/transport/rate-limit.ts';
import { SftpTransport } from '../../main/transport/sftp-transport.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';
import type { TestSshd } from '../harness/sshd.ts';

const harness = sshdForFile();
const scope = harness.scope;

function endpointFor(s: TestSshd, remoteRoot: string): SshEndpoint {
  return {
    host: s.host,
    port: s.port,
    user: s.user,
    displayName: 'test-server',
    remoteRoot,
    identityFiles: [s.clientKeyPath],
    agentSocket: null,
    knownHostsPath: s.knownHostsPath,
    hostKeyPolicy: 'strict',
  };
}

/** A directory with an `rsync` that logs its arguments (one run per line) and runs the real one. */
function rsyncLogger(): { binDir: string; log: string } {
  const binDir = scope.dir('rsync-wrapper');
  const log = join(binDir, 'argv.log');
  const real = ['/usr/bin/rsync', '/bin/rsync', '/usr/local/bin/rsync'].find((p) => {
    try {
      readFileSync(p);
      return true;
    } catch {
      return false;
    }
  });
  assert.ok(real, 'rsync is installed');
  writeFileSync(join(binDir, 'rsync'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(join(binDir, 'rsync'), 0o755);
  writeFileSync(log, '');
  return { binDir, log };
}

test('ferry sync --bwlimit 500K gives rsync --bwlimit=500 on every push run', async () => {
  const local = scope.dir('bw-local');
  const remote = join(harness.sshd.remoteRoot, 'bw-rsync');
  writeTree(local, { 'a.txt': 'a', 'sub/b.bin': Buffer.alloc(100_000, 7) });
  const { binDir, log } = rsyncLogger();
  const r = await runFerry(
    [
      'sync',
      '--once',
      '--transport',
      'rsync',
      '--bwlimit',
      '500K',
      ...sshFlags(harness.sshd, scope.dir('bw-state')),
      local,
      targetOf(harness.sshd, remote),
    ],
    { env: { PATH: `${binDir}:${process.env.PATH ?? ''}` } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  const runs = readFileSync(log, 'utf8').trim().split('\n');
  const pushes = runs.filter((l) => !l.includes('--dry-run'));
  assert.ok(pushes.length > 0, `rsync pushed something: ${runs.join('\n')}`);
  for (const run of pushes) assert.match(run, /(^| )--bwlimit=500( |$)/, run);
});

test('a daemon folder\'s "bwlimit": "5M" gives rsync --bwlimit=5120; a bad rate names the key', async () => {
  const local = scope.dir('bw-daemon');
  const remote = join(harness.sshd.remoteRoot, 'bw-daemon');
  writeTree(local, { 'c.txt': 'c' });
  const { binDir, log } = rsyncLogger();
  const state = scope.dir('bw-daemon-state');
  const folder = {
    local,
    target: targetOf(harness.sshd, remote),
    transport: 'rsync',
    identity: harness.sshd.clientKeyPath,
    knownHosts: harness.sshd.knownHostsPath,
  };
  const config = join(state, 'ferry.json');
  writeFileSync(
    config,
    JSON.stringify({ stateDir: state, sshConfig: '/dev/null', folders: [{ ...folder, bwlimit: '5M' }] }),
  );
  const r = await runFerry(['daemon', '--once', '--config', config], {
    env: { PATH: `${binDir}:${process.env.PATH ?? ''}` },
  });
  assert.equal(r.code, 0, r.stderr);
  const pushes = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.includes('--dry-run'));
  assert.ok(pushes.length > 0);
  for (const run of pushes) assert.match(run, /--bwlimit=5120( |$)/, run);

  writeFileSync(config, JSON.stringify({ stateDir: state, folders: [{ ...folder, bwlimit: 'lots' }] }));
  const bad = await runFerry(['daemon', '--once', '--config', config]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /folders\[0\]\.bwlimit: "lots" is not a rate/);
});

test('ferry sync --bwlimit refuses a rate it cannot read', async () => {
  const r = await runFerry(['sync', '--once', '--bwlimit', 'quick', '/tmp', 'h:/x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--bwlimit.*"quick" is not a rate/);
});

test('SFTP: openTransports gives the transport a token bucket at the rate, and uploads take every byte from it', async () => {
  const local = scope.dir('bw-sftp');
  const remote = join(harness.sshd.remoteRoot, 'bw-sftp');
  writeTree(remote, { '.keep': '' });
  harness.sshd.own(remote);
  const t = await openTransports(endpointFor(harness.sshd, remote), local, 'sftp', { bwlimitBps: 512 * 1024 });
  try {
    assert.ok(t.main instanceof SftpTransport);
    const limiter = t.main.limiter;
    assert.ok(limiter instanceof TokenBucket);
    assert.equal(limiter.rate, 512 * 1024);
  } finally {
    await t.close();
  }
  const unlimited = await openTransports(endpointFor(harness.sshd, remote), local, 'sftp');
  try {
    assert.equal((unlimited.main as SftpTransport).limiter, undefined);
  } finally {
    await unlimited.close();
  }

  // The hook itself: a counting limiter in front of a real upload (a large file in 64 KiB
  // WRITEs and a small one) sees exactly the bytes that arrive.
  const counted: number[] = [];
  const counting: RateLimiter = { take: async (n) => void counted.push(n) };
  const plain = await openTransports(endpointFor(harness.sshd, remote), local, 'sftp');
  try {
    const main = plain.main as SftpTransport;
    const limited = new SftpTransport(main.session, main.root, async () => undefined, { limiter: counting });
    const big = Buffer.alloc(1024 * 1024 + 123, 1);
    writeTree(local, { 'big.bin': big, 'small.txt': 'hello' });
    // As scanned: a file that is not what its item expects is not landed (UploadItem.landIfChanged).
    const items = ['big.bin', 'small.txt'].map((p) => {
      const st = statSync(join(local, p));
      const expected = {
        kind: 'file' as const,
        size: st.size,
        mtimeMs: Math.floor(st.mtimeMs),
        mode: st.mode & 0o7777,
      };
      return { path: p, localPath: join(local, p), expected };
    });
    const results = await limited.upload(items);
    assert.deepEqual(
      results.map((x) => x.error),
      [undefined, undefined],
    );
    assert.equal(
      counted.reduce((a, b) => a + b, 0),
      big.length + 5,
    );
    assert.ok(counted.length >= 17, `one take per WRITE: ${counted.length}`);
    assert.equal(readFileSync(join(remote, 'big.bin')).length, big.length);
  } finally {
    await plain.close();
  }
});
