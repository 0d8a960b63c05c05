/**
 * Several targets per folder against in-memory servers (memory-transport.ts): one local
 * scan per pass feeds every target, an unreachable target never holds the others back,
 * and a canary rollout holds the followers until the canary's command after sync exits 0.
 * The same rules run against real sshd servers in test/integration/targets.test.ts.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderSync, type FolderConfig } from '../../main/engine/folder-loop.ts';
import type { FolderStatus } from '../../main/engine/status.ts';
import type { TransportOpener } from '../../main/transport/open-transport.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { inSync, memoryFolder } from '../harness/memory-folder.ts';

/** A folder synced to one in-memory server per host name; the first host is the config's own. */
function lanesFolder(t: TestContext, hosts: string[], files: Record<string, string>, over: Partial<FolderConfig> = {}) {
  const { config: base, localRoot } = memoryFolder(t, files);
  const servers = new Map(hosts.map((h) => [h, new MemoryServer()]));
  const [first, ...more] = hosts;
  const config: FolderConfig = {
    ...base,
    endpoint: { ...base.endpoint, host: first! },
    moreTargets: more.map((h) => ({ endpoint: { ...base.endpoint, host: h }, stateDir: `${base.stateDir}-${h}` })),
    ...over,
  };
  const open: TransportOpener = (endpoint, ...rest) => servers.get(endpoint.host)!.open(endpoint, ...rest);
  const sync = new FolderSync(config, { openTransports: open });
  return { sync, servers, localRoot, config };
}

/** Resolves with the first status of the target on `host` that satisfies `pred`. */
function targetWhere(sync: FolderSync, host: string, pred: (s: FolderStatus) => boolean, what: string) {
  const now = sync.status().targets?.find((s) => s.remote.includes(`@${host}:`));
  if (now && pred(now)) return Promise.resolve(now);
  return new Promise<FolderStatus>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no status of ${host} with ${what}`)), 10_000);
    const on = (s: FolderStatus) => {
      if (!s.remote.includes(`@${host}:`) || !pred(s)) return;
      clearTimeout(timer);
      sync.off('target', on);
      resolve(s);
    };
    sync.on('target', on);
  });
}

const allInSync = (s: FolderStatus) => inSync(s) && (s.targets ?? []).every(inSync);

function folderWhere(sync: FolderSync, pred: (s: FolderStatus) => boolean, what: string): Promise<FolderStatus> {
  if (pred(sync.status())) return Promise.resolve(sync.status());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no folder status with ${what}: ${JSON.stringify(sync.status())}`)),
      10_000,
    );
    const on = (s: FolderStatus) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      sync.off('status', on);
      resolve(s);
    };
    sync.on('status', on);
  });
}

test('three targets converge from one local scan per pass', async (t) => {
  const hosts = ['a.invalid', 'b.invalid', 'c.invalid'];
  const { sync, servers, localRoot } = lanesFolder(t, hosts, { 'index.html': 'v1' });
  const passes = new Map<string, number>();
  sync.on('pass', (_r, target) => passes.set(target, (passes.get(target) ?? 0) + 1));
  t.after(() => sync.stop());
  await sync.start();
  await folderWhere(sync, allInSync, 'every target in sync');
  writeFileSync(join(localRoot, 'app.js'), 'console.log(1)');
  await folderWhere(
    sync,
    (s) => allInSync(s) && [...servers.values()].every((srv) => srv.files().get('app.js') === 'console.log(1)'),
    'app.js on every server',
  );
  for (const srv of servers.values()) assert.equal(srv.files().get('index.html'), 'v1');
  const counts = [...passes.values()];
  assert.equal(counts.length, 3, 'every target ran passes');
  assert.ok(
    counts.every((n) => n === counts[0]),
    `the targets ran the same passes: ${counts.join(', ')}`,
  );
  assert.equal(sync.localScans, counts[0], 'one local scan per pass, not one per target');
});

test('an unreachable target does not hold the others back, and catches up once it answers', async (t) => {
  const { sync, servers, localRoot } = lanesFolder(t, ['up.invalid', 'down.invalid'], { 'a.txt': 'A' });
  servers.get('down.invalid')!.refuseWith = new Error('connect ECONNREFUSED');
  t.after(() => sync.stop());
  await sync.start();
  await targetWhere(sync, 'up.invalid', inSync, 'up in sync');
  await targetWhere(sync, 'down.invalid', (s) => s.state === 'error', 'down in error');
  writeFileSync(join(localRoot, 'b.txt'), 'B');
  await targetWhere(
    sync,
    'up.invalid',
    (s) => inSync(s) && servers.get('up.invalid')!.files().has('b.txt'),
    'b.txt up',
  );
  assert.equal(sync.status().state, 'error', 'the folder shows the down target');
  assert.equal(servers.get('down.invalid')!.files().size, 0);
  servers.get('down.invalid')!.refuseWith = undefined;
  await targetWhere(sync, 'down.invalid', inSync, 'down caught up');
  assert.deepEqual(servers.get('down.invalid')!.files(), servers.get('up.invalid')!.files());
});

test('canary: a failing check holds the followers; the next change that passes releases them', async (t) => {
  const flags = mkdtempSync(join(tmpdir(), 'ferry-canary-'));
  t.after(() => rmSync(flags, { recursive: true, force: true }));
  const failFlag = join(flags, 'fail');
  writeFileSync(failFlag, '');
  const {
    sync: canarySync,
    servers,
    localRoot,
  } = lanesFolder(
    t,
    ['canary.invalid', 'web.invalid'],
    { 'a.txt': 'A' },
    { canary: true, hooks: { afterSync: `cat >/dev/null; if [ -e '${failFlag}' ]; then echo unhealthy; exit 3; fi` } },
  );
  t.after(() => canarySync.stop());
  await canarySync.start();
  const held = await targetWhere(canarySync, 'web.invalid', (s) => s.state === 'held' && !!s.held?.output, 'web held');
  assert.deepEqual(held.held?.output, ['unhealthy']);
  assert.equal(servers.get('canary.invalid')!.files().get('a.txt'), 'A', 'the canary got the change');
  assert.equal(servers.get('web.invalid')!.files().size, 0, 'the follower did not');
  assert.equal(canarySync.status().targets?.[0]?.hookFailed?.exitCode, 3);

  rmSync(failFlag);
  writeFileSync(join(localRoot, 'b.txt'), 'B');
  await targetWhere(
    canarySync,
    'web.invalid',
    (s) => inSync(s) && servers.get('web.invalid')!.files().has('b.txt'),
    'web released',
  );
  assert.deepEqual(servers.get('web.invalid')!.files(), servers.get('canary.invalid')!.files());
  assert.equal(existsSync(failFlag), false);
});

test('canary --once: a failing check leaves the followers untouched and says held', async (t) => {
  const { sync, servers } = lanesFolder(
    t,
    ['canary.invalid', 'web.invalid'],
    { 'a.txt': 'A' },
    { canary: true, hooks: { afterSync: 'exit 1' } },
  );
  const summary = await sync.runOnce();
  assert.equal(summary.held, true);
  assert.equal(summary.inSync, false);
  assert.equal(servers.get('canary.invalid')!.files().get('a.txt'), 'A');
  assert.equal(servers.get('web.invalid')!.calls.length, 0, 'nothing was asked of the follower');
  assert.equal(sync.status().targets?.[1]?.state, 'held');
});
