/**
 * How a watching Ferry retries, found by the soak (test/soak, docs/RELIABILITY.md):
 *
 * - A failed item that, when its retry came, needed nothing any more (deleted locally
 *   meanwhile) stayed in the retry book, due on every turn of the loop: the folder cycled
 *   scanning/syncing for ever, listed the item as failing, and never became idle.
 * - While the server was down, every local edit woke the reconnect backoff early and counted
 *   as one more failed attempt, so a busy folder reached the 60 s cap within seconds and sat
 *   in "error" for up to a minute after the server came back.
 * - A rename the server refused was retried for its new path only: the retry created the
 *   new path, the old one stayed on the server, and Ferry reported in sync (third 30-minute
 *   soak; only the final --once removed it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { startTcpProxy } from '../harness/tcp-proxy.ts';
import {
  diffTrees,
  eventually,
  readTree,
  targetOf,
  waitForSameTree,
  writeTree,
  FerryScope,
  type FerryProcess,
} from '../harness/trees.ts';

type Json = Record<string, unknown>;
const scope = new FerryScope();
const dir = (name: string) => scope.dir(name);
const watch = (args: string[], env?: NodeJS.ProcessEnv) => scope.watch(args, env);
const stop = (p: FerryProcess) => scope.stop(p);
let server: FaultSftpServer;
let sshd: TestSshd;

before(async () => {
  const root = dir('retry-srv');
  server = await startFaultSftpServer({ root });
  sshd = await startSshd();
});

after(async () => {
  await scope.dispose();
  await server?.close();
  await sshd?.dispose();
});

/**
 * A folder synced to the fault server over SFTP: its local and remote directories, and
 * `watch()` to start a watch-mode Ferry on it (call it once the tree and faults are set).
 */
function faultServerFolder(name: string, remoteName: string) {
  const local = dir(`${name}-local`);
  const state = dir(`${name}-state`);
  const remote = join(server.root, remoteName);
  writeFileSync(join(state, 'known_hosts'), `${server.knownHostsLine}\n`);
  const args = [
    '--password-env',
    'FERRY_TEST_PW',
    '--known-hosts',
    join(state, 'known_hosts'),
    '--state-dir',
    state,
    '--ssh-config',
    '/dev/null',
    '--transport',
    'sftp',
  ];
  return {
    local,
    remote,
    watch: () =>
      watch([...args, local, `ssh://${server.user}@127.0.0.1:${server.port}${remote}`], {
        FERRY_TEST_PW: server.password,
        HOME: state,
      }),
  };
}

const failing = (e: Json): string[] =>
  e.event === 'state' ? ((e.status as { failedItems?: { path: string }[] }).failedItems ?? []).map((f) => f.path) : [];
const idleInSync = (e: Json) => e.event === 'state' && e.state === 'idle' && e.inSync === true;

test('a failed item deleted before its retry leaves the failed list, and the folder becomes idle and in sync', async () => {
  const { local, remote, watch: start } = faultServerFolder('retry', 'gone-before-retry');
  writeTree(local, { 'ok.txt': 'fine', 'refusing/bad.txt': 'the server refuses to write this' });
  server.faults = { failWritesMatching: /\/refusing\// };
  const ferry = start();
  await ferry.waitFor((e) => failing(e).includes('refusing/bad.txt'), 30_000, 'the refused upload listed as failing');

  // The server still refuses; the file goes away locally: there is nothing left to retry.
  const seen = ferry.events.length;
  rmSync(join(local, 'refusing', 'bad.txt'));
  const synced = await ferry.waitFor(
    (e) => idleInSync(e) && ferry.events.indexOf(e) >= seen,
    30_000,
    'idle and in sync once the failed file is gone',
  );
  assert.deepEqual(failing(synced), []);
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  server.faults = {};
  await stop(ferry);
});

test('local edits while the server is down do not speed up reconnect attempts; once back, the folder converges', async (t) => {
  // Two targets fed by one watcher: `up` straight to the sshd, `down` through a proxy that
  // will refuse every connection. Each local edit reaching `up` (its upload event) is the
  // positive signal that the watcher batch also reached `down` (the folder hands every batch
  // to all its targets at once), while `down` sat in its reconnect backoff.
  const proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: sshd.port });
  t.after(() => proxy.close());
  const local = dir('down-local');
  const state = dir('down-state');
  const upRemote = join(sshd.remoteRoot, 'edits-while-down-control');
  const remote = join(sshd.remoteRoot, 'edits-while-down');
  const knownHosts = join(state, 'known_hosts');
  const [type, key] = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${type} ${key}\n[127.0.0.1]:${proxy.port} ${type} ${key}\n`);
  writeTree(local, { 'a.txt': 'a' });
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
    targetOf(sshd, upRemote),
    `ssh://${sshd.user}@127.0.0.1:${proxy.port}${remote}`,
  ]);
  try {
    await waitForSameTree(local, upRemote);
    await waitForSameTree(local, remote);
    const isDown = (e: Json) => String(e.target).includes(`:${proxy.port}/`);
    const isUp = (e: Json) => String(e.target).includes(`:${sshd.port}/`);

    proxy.pause();
    proxy.cutAll();
    // The refusals reach the proxy: `down` tries, fails, and backs off, with a cap that grows
    // (1 s, 1 s, 2 s, 4 s, ... full jitter).
    await eventually(
      () => proxy.refused >= 4,
      30_000,
      () => `${proxy.refused} connections refused`,
    );
    await ferry.waitFor((e) => isDown(e) && e.event === 'state' && e.state === 'error', 10_000, 'down in error');

    // One edit at a time. If an edit woke the backoff, `down` would try again right away:
    // its 'starting' comes within microtasks of the batch, before `up` has scanned and
    // uploaded the file. Without that, `down` tries only when its backoff runs out, which
    // lands in one of these short windows by chance only. (Checked by letting markDirty wake
    // the backoff on purpose: a reconnect attempt right after 12 edits of 12.)
    const edits = 12;
    const woken: number[] = [];
    const refusedBefore = proxy.refused;
    for (let i = 0; i < edits; i++) {
      const from = ferry.events.length;
      writeFileSync(join(local, `edit-${i}.txt`), `edit ${i}`);
      await ferry.waitFor(
        (e) => isUp(e) && e.event === 'file' && e.path === `edit-${i}.txt` && e.ok === true,
        30_000,
        `edit-${i}.txt uploaded to the control target`,
      );
      const upAt = ferry.events.findIndex(
        (e, j) => j >= from && isUp(e) && e.event === 'file' && e.path === `edit-${i}.txt`,
      );
      if (ferry.events.slice(from, upAt).some((e) => isDown(e) && e.event === 'state' && e.state === 'starting'))
        woken.push(i);
    }
    const attempts = proxy.refused - refusedBefore;
    t.diagnostic(`${attempts} reconnect attempts during ${edits} edits; right after an edit: ${woken.length}`);
    assert.ok(
      woken.length <= edits / 3,
      `a reconnect attempt right after edits ${woken.join(', ')} of ${edits} (${attempts} attempts in all)`,
    );
  } finally {
    proxy.resume();
  }
  // Once back, `down` converges at its next attempt.
  await waitForSameTree(local, remote, { timeoutMs: 90_000 });
  assert.equal(readFileSync(join(remote, 'edit-11.txt'), 'utf8'), 'edit 11');
  await stop(ferry);
});

test('a directory the server refused to create, then created by someone else, gets the local mode (not taken for a server change)', async () => {
  const { local, remote, watch: start } = faultServerFolder('mkdir-refused', 'mkdir-refused');
  writeTree(local, { 'private/f.txt': 'f' });
  chmodSync(join(local, 'private'), 0o700);
  // The server refuses the mkdir (as on a read-only directory), so the upload below it fails too.
  server.faults = { failMkdirMatching: /\/private$/ };
  const ferry = start();
  await ferry.waitFor((e) => failing(e).includes('private'), 30_000, 'the refused mkdir listed as failing');

  // Then the directory appears on the server with the default mode (as rsync's implied
  // directories do), and the server accepts writes again.
  mkdirSync(join(remote, 'private'), { mode: 0o755 });
  server.faults = {};
  const seen = ferry.events.length;
  writeFileSync(join(local, 'private', 'g.txt'), 'g');
  await ferry.waitFor(
    (e) => idleInSync(e) && ferry.events.indexOf(e) >= seen,
    60_000,
    'idle and in sync after the edit',
  );
  assert.equal(statSync(join(remote, 'private')).mode & 0o777, 0o700, 'the server directory has the local mode');
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  await stop(ferry);
});

test('a rename the server refused is retried for both paths: the old one does not stay on the server', async () => {
  const { local, remote, watch: start } = faultServerFolder('rename-refused', 'rename-refused');
  writeTree(local, {
    'a/old/f.txt': 'content that makes the directory recognisable as moved',
    'a/x.txt': 'x',
    'b/y.txt': 'y',
  });
  const ferry = start();
  await ferry.waitFor(idleInSync, 30_000, 'the first idle/in-sync state');

  server.faults = { failRenameMatching: /\/old$/ };
  renameSync(join(local, 'a', 'old'), join(local, 'b', 'new'));
  await ferry.waitFor(
    (e) => e.event === 'file' && e.op === 'rename' && e.ok === false && e.path === 'b/new',
    30_000,
    'the refused rename',
  );
  server.faults = {};
  const seen = ferry.events.length;
  await ferry.waitFor(
    (e) => idleInSync(e) && ferry.events.indexOf(e) >= seen,
    60_000,
    'idle and in sync after the retry',
  );
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  await stop(ferry);
});
