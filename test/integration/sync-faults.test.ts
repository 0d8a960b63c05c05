/**
 * `ferry sync` when the network or the server misbehaves: connections cut mid-transfer
 * (through a TCP proxy in front of a real sshd), the sshd going away and coming back while
 * Ferry watches, and SFTP servers that fail writes, run out of space or lack
 * posix-rename (the in-process fault server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts';
import {
  diffTrees,
  eventually,
  FerryScope,
  ferryTempFiles,
  readTree,
  runFerry,
  startFerry,
  targetOf,
  tempDir,
  waitForSameTree,
  writeTree,
  type FerryProcess,
} from '../harness/trees.ts';

const MiB = 1024 * 1024;
const idleInSync = (e: Record<string, unknown>) => e.event === 'state' && e.state === 'idle' && e.inSync === true;

let sshd: TestSshd;
const scope = new FerryScope();
const dir = (name: string) => scope.dir(name);
const watch = (args: string[], env?: NodeJS.ProcessEnv) => scope.watch(args, env);
const stop = (p: FerryProcess) => scope.stop(p);
const closers: (() => Promise<void>)[] = [];

before(async () => {
  sshd = await startSshd();
});

after(async () => {
  await scope.dispose();
  for (const close of closers) await close();
  await sshd?.dispose();
});

/** A state event that tells the user something went wrong with the connection. */
function reportsTrouble(e: Record<string, unknown>): boolean {
  const status = e.status as { lastError?: unknown } | undefined;
  return e.event === 'state' && (e.state === 'error' || typeof status?.lastError === 'string');
}

describe('ferry sync against a real sshd, with the network breaking', () => {
  test('connections cut mid-transfer: ferry reconnects, converges and leaves no temp files', async () => {
    const proxy: TcpProxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: sshd.port });
    closers.push(() => proxy.close());
    const local = dir('cut-local');
    const state = dir('cut-state');
    const remote = join(sshd.remoteRoot, 'cut');
    const knownHosts = join(state, 'known_hosts');
    const [type, key] = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
    writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${type} ${key}\n`);
    writeTree(local, { 'small.txt': 'already there before the big files' });

    const target = `ssh://${sshd.user}@127.0.0.1:${proxy.port}${remote}`;
    const ferry = watch([
      '-i',
      sshd.clientKeyPath,
      '--known-hosts',
      knownHosts,
      '--state-dir',
      state,
      '--ssh-config',
      '/dev/null',
      '--transport',
      'sftp',
      local,
      target,
    ]);
    await ferry.waitFor(idleInSync, 30_000, 'the first idle/in-sync state');
    assert.ok(proxy.connections >= 1, 'ferry talks through the proxy');

    // Every live connection is cut once 3 MiB more have gone up: mid-way through 32 MiB.
    proxy.cutAfterBytes(3 * MiB);
    const upBefore = proxy.bytesUp;
    const cutsBefore = proxy.cuts;
    const seenBefore = ferry.events.length;
    for (let i = 0; i < 4; i++) writeFileSync(join(local, `big${i}.bin`), randomBytes(8 * MiB));

    await eventually(
      () => proxy.cuts > cutsBefore,
      20_000,
      () => `no cut; ${proxy.bytesUp - upBefore} bytes went up`,
    );
    await waitForSameTree(local, remote, { timeoutMs: 45_000 });
    const after = ferry.events.slice(seenBefore);
    assert.ok(
      after.some(reportsTrouble),
      `the lost connection is reported: ${JSON.stringify(after.filter((e) => e.event !== 'file').slice(0, 8))}`,
    );
    assert.ok(proxy.bytesUp - upBefore > 32 * MiB, 'the cut transfers were sent again');
    await ferry.waitFor(
      (e) => idleInSync(e) && ferry.events.indexOf(e) >= seenBefore,
      20_000,
      'idle/in-sync after the reconnect',
    );
    assert.deepEqual(ferryTempFiles(remote), []);
    await stop(ferry);
  });

  test('the sshd going away is reported as an error; after it is back, changes made meanwhile converge', async () => {
    const local = dir('down-local');
    const state = dir('down-state');
    const remote = join(sshd.remoteRoot, 'down');
    writeTree(local, { 'a.txt': 'a', 'd/b.txt': 'b' });
    const ferry = watch([
      '-i',
      sshd.clientKeyPath,
      '--known-hosts',
      sshd.knownHostsPath,
      '--state-dir',
      state,
      '--ssh-config',
      '/dev/null',
      '--transport',
      'sftp',
      local,
      targetOf(sshd, remote),
    ]);
    await ferry.waitFor(idleInSync, 30_000, 'the first idle/in-sync state');

    const seenBefore = ferry.events.length;
    await sshd.stop();
    try {
      const err = await ferry.waitFor(
        (e) => e.event === 'state' && e.state === 'error' && ferry.events.indexOf(e) >= seenBefore,
        20_000,
        'an error state',
      );
      // Either sentence Ferry says here, in full: the live session was cut, or the reconnect
      // was refused (whichever state came first).
      const port = String(sshd.port);
      const lost = `Lost the connection to ${targetOf(sshd, remote)}: `;
      const refused = `Could not connect to 127.0.0.1:${port}: connection refused. Is sshd running there and is the port right?`;
      const lastError = String((err.status as { lastError?: string }).lastError);
      assert.ok(
        lastError === refused || (lastError.startsWith(lost) && lastError.endsWith('. Reconnecting.')),
        lastError,
      );
      writeFileSync(join(local, 'a.txt'), 'changed while the server was down');
      writeFileSync(join(local, 'd', 'c.txt'), 'created while the server was down');
      rmSync(join(local, 'd', 'b.txt'));
      // Give the watcher time to see the changes while nothing can be sent.
      await eventually(
        () => ferry.events.filter((e) => e.event === 'state' && e.state === 'error').length >= 2,
        20_000,
        () => 'a second failed reconnect',
      );
    } finally {
      await sshd.start();
    }
    await waitForSameTree(local, remote, { timeoutMs: 45_000 });
    assert.deepEqual(ferryTempFiles(remote), []);
    await stop(ferry);
  });
});

describe('ferry sync --once against a faulty SFTP server', () => {
  async function faultServer(name: string) {
    const root = dir(`${name}-srv`);
    const server: FaultSftpServer = await startFaultSftpServer({ root });
    closers.push(() => server.close());
    const local = dir(`${name}-local`);
    const state = dir(`${name}-state`);
    const remote = join(root, 'target');
    const knownHosts = join(state, 'known_hosts');
    writeFileSync(knownHosts, `${server.knownHostsLine}\n`);
    const once = () =>
      runFerry(
        [
          'sync',
          '--once',
          '--json',
          '--password-env',
          'FERRY_TEST_PW',
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
        ],
        { env: { FERRY_TEST_PW: server.password, HOME: state } },
      );
    return { server, local, remote, once };
  }

  test('a file whose writes fail is reported (exit 1) while every other file arrives', async () => {
    const f = await faultServer('failwrite');
    writeTree(f.local, {
      'ok1.txt': 'one',
      'd/ok2.txt': 'two',
      'refusing/bad.bin': 'refused by the server',
      'big.bin': randomBytes(600 * 1024),
    });
    // Ferry writes to a temp name next to the target, so the fault matches the directory.
    f.server.faults = { failWritesMatching: /\/refusing\// };
    const r = await f.once();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failed = r.events.filter((e) => e.event === 'file' && e.ok === false).map((e) => e.path);
    assert.deepEqual(failed, ['refusing/bad.bin']);
    const summary = r.events.find((e) => e.event === 'error') as { message: string } | undefined;
    assert.match(summary?.message ?? '', /refusing\/bad\.bin/);
    const skipBad = (n: string) => n === 'bad.bin';
    assert.deepEqual(diffTrees(readTree(f.local, { skip: skipBad }), readTree(f.remote)), []);
    assert.deepEqual(ferryTempFiles(f.remote), []);

    f.server.faults = {};
    const again = await f.once();
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
  });

  test('a full disk fails the upload with a message about space, and a later run completes', async () => {
    const f = await faultServer('diskfull');
    writeTree(f.local, { 'a.bin': randomBytes(300 * 1024), 'b.bin': randomBytes(300 * 1024), 'c.txt': 'small' });
    f.server.faults = { diskFullAfterBytes: 200 * 1024 };
    const r = await f.once();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failed = r.events.filter((e) => e.event === 'file' && e.ok === false) as {
      path: string;
      error: string;
      errorCode: string;
    }[];
    assert.ok(failed.length >= 1, r.stdout);
    for (const e of failed) {
      // The server's own words, with the path, classified as a full disk (not "other").
      assert.equal(e.error, `write ${f.remote}/${e.path} failed on the server: No space left on device`);
      assert.equal(e.errorCode, 'no-space', e.path);
    }
    assert.deepEqual(ferryTempFiles(f.remote), [], 'partial uploads are cleaned up');
    for (const e of failed)
      assert.equal(readTree(f.remote).has(e.path), false, `no partial ${e.path} under its final name`);

    f.server.faults = {};
    const again = await f.once();
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    assert.deepEqual(ferryTempFiles(f.remote), []);
  });

  test('without posix-rename, uploads and overwrites still land through the fallback', async () => {
    const f = await faultServer('norename');
    f.server.faults = { noPosixRename: true };
    writeTree(f.local, { 'x.txt': 'first', 'd/y.bin': randomBytes(400 * 1024) });
    const first = await f.once();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);

    writeFileSync(join(f.local, 'x.txt'), 'second version, overwriting the first');
    writeFileSync(join(f.local, 'd', 'y.bin'), randomBytes(410 * 1024));
    mkdirSync(join(f.local, 'e'));
    writeFileSync(join(f.local, 'e', 'z.txt'), 'new');
    const second = await f.once();
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    assert.equal(readFileSync(join(f.remote, 'x.txt'), 'utf8'), 'second version, overwriting the first');
    assert.deepEqual(ferryTempFiles(f.remote), []);
    assert.equal(f.server.stats['posix-rename@openssh.com'] ?? 0, 0, 'posix-rename was never used');
    assert.ok((f.server.stats.RENAME ?? 0) >= 5, `plain renames did the work: ${JSON.stringify(f.server.stats)}`);
  });

  test('a server that closes the channel mid-write: the run fails with the lost session, the next one cleans up and completes', async () => {
    const f = await faultServer('midwrite');
    writeTree(f.local, { 'a.txt': 'a', 'doomed/big.bin': randomBytes(700 * 1024), 'z.txt': 'z' });
    f.server.faults = { closeChannelOnWriteMatching: /\/doomed\// };
    const r = await f.once();
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /Lost the SFTP session: the SFTP channel was closed/);
    assert.equal(readTree(f.remote).has('doomed/big.bin'), false, 'no partial file under its final name');

    f.server.faults = {};
    const again = await f.once();
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    assert.deepEqual(ferryTempFiles(f.remote), [], 'the temp file of the cut write was removed');
  });
});
