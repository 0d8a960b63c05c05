/**
 * The control socket between two processes: a `ferry sync` watching against the real test
 * sshd, and `ferry status / pause / resume / monitor / why` run as separate processes. Also:
 * a socket or control directory owned by another user or writable by others is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import {
  eventually,
  runFerry,
  sshFlags,
  startFerry,
  targetOf,
  waitForSameTree,
  writeTree,
  type FerryProcess,
} from '../harness/trees.ts';

const harness = sshdForFile();
const scope = harness.scope;

const inSync = (e: Record<string, unknown>) => e.event === 'state' && e.state === 'idle' && e.inSync === true;
const statusOf = (e: Record<string, unknown>) => e.status as { state: string; localRoot: string; inSync: boolean };

function watchFolder(
  name: string,
  state: string,
  extra: string[] = [],
): { local: string; remote: string; ferry: FerryProcess } {
  const local = scope.dir(name);
  const remote = join(harness.sshd.remoteRoot, name);
  writeTree(local, { 'a.txt': 'alpha', 'sub/b.txt': 'beta' });
  const ferry = scope.watch([...sshFlags(harness.sshd, state), ...extra, local, targetOf(harness.sshd, remote)]);
  return { local, remote, ferry };
}

async function why(
  path: string,
  state: string,
): Promise<{ verdict: string; text: string; source: string; code: number | null }> {
  const r = await runFerry(['why', '--json', '--state-dir', state, path]);
  const answer = JSON.parse(r.stdout) as { verdict: string; text: string; source: string };
  return { ...answer, code: r.code };
}

test('status, monitor, pause, resume and why from a second process', async () => {
  const state = scope.dir('ctl-state');
  const { local, remote, ferry } = watchFolder('ctl-main', state, ['--ignore', 'build/']);
  writeFileSync(join(local, '.ferryignore'), '# scratch\n*.log\n');
  await ferry.waitFor(inSync, 30_000, 'first sync');
  await waitForSameTree(local, remote);
  // The socket is up once the folder has started.
  await eventually(() => existsSync(join(state, 'control')) && readdirSync(join(state, 'control')).length > 0);
  const status = await runFerry(['status', '--json', '--state-dir', state]);
  assert.equal(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as {
    running: boolean;
    processes: { pid: number; folders: { localRoot: string; state: string; inSync: boolean }[] }[];
  };
  assert.equal(parsed.running, true);
  assert.equal(parsed.processes.length, 1);
  assert.equal(parsed.processes[0]?.pid, ferry.child.pid);
  assert.deepEqual(
    parsed.processes[0]?.folders.map((f) => [f.localRoot, f.state, f.inSync]),
    [[local, 'idle', true]],
  );
  const human = await runFerry(['status', '--state-dir', state]);
  assert.match(human.stdout, new RegExp(`${local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -> .*: in sync`));
  assert.match(human.stdout, /last sync \d{4}-\d\d-\d\dT/);

  const monitor = startFerry(['monitor', '--json', '--state-dir', state]);
  try {
    await monitor.waitFor((e) => statusOf(e)?.state === 'idle', 10_000, 'the current status');

    // Synced: size, hash and the server mtime from the index.
    const synced = await why(join(local, 'a.txt'), state);
    assert.equal(synced.verdict, 'synced');
    assert.equal(synced.source, 'running');
    assert.match(synced.text, /is synced: the server holds it as a file of 5 bytes, SHA-256 [0-9a-f]{64}/);
    assert.ok(synced.text.includes(createHash('sha256').update('alpha').digest('hex')), synced.text);
    assert.match(synced.text, /modified \d{4}-\d\d-\d\dT.*recorded in the index at \d{4}-/);

    // Ignored: each origin names itself.
    writeFileSync(join(local, 'x.log'), 'log');
    mkdirSync(join(local, 'build'));
    writeFileSync(join(local, 'build', 'out.js'), 'js');
    writeFileSync(join(local, '.DS_Store'), 'mac');
    const ig = await why(join(local, 'x.log'), state);
    assert.equal(ig.verdict, 'ignored');
    assert.match(ig.text, /ignored by the rule "\*\.log" from \.ferryignore:2/);
    assert.match((await why(join(local, 'build', 'out.js'), state)).text, /rule "build\/" from --ignore/);
    assert.match((await why(join(local, '.DS_Store'), state)).text, /rule "\.DS_Store" from the default pack/);

    // Outside and absent.
    const outside = await why('/usr/share', state);
    assert.equal(outside.verdict, 'outside');
    assert.equal(outside.code, 1);
    assert.match(outside.text, /outside every folder Ferry knows/);
    assert.equal((await why(join(local, 'never-was.txt'), state)).verdict, 'absent');

    // Pause: the monitor sees it, and a new file is held.
    const paused = await runFerry(['pause', local, '--state-dir', state]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /Paused 1 folder\(s\)/);
    await monitor.waitFor((e) => statusOf(e)?.state === 'paused', 10_000, 'paused in the monitor');
    writeFileSync(join(local, 'new.txt'), 'while paused');
    const held = await why(join(local, 'new.txt'), state);
    assert.equal(held.verdict, 'held');
    assert.match(held.text, /is new since the last sync, but is held back: the folder is paused/);
    assert.equal(existsSync(join(remote, 'new.txt')), false);
    const human2 = await runFerry(['status', '--state-dir', state]);
    assert.match(human2.stdout, /: paused/);

    // Resume: the monitor sees it synced, and the file arrives.
    const resumed = await runFerry(['resume', '--state-dir', state]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await waitForSameTree(local, remote, { skip: (n) => ['x.log', 'build', '.DS_Store'].includes(n) });
    await eventually(() =>
      monitor.events.some(
        (e) =>
          statusOf(e)?.state === 'idle' &&
          statusOf(e)?.inSync &&
          monitor.events.findIndex((p) => statusOf(p)?.state === 'paused') < monitor.events.indexOf(e),
      ),
    );
    assert.equal((await why(join(local, 'new.txt'), state)).verdict, 'synced');

    // Failed: the server refuses writes in a directory.
    chmodSync(join(remote, 'sub'), 0o555);
    try {
      writeFileSync(join(local, 'sub', 'refused.txt'), 'no room');
      await eventually(() => ferry.events.some((e) => e.event === 'file' && e.ok === false), 20_000);
      const failed = await why(join(local, 'sub', 'refused.txt'), state);
      assert.equal(failed.verdict, 'failed');
      assert.match(
        failed.text,
        /failed to sync: .*[Pp]ermission denied.*Tried \d+ time\(s\); the next retry is at \d{4}-/,
      );
      const st = await runFerry(['status', '--state-dir', state]);
      assert.match(st.stdout, /failed: sub\/refused\.txt: .*\(\d+ attempt\(s\), next retry/);
    } finally {
      chmodSync(join(remote, 'sub'), 0o755);
    }

    // pause of something that is not a folder says so.
    const nothing = await runFerry(['pause', '/nowhere', '--state-dir', state]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /No running folder matches \/nowhere/);
  } finally {
    monitor.child.kill('SIGINT');
    assert.equal((await monitor.exited).code, 0, monitor.stderr());
  }

  await scope.stop(ferry);
  // Cold: nothing running; status and why read the state directory.
  const cold = await runFerry(['status', '--state-dir', state]);
  assert.equal(cold.code, 0);
  assert.match(cold.stdout, /No Ferry is running/);
  assert.match(
    cold.stdout,
    new RegExp(`${local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -> .*: \\d+ file\\(s\\) on the server as of \\d{4}-`),
  );
  const coldSynced = await why(join(local, 'a.txt'), state);
  assert.equal(coldSynced.verdict, 'synced');
  assert.equal(coldSynced.source, 'state-dir');
  writeFileSync(join(local, 'a.txt'), 'alpha, edited while Ferry is stopped');
  const waiting = await why(join(local, 'a.txt'), state);
  assert.equal(waiting.verdict, 'waiting');
  assert.match(waiting.text, /changed since the last sync\. Ferry will send it when it next runs/);
  assert.match((await runFerry(['pause', '--state-dir', state])).stderr, /No Ferry is running/);
});

test('a halted folder holds its changes back, and two processes share one state directory', async () => {
  const state = scope.dir('ctl-halt-state');
  const one = watchFolder('ctl-one', state);
  const two = watchFolder('ctl-two', state);
  await one.ferry.waitFor(inSync, 30_000, 'first sync of one');
  await two.ferry.waitFor(inSync, 30_000, 'first sync of two');
  await eventually(() => readdirSync(join(state, 'control')).length === 2);
  const status = JSON.parse((await runFerry(['status', '--json', '--state-dir', state])).stdout) as {
    processes: { pid: number; folders: { localRoot: string }[] }[];
  };
  assert.deepEqual(status.processes.map((p) => p.folders[0]?.localRoot).sort(), [one.local, two.local].sort());

  rmSync(join(two.local, 'a.txt'));
  rmSync(join(two.local, 'sub'), { recursive: true });
  await two.ferry.waitFor((e) => e.event === 'state' && e.state === 'halted', 30_000, 'the halt');
  const held = await why(join(two.local, 'a.txt'), state);
  assert.equal(held.verdict, 'held');
  assert.match(
    held.text,
    /was deleted here since the last sync.*held back: the folder is halted\. The local folder .* is empty/,
  );
  assert.equal(existsSync(join(two.remote, 'a.txt')), true, 'nothing deleted on the server');
  assert.equal((await why(join(one.local, 'a.txt'), state)).verdict, 'synced');
  await scope.stop(one.ferry);
  await scope.stop(two.ferry);
});

test('a control socket or directory that others own or can write to is refused, with the reason', async (t) => {
  const state = scope.dir('ctl-unsafe-state');
  const { ferry } = watchFolder('ctl-unsafe', state);
  await ferry.waitFor(inSync, 30_000, 'first sync');
  const dir = join(state, 'control');
  await eventually(() => existsSync(dir) && readdirSync(dir).length === 1);
  const socket = join(dir, readdirSync(dir)[0] as string);

  chmodSync(socket, 0o666);
  let r = await runFerry(['status', '--state-dir', state]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Refusing to use the control socket: .*\.sock is world-writable \(mode 0666\)/);
  chmodSync(socket, 0o600);

  chmodSync(dir, 0o777);
  r = await runFerry(['pause', '--state-dir', state]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /control is world-writable \(mode 0777\)/);
  // A Ferry starting there refuses to listen, says why, and syncs anyway.
  const other = watchFolder('ctl-unsafe-2', state);
  await other.ferry.waitFor(inSync, 30_000, 'the second folder syncs without a socket');
  assert.ok(
    other.ferry.events.some((e) => e.event === 'error' && /No control socket .*world-writable/.test(String(e.message))),
    JSON.stringify(other.ferry.events),
  );
  chmodSync(dir, 0o700);
  r = await runFerry(['status', '--state-dir', state]);
  assert.equal(r.code, 0, r.stderr);

  const notRoot = process.getuid?.() !== 0 ? 'needs root to chown the socket and its directory to nobody' : false;
  await t.test('owned by another user', { skip: notRoot }, async () => {
    chownSync(socket, 65534, 65534);
    try {
      const refused = await runFerry(['status', '--state-dir', state]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /is owned by uid 65534, not by you \(uid 0\)/);
    } finally {
      chownSync(socket, 0, 0);
    }
    chownSync(dir, 65534, 65534);
    try {
      const refused = await runFerry(['why', join(state, 'x'), '--state-dir', state]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /control is owned by uid 65534/);
    } finally {
      chownSync(dir, 0, 0);
    }
  });
  await scope.stop(ferry);
  await scope.stop(other.ferry);
});

test("the app's folder manager listens too: ferry status sees its folders, ferry pause pauses and saves it", async () => {
  const tmp = scope.dir('ctl-app');
  const local = join(tmp, 'local');
  writeTree(local, { 'doc.txt': 'app' });
  const state = join(tmp, 'state');
  const manager = await FolderManager.open({
    store: new JsonFileSettingsStore(join(tmp, 'settings.json')),
    secrets: new MemorySecretStore(),
    stateRoot: state,
    knownHostsPath: harness.sshd.knownHostsPath,
    sshConfigPath: join(tmp, 'no-config'),
  });
  try {
    const entry = await manager.add({
      host: '127.0.0.1',
      port: harness.sshd.port,
      user: harness.sshd.user,
      auth: { kind: 'key', keyPath: harness.sshd.clientKeyPath },
      remotePath: join(harness.sshd.remoteRoot, 'ctl-app'),
      localPath: local,
      mode: 'push',
      ignore: [],
    });
    const status = await runFerry(['status', '--json', '--state-dir', state]);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as { processes: { pid: number; folders: { id: string }[] }[] };
    assert.deepEqual(
      parsed.processes.map((p) => [p.pid, p.folders.map((f) => f.id)]),
      [[process.pid, [entry.id]]],
    );
    const paused = await runFerry(['pause', entry.id.slice(0, 6), '--state-dir', state]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(manager.list()[0]?.paused, true, 'the paused flag is saved, as the tray would');
    assert.equal(manager.list()[0]?.status.state, 'paused');
  } finally {
    await manager.stopAll();
  }
  assert.deepEqual(readdirSync(join(state, 'control')), [], 'the socket is removed on stop');
});
