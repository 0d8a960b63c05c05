/**
 * Soak seed 1203210 (30 minutes, the --trash folder): `dir4064/.ferry-aside-6092580e63251af9`
 * left on the server, Ferry idle and in sync. That name is the aside of an aside:
 * asideNameFor(asideNameFor('.env3839')). An upload replacing `dir4064/.env3839` moved the old
 * version aside and landed the new one; the connection died before the aside was settled. The
 * next pass found the aside, saw it was exactly Ferry's last version and discarded it, but the
 * discard is a checked removal (transport.remove with `expected`), which moves its target aside
 * first: `.ferry-aside-79529e...` became `.ferry-aside-6092580e...`, and the connection died
 * again before the unlink. From then on no name the ancestor, the local folder or the server
 * knew hashed to the leftover's name, so every pass left it alone, and the scan ignores aside
 * names, so nothing else saw it either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, utimesSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { asideNameFor } from '../../main/core/temp-name.ts';
import type { Entry } from '../../main/core/tree.ts';
import { planAsideRecovery } from '../../main/engine/aside-recovery.ts';
import { asidedForgets } from '../../main/engine/pass-recovery.ts';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { memoryFolder } from '../harness/memory-folder.ts';

const dir: Entry = { kind: 'dir', mode: 0o755 };
const file = (size: number, sec = 1_700_000_000): Entry => ({ kind: 'file', size, mtimeMs: sec * 1000, mode: 0o644 });
const now = new Date('2026-12-03T10:00:00Z');
/** What an interrupted discard of the aside of `name` leaves: the aside of that aside. */
const twiceAside = (name: string) => asideNameFor(asideNameFor(name));

test('the name left in seed 1203210 is the aside of the aside of .env3839', () => {
  assert.equal(twiceAside('.env3839'), '.ferry-aside-6092580e63251af9');
});

test('an aside of an aside that is Ferry\u2019s last version, replaced since, is removed', () => {
  const a = `d/${twiceAside('.env')}`;
  const remote = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/.env', file(9, 1_700_000_500)],
    [a, file(2)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/.env', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map([['d/.env', file(9, 1_700_000_500)]]), now);
  assert.deepEqual(plan.discard, [{ path: a, kind: 'file', expected: new Map([[a, file(2)]]), original: 'd/.env' }]);
  assert.deepEqual([plan.restore, plan.keep], [[], []]);
});

test('an aside of an aside whose original path is empty goes back there', () => {
  const a = `d/${twiceAside('doc.txt')}`;
  const remote = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    [a, file(2)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/doc.txt', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map([['', dir]]), now);
  assert.deepEqual(plan.restore, [{ from: a, to: 'd/doc.txt' }]);
  assert.deepEqual([plan.discard, plan.keep], [[], []]);
});

test('an aside and the aside of an aside of one empty path: one goes back, the other is settled against it', () => {
  const a1 = `d/${asideNameFor('doc.txt')}`;
  const a2 = `d/${twiceAside('doc.txt')}`;
  const remote = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    [a1, file(9, 1_700_000_500)],
    [a2, file(2)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['d', dir],
    ['d/doc.txt', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map([['', dir]]), now);
  assert.deepEqual(plan.restore, [{ from: a1, to: 'd/doc.txt' }]);
  assert.deepEqual(plan.discard, [
    { path: a2, kind: 'file', expected: new Map([[a2, file(2)]]), original: 'd/doc.txt' },
  ]);
  assert.deepEqual(plan.keep, []);
});

test('an aside of an aside that differs is kept as a conflict copy of the original', () => {
  const a = twiceAside('doc.txt');
  const remote = new Map<string, Entry>([
    ['', dir],
    ['doc.txt', file(9, 1_700_000_500)],
    [a, file(7, 1_700_000_300)],
  ]);
  const ancestor = new Map<string, Entry>([
    ['', dir],
    ['doc.txt', file(2)],
  ]);
  const plan = planAsideRecovery(remote, ancestor, new Map(), now);
  assert.deepEqual(plan.keep, [
    { from: a, to: 'doc.ferry-conflict-20261203-100000.txt', path: 'doc.txt', found: file(7, 1_700_000_300) },
  ]);
});

test('a pass settles an aside of an aside before it reports in sync (seed 1203210)', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = memoryFolder(t, { 'dir4064/.env3839': 'version one' });
  const first = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.equal(first.inSync, true);
  const old = server.entries.get('dir4064/.env3839');
  assert.equal(old?.kind, 'file');
  // The local file is edited; Ferry's upload landed it on the server, but the answer was lost
  // (the ancestor still describes version one), and so was the settling of the old version's
  // aside; the next pass's discard of that aside moved it aside once more and was cut too.
  const local = join(localRoot, 'dir4064/.env3839');
  writeFileSync(local, 'version two, longer');
  utimesSync(local, new Date(1_796_305_424_000), new Date(1_796_305_424_000));
  const st = statSync(local);
  server.writeFile('dir4064/.env3839', 'version two, longer', st.mode & 0o7777, Math.floor(st.mtimeMs / 1000) * 1000);
  const leftover = `dir4064/${twiceAside('.env3839')}`;
  server.writeFile(leftover, 'version one', old.mode, old.mtimeMs);

  const sync = new FolderSync(config, { openTransports: server.open });
  const second = await sync.runOnce();
  const third = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.ok(
    !server.entries.has(leftover) || (!second.inSync && !third.inSync),
    `in sync while ${leftover} is still on the server`,
  );
  assert.ok(!server.entries.has(leftover), 'the leftover is settled');
  assert.equal(server.files().get('dir4064/.env3839'), 'version two, longer');
});

test('a narrow pass probes the aside of an aside too before it forgets what lies below it', async () => {
  const server = new MemoryServer();
  server.mkdir('d');
  // `d/sub` was moved aside, and the discard of that aside moved it aside once more.
  server.mkdir(`d/${twiceAside('sub')}`);
  const { main } = await server.open(
    { host: 'memory.invalid', port: 22, user: 'u', displayName: 'memory', remoteRoot: '/srv' } as never,
    '/nonexistent',
    'sftp',
  );
  const plan = { ops: [{ op: 'forget' as const, path: 'd/sub/x.txt' }], conflicts: [], drift: [], deletedFiles: 0 };
  assert.deepEqual(await asidedForgets(main, plan as never, ['d/sub']), ['d/sub/x.txt']);
  // Nothing aside: nothing kept.
  server.deleteSubtree(`d/${twiceAside('sub')}`);
  assert.deepEqual(await asidedForgets(main, plan as never, ['d/sub']), []);
});
