/**
 * mkdir, symlink and remove over rsync: each batch is built in a staging directory and sent
 * in ONE rsync run (plus at most one listing run to verify results when rsync reported
 * trouble). `--no-implied-dirs` (see rsync-runner.ts) keeps the staged parents from touching
 * the server's.
 */
import { chmod, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { comparePaths, isSafeRelPath, isWithin, outermost, parentOf, type Entry, type Mode } from '../core/tree.ts';
import { backupArgs, backupPlace, settleBackups, sharedTrash } from './rsync-backups.ts';
import { ABSENT, failure, type RsyncRunner } from './rsync-runner.ts';
import { withStage } from './rsync-stage.ts';
import type { AsideSettler, ItemResult, RemoveItem } from './transport.ts';

/** Sets each directory's mode (also of one that exists); a non-directory at the path is replaced. */
export async function mkdirViaRsync(
  rsync: RsyncRunner,
  items: readonly { path: string; mode: Mode }[],
): Promise<ItemResult[]> {
  rsync.assertOpen();
  const results: ItemResult[] = items.map((it) => ({ path: it.path }));
  const { paths, indexOf, picked } = uniqueSafe(items, results, 'create');
  const wanted = new Map<string, Mode>();
  for (const it of picked) wanted.set(it.path, it.mode & 0o7777);
  await withStage(async (stage) => {
    for (const p of [...paths].sort(comparePaths)) await mkdir(join(stage, p), { recursive: true });
    for (const p of [...paths].sort(comparePaths).reverse()) await chmod(join(stage, p), wanted.get(p) ?? 0o755);
    await pushStaged(
      rsync,
      paths,
      stage,
      ['--dirs', '--perms'],
      results,
      indexOf,
      (e, p) => e?.kind === 'dir' && e.mode === wanted.get(p),
    );
  });
  return copyDuplicates(items, results);
}

export async function symlinkViaRsync(
  rsync: RsyncRunner,
  items: readonly { path: string; target: string }[],
): Promise<ItemResult[]> {
  rsync.assertOpen();
  const results: ItemResult[] = items.map((it) => ({ path: it.path }));
  const { paths, indexOf, picked } = uniqueSafe(items, results, 'create', false);
  const targets = new Map(picked.map((it) => [it.path, it.target]));
  await withStage(async (stage) => {
    for (const it of picked) {
      await mkdir(join(stage, parentOf(it.path)), { recursive: true });
      await symlink(it.target, join(stage, it.path));
    }
    await pushStaged(
      rsync,
      paths,
      stage,
      ['--links'],
      results,
      indexOf,
      (e, p) => e?.kind === 'symlink' && e.target === targets.get(p),
    );
  });
  return copyDuplicates(items, results);
}

/**
 * Removes files, symlinks and whole trees; a missing path is success. Items with `expected`
 * are removed with `--backup --backup-dir`: everything rsync deletes is moved aside and then
 * settled against what the plan saw (rsync-backups.ts), so an entry edited or added on the
 * server since the scan is kept as a conflict copy (`keptServerCopy`) instead of deleted;
 * with `trash`, what matches goes to the trash.
 */
export async function removeViaRsync(
  rsync: RsyncRunner,
  items: readonly RemoveItem[],
  settler?: AsideSettler,
): Promise<ItemResult[]> {
  rsync.assertOpen();
  const results: ItemResult[] = items.map((it) => ({ path: it.path }));
  const { paths: all, indexOf: allIndex } = uniqueSafe(items, results, 'remove', false);
  // An item inside another removed item goes with it (staging its parent would keep the ancestor alive).
  const outer = new Set(outermost(all));
  const keep = all.map((p) => outer.has(p));
  const paths = all.filter((_, j) => keep[j]);
  const indexOf = allIndex.filter((_, j) => keep[j]);
  const checkedItems = indexOf.map((i) => items[i] as RemoveItem).filter((it) => it.expected !== undefined);
  const place = checkedItems.length ? await backupPlace(rsync, settler, sharedTrash(checkedItems), paths) : undefined;
  const backupDir = place?.dir;
  await withStage(async (stage) => {
    for (const p of paths) await mkdir(join(stage, parentOf(p)), { recursive: true });
    await pushStaged(
      rsync,
      paths,
      stage,
      // --perms --times: where rsync must copy an entry into the backup (it could not move
      // it), the copy keeps the mode and mtime the settling compares.
      ['--delete-missing-args', '--force', ...(backupDir ? [...backupArgs(backupDir), '--perms', '--times'] : [])],
      results,
      indexOf,
      (e) => e === undefined,
      true,
    );
  });
  if (place !== undefined) {
    const aside = indexOf.map((i) => {
      const it = items[i] as RemoveItem;
      if (it.expected === undefined) return { path: it.path };
      return { path: it.path, expected: it.expected, ...(it.trash !== undefined ? { trash: it.trash } : {}) };
    });
    const settled = await settleBackups(rsync, settler, place, aside, new Date());
    indexOf.forEach((i, j) => {
      const s = settled[j];
      const r = results[i] as ItemResult;
      if (s?.keptServerCopy) r.keptServerCopy = s.keptServerCopy;
      if (s?.error !== undefined && r.error === undefined) {
        r.error = s.error;
        r.errorCode = 'other';
      }
    });
  }
  all.forEach((p, j) => {
    if (keep[j]) return;
    const owner = paths.findIndex((o) => isWithin(p, o));
    const r = results[indexOf[owner] as number] as ItemResult;
    results[allIndex[j] as number] = { ...r, path: p };
  });
  return copyDuplicates(items, results);
}

/** Runs a staged push for simple items and fills `results`, verifying when rsync reported trouble. */
async function pushStaged(
  rsync: RsyncRunner,
  paths: string[],
  stage: string,
  args: string[],
  results: ItemResult[],
  indexOf: number[],
  isDone: (entry: Entry | undefined, path: string) => boolean,
  absentIsSuccess = false,
): Promise<void> {
  if (paths.length === 0) return;
  const out = await rsync.push(stage, paths, args);
  const verify: number[] = [];
  paths.forEach((p, j) => {
    const err = out.errors.get(j);
    const i = indexOf[j] as number;
    if (err && !(absentIsSuccess && ABSENT.test(err.message))) results[i] = { path: p, ...failure(err.message) };
    else if (out.code !== 0) verify.push(j);
  });
  if (verify.length === 0) return;
  const seen =
    (await rsync.list(
      verify.map((j) => paths[j] as string),
      false,
    )) ?? new Map<string, Entry>();
  for (const j of verify) {
    const p = paths[j] as string;
    if (!isDone(seen.get(p), p))
      results[indexOf[j] as number] = {
        path: p,
        ...failure(`rsync did not confirm this change: ${out.general.join(' ')}`),
      };
  }
}

/** Safe, de-duplicated paths of a batch (errors for unsafe ones go straight into `results`). */
function uniqueSafe<T extends { path: string }>(
  items: readonly T[],
  results: ItemResult[],
  verb: string,
  allowRoot = true,
): { paths: string[]; indexOf: number[]; picked: T[] } {
  const paths: string[] = [];
  const indexOf: number[] = [];
  const picked: T[] = [];
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (!isSafeRelPath(it.path) || (!allowRoot && it.path === '')) {
      results[i] = {
        path: it.path,
        error: `Refusing to ${verb} the unsafe path ${JSON.stringify(it.path)}.`,
        errorCode: 'other',
      };
    } else if (!seen.has(it.path)) {
      seen.add(it.path);
      paths.push(it.path);
      indexOf.push(i);
      picked.push(it);
    }
  });
  return { paths, indexOf, picked };
}

/** Later duplicates of a path share the first occurrence's result. */
function copyDuplicates(items: readonly { path: string }[], results: ItemResult[]): ItemResult[] {
  const first = new Map<string, ItemResult>();
  return items.map((it, i) => {
    const r = results[i] as ItemResult;
    const earlier = first.get(it.path);
    if (earlier && isSafeRelPath(it.path)) return { ...earlier };
    first.set(it.path, r);
    return r;
  });
}
