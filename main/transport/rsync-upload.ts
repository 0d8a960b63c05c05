/**
 * Uploads over rsync: the files of a batch go in one rsync run per source folder, with
 * `--ignore-times` (every file is sent) and, when the items carry what they replace or a
 * planned conflict copy, `--backup --backup-dir` into a fresh aside directory: every server
 * file the run replaces, whenever it replaces it, is kept there and settled afterwards
 * (rsync-backups.ts): deleted (with `trash`: moved to the trash) when it is what the plan
 * saw, else kept as a conflict copy.
 * rsync confirms a batch only when it ends; whatever it did not confirm is checked with one
 * listing run.
 *
 * Unlike SFTP, a file that appeared on the server where the plan saw nothing
 * (`replaces: null`) is not left in place with the upload dropped: rsync replaces it, and
 * the server's file is kept as a conflict copy (`keptServerCopy`). Nothing is lost either way.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../core/hash-file.ts';
import { mapLimit } from '../core/map-limit.ts';
import { isSafeRelPath, sameSecond, statMatchesScan, type Entry, type FileEntry } from '../core/tree.ts';
import { backupArgs, backupPlace, settleBackups, sharedTrash, type BackupPlace } from './rsync-backups.ts';
import { failure, type RsyncRunner } from './rsync-runner.ts';
import {
  classifyError,
  type AsideItem,
  type AsideSettler,
  type TransferProgress,
  type UploadItem,
  type UploadResult,
} from './transport.ts';

/**
 * @param localRoot absolute local folder the items' `localPath`s lie in; rsync sends from
 *   there by relative path (an item whose localPath lies elsewhere is sent from the folder
 *   its localPath implies).
 */
export async function uploadViaRsync(
  rsync: RsyncRunner,
  localRoot: string,
  items: readonly UploadItem[],
  onProgress?: (p: TransferProgress) => void,
  onItem?: (index: number, result: UploadResult) => void,
  settler?: AsideSettler,
): Promise<UploadResult[]> {
  rsync.assertOpen();
  const results: UploadResult[] = items.map((it) => ({ path: it.path }));
  const settled = new Set<number>();
  const settle = (i: number) => {
    if (settled.has(i)) return;
    settled.add(i);
    onItem?.(i, results[i] as UploadResult);
  };
  const before = new Map<number, Stats>();
  const groups = new Map<string, { source: string; idx: number[] }>();
  const candidates: number[] = [];
  for (const [i, it] of items.entries()) {
    if (!isSafeRelPath(it.path) || it.path === '') {
      results[i] = {
        path: it.path,
        error: `Refusing to upload to the unsafe path ${JSON.stringify(it.path)}.`,
        errorCode: 'other',
      };
      continue;
    }
    if (!it.localPath.endsWith(`/${it.path}`)) {
      results[i] = {
        path: it.path,
        error: `The local path ${it.localPath} does not end with ${it.path}; rsync sends files by their relative path.`,
        errorCode: 'other',
      };
      continue;
    }
    candidates.push(i);
  }
  // Stat every file before sending it (many at a time: one at a time costs a thread-pool
  // round trip per file), then group them in the caller's order.
  const stats = new Map<number, Stats | Error>();
  await mapLimit(candidates, 32, async (i) => {
    stats.set(i, await lstat((items[i] as UploadItem).localPath).catch((err: Error) => err));
  });
  for (const i of candidates) {
    const it = items[i] as UploadItem;
    const st = stats.get(i) as Stats | Error;
    if (st instanceof Error) {
      const vanished = (st as NodeJS.ErrnoException).code === 'ENOENT';
      results[i] = {
        path: it.path,
        error: classifyError(st).message,
        errorCode: 'local-read-failed',
        ...(vanished ? { localVanished: true } : {}),
      };
      continue;
    }
    if (!st.isFile()) {
      results[i] = {
        path: it.path,
        error: `${it.localPath} is no longer a regular file.`,
        errorCode: 'local-read-failed',
      };
      continue;
    }
    if (it.landIfChanged !== true && !statMatchesScan(st, it.expected)) {
      // Not sent: rsync would land other bytes than the journal recorded (UploadItem.landIfChanged).
      results[i] = { path: it.path, localChanged: true };
      continue;
    }
    before.set(i, st);
    const source =
      it.localPath === join(localRoot, it.path) ? localRoot : it.localPath.slice(0, -(it.path.length + 1)) || '/';
    const group = groups.get(source) ?? { source, idx: [] };
    group.idx.push(i);
    groups.set(source, group);
  }

  // The content hashes for the index are computed while rsync runs (they read the same
  // bytes from the page cache); a file that changes meanwhile is caught by the stat
  // comparison after both have finished, exactly as if it had been hashed afterwards.
  const hashes = new Map<number, string>();
  let pushFailed = false;
  const hashing = mapLimit([...before.keys()], 8, async (i) => {
    if (pushFailed || rsync.closed) return; // the batch is lost: stop reading files
    const hash = await hashFile((items[i] as UploadItem).localPath).catch(() => undefined);
    if (hash !== undefined) hashes.set(i, hash);
  });
  const progress: TransferProgress = { bytes: 0, files: 0 };
  const sent = new Set<number>();
  const unconfirmed = new Map<number, string>();
  const backups: { place: BackupPlace; idx: number[] }[] = [];
  try {
    for (const group of groups.values()) {
      const paths = group.idx.map((i) => (items[i] as UploadItem).path);
      const indexByPath = new Map(paths.map((p, j) => [p, group.idx[j] as number]));
      const checked = group.idx.some(
        (i) => items[i]?.replaces !== undefined || items[i]?.conflictCopyPath !== undefined,
      );
      const place = checked
        ? await backupPlace(rsync, settler, sharedTrash(group.idx.map((i) => items[i] as UploadItem)), paths)
        : undefined;
      if (place !== undefined) backups.push({ place, idx: group.idx });
      const args = ['--perms', '--times', '--ignore-times', ...(place ? backupArgs(place.dir) : [])];
      const out = await rsync.push(group.source, paths, args, (r) => {
        const i = indexByPath.get(r.path);
        if (i === undefined || !r.itemize.startsWith('<f')) return;
        sent.add(i);
        progress.files++;
        progress.bytes += r.length;
        onProgress?.({ ...progress });
      });
      paths.forEach((p, j) => {
        const i = group.idx[j] as number;
        const err = out.errors.get(j);
        if (err) {
          const vanished =
            err.local &&
            (/^file has vanished/.test(err.message) || /No such file or directory \(2\)/.test(err.message));
          results[i] = {
            path: p,
            ...failure(err.message, err.local ? 'local-read-failed' : undefined),
            ...(vanished ? { localVanished: true } : {}),
          };
        } else if (out.code !== 0 || !sent.has(i))
          unconfirmed.set(
            i,
            `rsync did not confirm this upload: ${out.code !== 0 ? out.general.join(' ') : 'it never reported sending the file.'}`,
          );
      });
    }
    // What the runs replaced is settled before anything is reported (rsync-backups.ts).
    for (const { place, idx } of backups) {
      const settled = await settleBackups(
        rsync,
        settler,
        place,
        idx.map((i) => asideItem(items[i] as UploadItem)),
        new Date(),
      );
      idx.forEach((i, j) => {
        const s = settled[j];
        const r = results[i] as UploadResult;
        const it = items[i] as UploadItem;
        if (s?.error !== undefined) {
          if (r.error === undefined) results[i] = { path: it.path, error: s.error, errorCode: 'other' };
        } else if (s?.keptServerCopy && it.conflictCopyPath !== undefined) r.conflictCopyPath = s.keptServerCopy.copy;
        else if (s?.keptServerCopy) r.keptServerCopy = s.keptServerCopy;
      });
    }
  } catch (err) {
    pushFailed = true;
    throw err;
  } finally {
    await hashing;
  }

  const ok = (i: number) => before.has(i) && results[i]?.error === undefined;
  const toCheck = [...unconfirmed.keys()].map((i) => (items[i] as UploadItem).path);
  if (toCheck.length) {
    const seen = (await rsync.list(toCheck, false)) ?? new Map<string, Entry>();
    for (const [i, reason] of unconfirmed) {
      const st = before.get(i) as Stats;
      const remote = seen.get((items[i] as UploadItem).path);
      const matches =
        sent.has(i) &&
        remote?.kind === 'file' &&
        remote.size === st.size &&
        sameSecond(remote.mtimeMs, st.mtimeMs) &&
        remote.mode === (st.mode & 0o7777);
      if (!matches) results[i] = { ...(results[i] as UploadResult), ...failure(reason) };
    }
  }

  await mapLimit([...before.keys()].filter(ok), 8, async (i) => {
    const it = items[i] as UploadItem;
    const st = before.get(i) as Stats;
    try {
      const hash = hashes.get(i);
      if (hash === undefined) throw new Error('not hashed');
      const after = await lstat(it.localPath);
      // Whole milliseconds, as the local scan records them: the ancestor must compare equal next time.
      const uploaded: FileEntry = {
        kind: 'file',
        size: st.size,
        mtimeMs: Math.floor(st.mtimeMs),
        mode: st.mode & 0o7777,
        hash,
      };
      const r = results[i] as UploadResult;
      r.uploaded = uploaded;
      if (changed(st, after) || st.size !== it.expected.size || Math.floor(st.mtimeMs) !== it.expected.mtimeMs)
        r.changedDuringUpload = true;
    } catch {
      // The file was sent, but is gone or unreadable now: report what was sent, and let the engine rescan.
      const r = results[i] as UploadResult;
      r.uploaded = { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777 };
      r.changedDuringUpload = true;
    }
    settle(i);
  });
  // rsync confirms a batch only when it ends, so items are reported as they settle here.
  results.forEach((_, i) => settle(i));
  return results;
}

function changed(a: Stats, b: Stats): boolean {
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino || a.mode !== b.mode;
}

/**
 * How the server entry an upload replaced is settled: kept as the planned copy, compared
 * (what matches goes to the item's trash, if any), or (unchecked) discarded.
 */
function asideItem(it: UploadItem): AsideItem {
  if (it.conflictCopyPath !== undefined) return { path: it.path, keepAs: it.conflictCopyPath };
  if (it.replaces === undefined) return { path: it.path };
  return {
    path: it.path,
    expected: new Map(it.replaces === null ? [] : [[it.path, it.replaces]]),
    ...(it.trash !== undefined ? { trash: it.trash } : {}),
  };
}
