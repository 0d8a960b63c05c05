/**
 * 30-minute soak seed 1203401 (the `--trash` folder, commit 0008ab1): nine empty directories
 * (`d2267/Folder 2367/d1678/--2357/.../2228back\slash...%20`) left on the server, unknown to
 * Ferry, while it reported in sync.
 *
 * The local `.../2228back\slash...%20/data-2404.bin` was touched (same 1313 bytes, a new
 * mtime), and Ferry sent it again. The SFTP transport moved the old version aside, landed the
 * new one, and then, settling the aside, could not make its trash directory: the remote
 * directory had just become read-only ("mkdir .../.ferry-trash/20261203-153005/d2267 failed on
 * the server: Failure"). The whole upload was reported failed, so the index kept the old
 * version. The tree was deleted locally two seconds later; the server's copy (Ferry's own new
 * version) differed from the index, so it was kept as a server change ("skipped-local-delete",
 * ten records) and the directories above it were forgotten as the server's own. The soak's
 * server user later deleted the file, and the directories stayed.
 *
 * An overwrite reported failed may have landed. Like one whose answer a cut lost, it is now
 * held pending and accepted once the server shows exactly what Ferry wrote (journal.ts
 * matchJournaled), also by the next run.
 *
 * The in-memory server stands for the transport here: it lands the upload, then answers with
 * the error the SFTP transport gives when the settling fails (sftp-expected.ts landUpload:
 * settleAside throws after landNew; rsync-upload.ts turns a settling error into the item's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import type { TransportOpener } from '../../main/transport/open-transport.ts';
import type { RemoteTransport, UploadResult } from '../../main/transport/transport.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { memoryFolder as folder } from '../harness/memory-folder.ts';

const FILE = 'd/sub/data.bin';

/**
 * `server.open`, but uploads of the paths in `landThenFail` land and are then reported
 * failed, as when the version moved aside could not be settled. The landed entry carries no
 * hash, as an SFTP scan shows it: a file only touched differs from the index by its mtime.
 */
function openLandingThenFailing(server: MemoryServer, landThenFail: Set<string>): TransportOpener {
  const fail = (r: UploadResult): UploadResult => {
    if (!landThenFail.has(r.path) || r.error !== undefined) return r;
    const e = server.entries.get(r.path);
    if (e?.kind === 'file') {
      const { hash: _sent, ...scanned } = e;
      server.entries.set(r.path, scanned);
    }
    return {
      path: r.path,
      error: `mkdir /srv/.ferry-trash/20261203-153005/d failed on the server: Failure`,
      errorCode: 'other',
    };
  };
  return async (...args) => {
    const opened = await server.open(...args);
    const main = opened.main;
    const upload: RemoteTransport['upload'] = async (items, onProgress, onItem) =>
      (await main.upload(items, onProgress, onItem && ((i, r) => onItem(i, fail(r))))).map(fail);
    const wrapped = new Proxy(main, {
      get(target, prop) {
        if (prop === 'upload') return upload;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { ...opened, main: wrapped };
  };
}

for (const how of ['touched (same size, new mtime)', 'rewritten'] as const) {
  test(`an overwrite reported failed that landed is Ferry's own: ${how}, then deleted locally (seed 1203401)`, async (t) => {
    const server = new MemoryServer();
    const { config, localRoot } = folder(
      t,
      { [FILE]: 'version one of the file', 'keep.txt': 'k' },
      {
        trash: { days: 30 },
      },
    );
    const landThenFail = new Set<string>();
    const open = openLandingThenFailing(server, landThenFail);
    const first = await new FolderSync(config, { openTransports: open }).runOnce();
    assert.equal(first.inSync, true);

    const local = join(localRoot, FILE);
    if (how === 'rewritten') {
      writeFileSync(local, 'version two of the file, longer');
    } else utimesSync(local, new Date('2028-01-07T00:00:00Z'), new Date('2028-01-07T00:00:00Z'));
    landThenFail.add(FILE);
    const failed = await new FolderSync(config, { openTransports: open }).runOnce();
    assert.equal(failed.inSync, false, 'the upload was reported failed');
    const landed = server.entries.get(FILE);
    assert.ok(landed?.kind === 'file');
    if (how === 'rewritten') assert.equal(server.files().get(FILE), 'version two of the file, longer');
    else assert.equal(Math.floor(landed.mtimeMs / 1000), Date.parse('2028-01-07T00:00:00Z') / 1000);

    // The server takes writes again; the tree is deleted locally before the next pass.
    landThenFail.clear();
    rmSync(join(localRoot, 'd'), { recursive: true });
    const sync = new FolderSync(config, { openTransports: open });
    const after = await sync.runOnce();
    assert.equal(after.inSync, true);
    assert.deepEqual(
      [...server.entries.keys()].filter((p) => p === 'd' || p.startsWith('d/')),
      [],
      'the version Ferry wrote, and its directories, follow the local delete',
    );
    assert.equal(sync.status().conflictCount, 0, 'no "skipped-local-delete" for Ferry\u2019s own version');
  });
}
