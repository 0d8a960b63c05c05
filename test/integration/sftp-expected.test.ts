/**
 * Check before overwrite, against the real sshd: every replace and remove carries the entry
 * the plan saw, and the SFTP transport never destroys a server entry that no longer matches
 * it. Each server edit here is made after the "scan" (the expectation is taken first), as
 * an edit made while Ferry uploads would be; before the checks, each of these edits was
 * overwritten or deleted with no conflict copy and no record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Entry, FileEntry } from '../../main/core/tree.ts';
import { resolveEndpoint } from '../../main/ssh/resolve-endpoint.ts';
import { openTransports, type OpenTransports } from '../../main/transport/open-transport.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { runFerry, sshFlags, targetOf } from '../harness/trees.ts';
import { asideNameFor } from '../../main/core/temp-name.ts';

const fx = sshdForFile();
const CONFLICT = /^doc\.ferry-conflict-\d{8}-\d{6}(-\d+)?\.txt$/;

async function open(name: string): Promise<{ t: OpenTransports; remote: string; local: string }> {
  const { sshd } = fx;
  const remote = join(sshd.remoteRoot, name);
  mkdirSync(remote, { recursive: true });
  sshd.own(remote);
  const endpoint = resolveEndpoint(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${remote}`, {
    identityFiles: [sshd.clientKeyPath],
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: null,
    agentSocket: null,
  });
  const local = fx.scope.dir(`${name}-local`);
  return { t: await openTransports(endpoint, local, 'sftp'), remote, local };
}

/** The entry a scan of `path` gives now (whole-second mtime, as SFTP reports it). */
function seen(path: string): FileEntry {
  const st = lstatSync(path);
  return { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs / 1000) * 1000, mode: st.mode & 0o7777 };
}

/** A local file as its upload item expects it (mtime 1_700_000_200 s, mode 0644): a transport does not land a file that differs. */
function localWrite(p: string, content: string): void {
  writeFileSync(p, content);
  chmodSync(p, 0o644);
  utimesSync(p, 1_700_000_200, 1_700_000_200);
}

function serverWrite(remote: string, rel: string, content: string, mtimeSec?: number): void {
  const p = join(remote, rel);
  writeFileSync(p, content);
  if (mtimeSec !== undefined) utimesSync(p, mtimeSec, mtimeSec);
  fx.sshd.own(p);
}

test('an upload over a file edited on the server since the scan keeps the edit as a conflict copy', async (t) => {
  const { t: tr, remote, local } = await open('expect-upload');
  t.after(() => tr.close());
  serverWrite(remote, 'doc.txt', 'v1', 1_700_000_000);
  const scanned = seen(join(remote, 'doc.txt'));
  serverWrite(remote, 'doc.txt', 'edited on the server', 1_700_000_100); // after the scan
  localWrite(join(local, 'doc.txt'), 'v2 local');
  const [r] = await tr.main.upload([
    {
      path: 'doc.txt',
      localPath: join(local, 'doc.txt'),
      expected: { kind: 'file', size: 8, mtimeMs: 1_700_000_200_000, mode: 0o644 },
      replaces: scanned,
    },
  ]);
  assert.equal(r?.error, undefined);
  assert.equal(readFileSync(join(remote, 'doc.txt'), 'utf8'), 'v2 local');
  assert.match(r?.keptServerCopy?.copy ?? '', CONFLICT);
  assert.equal(readFileSync(join(remote, r?.keptServerCopy?.copy ?? 'missing'), 'utf8'), 'edited on the server');
  assert.deepEqual(readdirSync(remote).sort(), ['doc.txt', r?.keptServerCopy?.copy].sort(), 'no temp or aside left');
});

test('an upload over the file the scan saw replaces it and keeps nothing', async (t) => {
  const { t: tr, remote, local } = await open('expect-upload-same');
  t.after(() => tr.close());
  serverWrite(remote, 'doc.txt', 'v1', 1_700_000_000);
  localWrite(join(local, 'doc.txt'), 'v2 local');
  const [r] = await tr.main.upload([
    {
      path: 'doc.txt',
      localPath: join(local, 'doc.txt'),
      expected: { kind: 'file', size: 8, mtimeMs: 1_700_000_200_000, mode: 0o644 },
      replaces: seen(join(remote, 'doc.txt')),
    },
  ]);
  assert.equal(r?.keptServerCopy, undefined);
  assert.deepEqual(readdirSync(remote), ['doc.txt']);
  assert.equal(readFileSync(join(remote, 'doc.txt'), 'utf8'), 'v2 local');
});

test('a new file whose path was taken on the server since the scan is not written over it', async (t) => {
  const { t: tr, remote, local } = await open('expect-create');
  t.after(() => tr.close());
  serverWrite(remote, 'doc.txt', 'created on the server after the scan');
  localWrite(join(local, 'doc.txt'), 'local');
  const [r] = await tr.main.upload([
    {
      path: 'doc.txt',
      localPath: join(local, 'doc.txt'),
      expected: { kind: 'file', size: 5, mtimeMs: 1_700_000_200_000, mode: 0o644 },
      replaces: null,
    },
  ]);
  assert.equal(r?.serverChanged, true);
  assert.equal(r?.error, undefined);
  assert.equal(readFileSync(join(remote, 'doc.txt'), 'utf8'), 'created on the server after the scan');
  assert.deepEqual(readdirSync(remote), ['doc.txt'], 'the temp file is gone');
});

test('removing a file edited since the scan keeps it as a conflict copy; an unchanged one goes', async (t) => {
  const { t: tr, remote } = await open('expect-remove');
  t.after(() => tr.close());
  serverWrite(remote, 'doc.txt', 'v1', 1_700_000_000);
  serverWrite(remote, 'plain.txt', 'p', 1_700_000_000);
  const expected = new Map<string, Entry>([
    ['doc.txt', seen(join(remote, 'doc.txt'))],
    ['plain.txt', seen(join(remote, 'plain.txt'))],
  ]);
  serverWrite(remote, 'doc.txt', 'edited after the scan', 1_700_000_050);
  const [doc, plain] = await tr.main.remove([
    { path: 'doc.txt', kind: 'file', expected: new Map([['doc.txt', expected.get('doc.txt') as Entry]]) },
    { path: 'plain.txt', kind: 'file', expected: new Map([['plain.txt', expected.get('plain.txt') as Entry]]) },
  ]);
  assert.equal(plain?.keptServerCopy, undefined);
  assert.match(doc?.keptServerCopy?.copy ?? '', CONFLICT);
  assert.deepEqual(readdirSync(remote), [doc?.keptServerCopy?.copy]);
  assert.equal(readFileSync(join(remote, doc?.keptServerCopy?.copy ?? 'missing'), 'utf8'), 'edited after the scan');
});

test('removing a directory deletes what the scan saw and keeps a file added since in a conflict copy', async (t) => {
  const { t: tr, remote } = await open('expect-remove-dir');
  t.after(() => tr.close());
  mkdirSync(join(remote, 'site', 'css'), { recursive: true });
  serverWrite(remote, 'site/index.html', 'i', 1_700_000_000);
  serverWrite(remote, 'site/css/a.css', 'a', 1_700_000_000);
  fx.sshd.own(join(remote, 'site'));
  const dirMode = lstatSync(join(remote, 'site')).mode & 0o7777;
  const expected = new Map<string, Entry>([
    ['site', { kind: 'dir', mode: dirMode }],
    ['site/css', { kind: 'dir', mode: dirMode }],
    ['site/index.html', seen(join(remote, 'site/index.html'))],
    ['site/css/a.css', seen(join(remote, 'site/css/a.css'))],
  ]);
  serverWrite(remote, 'site/css/uploaded-by-someone.css', 'new'); // after the scan
  const [r] = await tr.main.remove([{ path: 'site', kind: 'dir', expected }]);
  const copy = r?.keptServerCopy?.copy ?? 'missing';
  assert.match(copy, /^site\.ferry-conflict-\d{8}-\d{6}(-\d+)?$/);
  assert.deepEqual(readdirSync(remote), [copy]);
  assert.deepEqual(readdirSync(join(remote, copy)), ['css']);
  assert.deepEqual(readdirSync(join(remote, copy, 'css')), ['uploaded-by-someone.css']);
});

test('two kept copies of one file in the same second get distinct names', async (t) => {
  const { t: tr, remote } = await open('expect-same-second');
  t.after(() => tr.close());
  const copies: string[] = [];
  for (const content of ['first edit', 'second edit']) {
    serverWrite(remote, 'doc.txt', 'v1', 1_700_000_000);
    const expected = seen(join(remote, 'doc.txt'));
    serverWrite(remote, 'doc.txt', content, 1_700_000_050);
    const [r] = await tr.main.remove([{ path: 'doc.txt', kind: 'file', expected: new Map([['doc.txt', expected]]) }]);
    copies.push(r?.keptServerCopy?.copy ?? 'missing');
  }
  assert.equal(new Set(copies).size, 2, copies.join(', '));
  assert.deepEqual(
    copies.map((c) => readFileSync(join(remote, c), 'utf8')),
    ['first edit', 'second edit'],
  );
});

/** A folder synced once with doc.txt, for the interrupted-sync cases below. */
async function syncedFolder(name: string) {
  const local = fx.scope.dir(`${name}-local`);
  const state = fx.scope.dir(`${name}-state`);
  const remote = join(fx.sshd.remoteRoot, name);
  writeFileSync(join(local, 'doc.txt'), 'v1');
  utimesSync(join(local, 'doc.txt'), 1_700_000_000, 1_700_000_000);
  writeFileSync(join(local, 'other.txt'), 'o');
  const once = () =>
    runFerry(['sync', '--once', '--json', ...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, remote)]);
  const first = await once();
  assert.equal(first.code, 0, first.stderr);
  return { local, remote, once, aside: join(remote, asideNameFor('doc.txt')) };
}

test('a removal interrupted after the move aside is finished by the next run: nothing is left over', async () => {
  const f = await syncedFolder('aside-remove');
  renameSync(join(f.remote, 'doc.txt'), f.aside); // killed right after moving doc.txt aside
  rmSync(join(f.local, 'doc.txt'));
  const r = await f.once();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(f.remote).sort(), ['other.txt']);
});

test('an upload interrupted after landing: the aside of the old version goes, the new one stays', async () => {
  const f = await syncedFolder('aside-landed');
  writeFileSync(join(f.local, 'doc.txt'), 'v2 local');
  renameSync(join(f.remote, 'doc.txt'), f.aside);
  copyFileSync(join(f.local, 'doc.txt'), join(f.remote, 'doc.txt'), 0);
  fx.sshd.own(f.remote);
  const r = await f.once();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(f.remote).sort(), ['doc.txt', 'other.txt']);
  assert.equal(readFileSync(join(f.remote, 'doc.txt'), 'utf8'), 'v2 local');
});

test('an aside that holds a server edit is kept as a conflict copy and logged', async () => {
  const f = await syncedFolder('aside-edited');
  writeFileSync(join(f.local, 'doc.txt'), 'v2 local');
  serverWrite(f.remote, 'doc.txt', 'edited on the server', 1_700_000_100);
  renameSync(join(f.remote, 'doc.txt'), f.aside);
  const r = await f.once();
  assert.equal(r.code, 0, r.stderr);
  const copies = readdirSync(f.remote).filter((n) => CONFLICT.test(n));
  assert.equal(copies.length, 1, readdirSync(f.remote).join(', '));
  assert.equal(readFileSync(join(f.remote, copies[0] as string), 'utf8'), 'edited on the server');
  assert.equal(readFileSync(join(f.remote, 'doc.txt'), 'utf8'), 'v2 local');
  assert.ok(r.events.some((e) => e.event === 'conflict' && e.path === 'doc.txt'));
  assert.deepEqual(
    readdirSync(f.remote).filter((n) => n.startsWith('.ferry-')),
    [],
  );
});

test('a mode and mtime change leaves a same-size server edit made since the scan alone', async (t) => {
  const { t: tr, remote } = await open('expect-attributes');
  t.after(() => tr.close());
  serverWrite(remote, 'doc.txt', 'version one', 1_700_000_000);
  serverWrite(remote, 'same.txt', 'version one', 1_700_000_000);
  serverWrite(remote, 'unreadable.txt', 'version one', 1_700_000_000);
  chmodSync(join(remote, 'unreadable.txt'), 0o200); // Ferry may set what it may not read
  const scanned = seen(join(remote, 'doc.txt'));
  serverWrite(remote, 'doc.txt', 'version two', 1_700_000_100); // same size, after the scan
  mkdirSync(join(remote, 'd'));
  fx.sshd.own(join(remote, 'd'));
  const results = await tr.main.setAttributes([
    { path: 'doc.txt', mode: 0o600, mtimeMs: 1_700_000_000_000, expected: scanned },
    { path: 'same.txt', mode: 0o600, mtimeMs: 1_700_000_050_000, expected: seen(join(remote, 'same.txt')) },
    { path: 'unreadable.txt', mode: 0o600, mtimeMs: 1_700_000_050_000, expected: seen(join(remote, 'unreadable.txt')) },
    { path: 'd', mode: 0o700, expected: { kind: 'dir', mode: 0o755 } },
    { path: 'gone.txt', mode: 0o600, expected: scanned },
  ]);
  assert.deepEqual(results, [
    { path: 'doc.txt', serverChanged: true },
    { path: 'same.txt' },
    { path: 'unreadable.txt' },
    { path: 'd' },
    { path: 'gone.txt', serverChanged: true },
  ]);
  const edited = lstatSync(join(remote, 'doc.txt'));
  assert.equal(readFileSync(join(remote, 'doc.txt'), 'utf8'), 'version two');
  assert.equal(Math.floor(edited.mtimeMs / 1000), 1_700_000_100, 'the edit keeps its mtime');
  assert.equal(edited.mode & 0o7777, 0o644);
  for (const name of ['same.txt', 'unreadable.txt']) {
    const st = lstatSync(join(remote, name));
    assert.equal(st.mode & 0o7777, 0o600, name);
    assert.equal(Math.floor(st.mtimeMs / 1000), 1_700_000_050, name);
  }
  assert.equal(lstatSync(join(remote, 'd')).mode & 0o7777, 0o700);
});
