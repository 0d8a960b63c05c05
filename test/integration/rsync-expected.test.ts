/**
 * Check before overwrite on the rsync path, against the real sshd: every server entry an
 * rsync run replaces or deletes goes into a backup directory and is settled against what
 * the plan saw, so an edit made on the server during the run is never lost. Each server
 * edit here is made by the transport's `beforeRun` hook, after the expectation was taken
 * and right before the rsync process that replaces or deletes the file starts: the whole
 * run is the window. Every case runs twice: rsync alone (a server without SFTP settles
 * with rsync runs) and rsync settled over SFTP (`--transport auto`).
 *
 * Before the backups, each of these edits was overwritten or deleted with no conflict copy,
 * and a planned conflict copy over rsync was named `doc.txt.ferry-conflict-STAMP`, a second
 * one of the same name overwriting the first.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry, FileEntry } from '../../main/core/tree.ts';
import { resolveEndpoint } from '../../main/ssh/resolve-endpoint.ts';
import { openTransports } from '../../main/transport/open-transport.ts';
import { createRsyncTransport } from '../../main/transport/rsync-transport.ts';
import type { SftpTransport } from '../../main/transport/sftp-transport.ts';
import type { RemoteTransport, UploadItem } from '../../main/transport/transport.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';

const fx = sshdForFile();
const CONFLICT = /^doc\.ferry-conflict-\d{8}-\d{6}(-\d+)?\.txt$/;

interface Rig {
  rsync: RemoteTransport;
  remote: string;
  local: string;
  /** Runs `edit` once, right before the next rsync run that replaces or deletes server entries. */
  duringNextRun(edit: () => void): void;
  /** Whether the edit ran (a test whose edit never ran proves nothing). */
  edited(): boolean;
}

async function rig(t: TestContext, name: string, settledBy: 'rsync' | 'sftp'): Promise<Rig> {
  const { sshd } = fx;
  const remote = join(sshd.remoteRoot, `${name}-${settledBy}`);
  mkdirSync(remote, { recursive: true });
  sshd.own(remote);
  const endpoint = resolveEndpoint(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${remote}`, {
    identityFiles: [sshd.clientKeyPath],
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: null,
    agentSocket: null,
  });
  const local = fx.scope.dir(`${name}-${settledBy}-local`);
  let pending: (() => void) | undefined;
  let ran = false;
  const sftp = settledBy === 'sftp' ? await openTransports(endpoint, local, 'sftp') : undefined;
  const rsync = createRsyncTransport(endpoint, local, {
    settler: sftp?.main as SftpTransport | undefined,
    beforeRun: (args) => {
      if (pending === undefined || !args.some((a) => a.startsWith('--backup-dir='))) return;
      const edit = pending;
      pending = undefined;
      edit();
      ran = true;
    },
  });
  t.after(async () => {
    await rsync.close();
    await sftp?.close();
  });
  return { rsync, remote, local, duringNextRun: (e) => (pending = e), edited: () => ran };
}

/** The entry a scan of `path` gives now (whole-second mtime, as rsync lists it). */
function seen(path: string): FileEntry {
  const st = lstatSync(path);
  return { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs / 1000) * 1000, mode: st.mode & 0o7777 };
}

function serverWrite(remote: string, rel: string, content: string, mtimeSec?: number): void {
  const p = join(remote, rel);
  writeFileSync(p, content);
  if (mtimeSec !== undefined) utimesSync(p, mtimeSec, mtimeSec);
  fx.sshd.own(p);
}

function localItem(local: string, rel: string, content: string): UploadItem {
  const localPath = join(local, rel);
  writeFileSync(localPath, content);
  const st = lstatSync(localPath);
  return {
    path: rel,
    localPath,
    expected: { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: 0o644 },
  };
}

for (const settledBy of ['rsync', 'sftp'] as const) {
  describe(`rsync runs settled by ${settledBy === 'rsync' ? 'rsync alone' : 'SFTP'}`, () => {
    test('an upload over a file edited on the server during the run keeps the edit as a conflict copy', async (t) => {
      const r = await rig(t, 'upload-edited', settledBy);
      serverWrite(r.remote, 'doc.txt', 'v1', 1_700_000_000);
      const scanned = seen(join(r.remote, 'doc.txt'));
      r.duringNextRun(() => serverWrite(r.remote, 'doc.txt', 'edited on the server', 1_700_000_100));
      const [res] = await r.rsync.upload([{ ...localItem(r.local, 'doc.txt', 'v2 local'), replaces: scanned }]);
      assert.ok(r.edited(), 'the server edit was made during the run');
      assert.equal(res?.error, undefined);
      assert.equal(readFileSync(join(r.remote, 'doc.txt'), 'utf8'), 'v2 local');
      const copy = res?.keptServerCopy?.copy ?? 'missing';
      assert.match(copy, CONFLICT);
      assert.equal(readFileSync(join(r.remote, copy), 'utf8'), 'edited on the server');
      assert.deepEqual(res?.keptServerCopy?.found, { kind: 'file', size: 20, mtimeMs: 1_700_000_100_000, mode: 0o644 });
      assert.deepEqual(readdirSync(r.remote).sort(), [copy, 'doc.txt'].sort(), 'no backup directory left');
    });

    test('an upload over the file the scan saw replaces it and keeps nothing', async (t) => {
      const r = await rig(t, 'upload-same', settledBy);
      mkdirSync(join(r.remote, 'sub'));
      fx.sshd.own(join(r.remote, 'sub'));
      serverWrite(r.remote, 'sub/doc.txt', 'v1', 1_700_000_000);
      mkdirSync(join(r.local, 'sub'));
      const item = { ...localItem(r.local, 'sub/doc.txt', 'v2 local'), replaces: seen(join(r.remote, 'sub/doc.txt')) };
      const [res] = await r.rsync.upload([item]);
      assert.equal(res?.error, undefined);
      assert.equal(res?.keptServerCopy, undefined);
      assert.deepEqual(readdirSync(r.remote), ['sub'], 'no backup directory left');
      assert.deepEqual(readdirSync(join(r.remote, 'sub')), ['doc.txt']);
      assert.equal(readFileSync(join(r.remote, 'sub/doc.txt'), 'utf8'), 'v2 local');
    });

    test('a file created on the server during the run where the plan saw nothing is kept', async (t) => {
      const r = await rig(t, 'upload-appeared', settledBy);
      r.duringNextRun(() => serverWrite(r.remote, 'doc.txt', 'created on the server'));
      const [res] = await r.rsync.upload([{ ...localItem(r.local, 'doc.txt', 'local'), replaces: null }]);
      assert.ok(r.edited());
      assert.equal(res?.error, undefined);
      const copy = res?.keptServerCopy?.copy ?? 'missing';
      assert.match(copy, CONFLICT);
      assert.equal(readFileSync(join(r.remote, copy), 'utf8'), 'created on the server');
      assert.equal(readFileSync(join(r.remote, 'doc.txt'), 'utf8'), 'local');
      assert.deepEqual(readdirSync(r.remote).sort(), [copy, 'doc.txt'].sort());
    });

    test('two planned conflict copies of one file with the same name are both kept', async (t) => {
      const r = await rig(t, 'same-name', settledBy);
      const planned = 'doc.ferry-conflict-20260102-030405.txt';
      const results = [];
      for (const round of ['first', 'second']) {
        serverWrite(r.remote, 'doc.txt', `${round} server version`);
        const item = { ...localItem(r.local, 'doc.txt', `${round} local`), conflictCopyPath: planned };
        const [res] = await r.rsync.upload([item]);
        assert.equal(res?.error, undefined);
        results.push(res?.conflictCopyPath ?? 'missing');
      }
      assert.equal(results[0], planned);
      assert.notEqual(results[1], planned, 'the earlier copy is never overwritten');
      assert.match(results[1] as string, CONFLICT);
      assert.equal(readFileSync(join(r.remote, planned), 'utf8'), 'first server version');
      assert.equal(readFileSync(join(r.remote, results[1] as string), 'utf8'), 'second server version');
      assert.deepEqual(readdirSync(r.remote).sort(), [...results, 'doc.txt'].sort());
    });

    test('removing a file edited during the run keeps it as a conflict copy; an unchanged one goes', async (t) => {
      const r = await rig(t, 'remove-edited', settledBy);
      serverWrite(r.remote, 'doc.txt', 'v1', 1_700_000_000);
      serverWrite(r.remote, 'plain.txt', 'p', 1_700_000_000);
      const docSeen = seen(join(r.remote, 'doc.txt'));
      const plainSeen = seen(join(r.remote, 'plain.txt'));
      r.duringNextRun(() => serverWrite(r.remote, 'doc.txt', 'edited during the run', 1_700_000_050));
      const [doc, plain] = await r.rsync.remove([
        { path: 'doc.txt', kind: 'file', expected: new Map([['doc.txt', docSeen]]) },
        { path: 'plain.txt', kind: 'file', expected: new Map([['plain.txt', plainSeen]]) },
      ]);
      assert.ok(r.edited());
      assert.equal(doc?.error, undefined);
      assert.equal(plain?.error, undefined);
      assert.equal(plain?.keptServerCopy, undefined);
      const copy = doc?.keptServerCopy?.copy ?? 'missing';
      assert.match(copy, CONFLICT);
      assert.deepEqual(readdirSync(r.remote), [copy]);
      assert.equal(readFileSync(join(r.remote, copy), 'utf8'), 'edited during the run');
    });

    test('removing a directory keeps a file added during the run in a conflict copy of it', async (t) => {
      const r = await rig(t, 'remove-dir', settledBy);
      mkdirSync(join(r.remote, 'site', 'css'), { recursive: true });
      serverWrite(r.remote, 'site/index.html', 'i', 1_700_000_000);
      serverWrite(r.remote, 'site/css/a.css', 'a', 1_700_000_000);
      fx.sshd.own(join(r.remote, 'site'));
      const dirMode = lstatSync(join(r.remote, 'site')).mode & 0o7777;
      const expected = new Map<string, Entry>([
        ['site', { kind: 'dir', mode: dirMode }],
        ['site/css', { kind: 'dir', mode: dirMode }],
        ['site/index.html', seen(join(r.remote, 'site/index.html'))],
        ['site/css/a.css', seen(join(r.remote, 'site/css/a.css'))],
      ]);
      r.duringNextRun(() => serverWrite(r.remote, 'site/css/uploaded-by-someone.css', 'new'));
      const [res] = await r.rsync.remove([{ path: 'site', kind: 'dir', expected }]);
      assert.ok(r.edited());
      assert.equal(res?.error, undefined);
      const copy = res?.keptServerCopy?.copy ?? 'missing';
      assert.match(copy, /^site\.ferry-conflict-\d{8}-\d{6}(-\d+)?$/);
      assert.deepEqual(readdirSync(r.remote), [copy]);
      assert.deepEqual(readdirSync(join(r.remote, copy)), ['css']);
      assert.deepEqual(readdirSync(join(r.remote, copy, 'css')), ['uploaded-by-someone.css']);
      assert.equal(readFileSync(join(r.remote, copy, 'css', 'uploaded-by-someone.css'), 'utf8'), 'new');
    });

    test('two kept copies of one file in quick succession get distinct names', async (t) => {
      const r = await rig(t, 'same-second', settledBy);
      const copies: string[] = [];
      for (const content of ['first edit', 'second edit']) {
        serverWrite(r.remote, 'doc.txt', 'v1', 1_700_000_000);
        const expected = seen(join(r.remote, 'doc.txt'));
        r.duringNextRun(() => serverWrite(r.remote, 'doc.txt', content, 1_700_000_050));
        const [res] = await r.rsync.remove([
          { path: 'doc.txt', kind: 'file', expected: new Map([['doc.txt', expected]]) },
        ]);
        assert.ok(r.edited());
        copies.push(res?.keptServerCopy?.copy ?? 'missing');
      }
      assert.equal(new Set(copies).size, 2, copies.join(', '));
      assert.deepEqual(
        copies.map((c) => readFileSync(join(r.remote, c), 'utf8')),
        ['first edit', 'second edit'],
      );
    });
  });
}

describe('rsync runs with a trash directory (--trash)', () => {
  for (const settledBy of ['rsync', 'sftp'] as const) {
    test(`settled by ${settledBy}: what matches goes to the trash, a file added during the run to a conflict copy`, async (t) => {
      const r = await rig(t, 'trash-dir', settledBy);
      mkdirSync(join(r.remote, 'site', 'css'), { recursive: true });
      serverWrite(r.remote, 'site/index.html', 'i', 1_700_000_000);
      serverWrite(r.remote, 'site/css/a.css', 'a', 1_700_000_000);
      fx.sshd.own(join(r.remote, 'site'));
      const dirMode = lstatSync(join(r.remote, 'site')).mode & 0o7777;
      const expected = new Map<string, Entry>([
        ['site', { kind: 'dir', mode: dirMode }],
        ['site/css', { kind: 'dir', mode: dirMode }],
        ['site/index.html', seen(join(r.remote, 'site/index.html'))],
        ['site/css/a.css', seen(join(r.remote, 'site/css/a.css'))],
      ]);
      const trash = '.ferry-trash/20260102-030405';
      r.duringNextRun(() => serverWrite(r.remote, 'site/css/uploaded-by-someone.css', 'new'));
      const [res] = await r.rsync.remove([{ path: 'site', kind: 'dir', expected, trash }]);
      assert.ok(r.edited());
      assert.equal(res?.error, undefined);
      const copy = res?.keptServerCopy?.copy ?? 'missing';
      assert.deepEqual(readdirSync(r.remote).sort(), ['.ferry-trash', copy].sort());
      assert.equal(readFileSync(join(r.remote, copy, 'css', 'uploaded-by-someone.css'), 'utf8'), 'new');
      assert.equal(readFileSync(join(r.remote, trash, 'site/index.html'), 'utf8'), 'i');
      assert.equal(readFileSync(join(r.remote, trash, 'site/css/a.css'), 'utf8'), 'a');
      assert.deepEqual(readdirSync(join(r.remote, trash, 'site/css')), ['a.css'], 'the added file left the trash');
    });
  }

  test('rsync alone: a file trashed twice within one stamp keeps both versions, the second a second later', async (t) => {
    const r = await rig(t, 'trash-twice', 'rsync');
    const trash = '.ferry-trash/20260102-030459';
    for (const version of ['v1', 'v2']) {
      serverWrite(r.remote, 'doc.txt', version, 1_700_000_000);
      const item = { ...localItem(r.local, 'doc.txt', `after ${version}`), replaces: seen(join(r.remote, 'doc.txt')) };
      const [res] = await r.rsync.upload([{ ...item, trash }]);
      assert.equal(res?.error, undefined);
      assert.equal(res?.keptServerCopy, undefined);
    }
    assert.deepEqual(readdirSync(join(r.remote, '.ferry-trash')).sort(), ['20260102-030459', '20260102-030500']);
    assert.equal(readFileSync(join(r.remote, trash, 'doc.txt'), 'utf8'), 'v1');
    assert.equal(readFileSync(join(r.remote, '.ferry-trash/20260102-030500/doc.txt'), 'utf8'), 'v2');
  });
});
