/**
 * One target of a folder with two, through the control socket of a running `ferry sync`
 * against the real sshd: `ferry pause <folder> --target` holds only that target back,
 * `ferry why` answers per target, and `ferry resume --target` lets it catch up. The app
 * (its FolderManager) as the control host saves such a pause as the window would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

interface Why {
  verdict: string;
  text: string;
  targets?: { target: string; label: string; verdict: string; text: string }[];
}

/** Polls `check` (a sync or async condition) until it gives a value other than undefined or false. */
async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as Exclude<T, false | undefined>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not in ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function why(path: string, state: string): Promise<Why> {
  const r = await runFerry(['why', '--json', '--state-dir', state, path]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Why;
}

test('pause and resume one target of two; why answers for each', async () => {
  const state = fx.scope.dir('two-state');
  const local = fx.scope.dir('two-local');
  const [r1, r2] = ['two-web1', 'two-web2'].map((n) => join(fx.sshd.remoteRoot, n)) as [string, string];
  writeTree(local, { 'a.txt': 'alpha' });
  fx.scope.watch([...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, r1), targetOf(fx.sshd, r2)]);
  await until(
    () => readFileSync(join(r1, 'a.txt'), 'utf8') === 'alpha' && readFileSync(join(r2, 'a.txt'), 'utf8') === 'alpha',
    30_000,
    'first sync of both',
  );
  const status = await runFerry(['status', '--json', '--state-dir', state]);
  type Listed = { processes: { folders: { targets?: { remote: string }[] }[] }[] };
  const [folder] = (JSON.parse(status.stdout) as Listed).processes[0]?.folders ?? [];
  const [web1, web2] = (folder?.targets ?? []).map((t) => t.remote) as [string, string];
  assert.ok(web1?.endsWith('/two-web1') && web2?.endsWith('/two-web2'), `${web1} ${web2}`);
  await until(async () => (await why(join(local, 'a.txt'), state)).verdict === 'synced', 10_000, 'a.txt synced');

  const paused = await runFerry(['pause', local, '--target', web2, '--state-dir', state]);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, new RegExp(`^Paused ${escape(web2)} of 1 folder\\(s\\): `));
  writeFileSync(join(local, 'new.txt'), 'while web2 is paused');
  await until(() => existsSync(join(r1, 'new.txt')), 30_000, 'new.txt on web1');
  const held = await until(
    async () => {
      const w = await why(join(local, 'new.txt'), state);
      return w.targets?.[0]?.verdict === 'synced' ? w : undefined;
    },
    10_000,
    'new.txt synced to web1 by the index',
  );
  assert.equal(held.verdict, 'held');
  assert.deepEqual(
    held.targets?.map((t) => [t.target, t.verdict]),
    [
      [web1, 'synced'],
      [web2, 'held'],
    ],
  );
  assert.equal(held.text.split('\n')[0], `new.txt (in ${local}): ${web1}: synced; ${web2}: held (paused).`);
  assert.match(
    held.targets?.[1]?.text ?? '',
    / is new since the last sync, but is held back: this target is paused\. Run ferry resume --target .+ to send it\.$/,
  );
  assert.equal(existsSync(join(r2, 'new.txt')), false, 'the paused target got nothing');

  const unknown = await runFerry(['pause', local, '--target', 'nope', '--state-dir', state]);
  assert.equal(unknown.code, 2, unknown.stdout);
  assert.equal(unknown.stderr.trim(), `${local} has no target nope; its targets are ${web1}, ${web2}.`);

  const resumed = await runFerry(['resume', local, '--target', web2, '--state-dir', state]);
  assert.equal(resumed.code, 0, resumed.stderr);
  await until(() => existsSync(join(r2, 'new.txt')), 30_000, 'new.txt on web2 after the resume');
  await until(
    async () => (await why(join(local, 'new.txt'), state)).targets?.every((t) => t.verdict === 'synced') === true,
    10_000,
    'both synced',
  );
});

test('the app as control host: ferry pause --target pauses that server and saves it', async () => {
  const tmp = fx.scope.dir('app-host');
  const local = join(tmp, 'local');
  const state = join(tmp, 'state');
  const settingsFile = join(tmp, 'settings.json');
  const [r1, r2] = ['app-web1', 'app-web2'].map((n) => join(fx.sshd.remoteRoot, n)) as [string, string];
  writeTree(local, { 'a.txt': 'alpha' });
  const manager = await FolderManager.open({
    store: new JsonFileSettingsStore(settingsFile),
    secrets: new MemorySecretStore(),
    stateRoot: state,
    knownHostsPath: fx.sshd.knownHostsPath,
    sshConfigPath: join(tmp, 'no-config'),
  });
  const saved = () =>
    (JSON.parse(readFileSync(settingsFile, 'utf8')) as { folders: { pausedTargets?: string[] }[] }).folders[0];
  try {
    const login = { host: '127.0.0.1', port: fx.sshd.port, user: fx.sshd.user };
    const auth = { kind: 'key' as const, keyPath: fx.sshd.clientKeyPath };
    const first = await manager.add({ ...login, auth, remotePath: r1, localPath: local, mode: 'push', ignore: [] });
    const entry = await manager.addTarget(first.id, { ...login, auth, remotePath: r2 });
    await until(
      () => manager.list()[0]?.status.targets?.every((t) => t.state === 'idle' && t.inSync),
      30_000,
      'both in sync',
    );
    const [web1, web2] = (manager.list()[0]?.status.targets ?? []).map((t) => t.remote) as [string, string];

    const paused = await runFerry(['pause', local, '--target', web2, '--state-dir', state]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, new RegExp(`^Paused ${escape(web2)} of 1 folder\\(s\\): `));
    // What the window and the next launch see: the pause is saved, the folder itself runs.
    await until(() => saved()?.pausedTargets?.[0] === web2, 10_000, 'pausedTargets saved');
    assert.deepEqual(manager.list()[0]?.pausedTargets, [web2]);
    assert.equal(manager.list()[0]?.paused, false);
    assert.deepEqual(
      manager.list()[0]?.status.targets?.map((t) => [t.remote, t.state]),
      [
        [web1, 'idle'],
        [web2, 'paused'],
      ],
    );
    writeFileSync(join(local, 'new.txt'), 'while web2 is paused');
    await until(() => existsSync(join(r1, 'new.txt')), 30_000, 'new.txt on web1');
    assert.equal(existsSync(join(r2, 'new.txt')), false, 'the paused server got nothing');
    // ferry status: the folder syncs to web1, web2 is paused on its own (not "paused").
    const line = await until(
      async () =>
        (await runFerry(['status', '--state-dir', state])).stdout
          .split('\n')
          .find((l) => l.includes(`${local} -> `) && l.includes(': in sync on 1 of 2 targets')),
      10_000,
      'ferry status: in sync on one',
    );
    assert.match(line, new RegExp(`: in sync on 1 of 2 targets; paused: ${escape(web2)} \\(id `));

    const resumed = await runFerry(['resume', local, '--target', web2, '--state-dir', state]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await until(() => existsSync(join(r2, 'new.txt')), 30_000, 'new.txt on web2 after the resume');
    await until(() => saved() !== undefined && saved()?.pausedTargets === undefined, 10_000, 'pausedTargets cleared');
    assert.equal(manager.list()[0]?.pausedTargets, undefined);
    assert.equal(entry.moreTargets?.length, 1);
  } finally {
    await manager.stopAll();
  }
});
