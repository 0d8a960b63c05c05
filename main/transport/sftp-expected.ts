/**
 * Replacing and removing server entries without destroying what no longer matches the plan
 * (Mutagen's ensureExpected*, STYLE.md point 6). The entry goes aside first with one atomic
 * rename to a temp name in its directory; what was moved aside is then compared with what
 * the plan expected there. What matches is removed; anything else (an edit made on the
 * server after the scan, a file created in a directory being removed) is kept next to the
 * original path as a conflict copy, and reported. No moment exists at which a server change
 * can be overwritten or deleted unseen: after the move aside, nobody else writes to the
 * aside name.
 *
 * The price: between the move aside and the landing of the new version, the path is briefly
 * absent on the server (a posix-rename over it would be atomic, but would destroy an edit
 * made after the check).
 */
import { posix } from 'node:path';
import { asideNameFor } from '../core/temp-name.ts';
import { conflictCopyName } from '../core/conflict-name.ts';
import { joinRel, matchesExpected, type Entry } from '../core/tree.ts';
import { mapLimit } from '../core/map-limit.ts';
import { isNoSuchFile } from './sftp-session.ts';
import { entryOf, type SftpSite } from './sftp-land.ts';
import type { AsideItem, KeptServerCopy, SettledAside, UploadItem, UploadResult } from './transport.ts';
import { renameOver } from './sftp-land.ts';

/**
 * Moves whatever is at `rel` to its aside name (core/temp-name.ts asideNameFor) in its
 * directory. Returns the absolute aside path, or undefined when nothing was there. Fails
 * while an earlier aside of the same name is left over (the next pass settles it first).
 */
export async function moveAside(site: SftpSite, rel: string): Promise<string | undefined> {
  const path = site.abs(rel);
  const aside = posix.join(posix.dirname(path), asideNameFor(posix.basename(path)));
  try {
    await site.session.rename(path, aside);
  } catch (err) {
    if (isNoSuchFile(err)) return undefined;
    throw err;
  }
  return aside;
}

/**
 * Settles what {@link moveAside} moved from `rel`: every entry that matches `expected`
 * (relative paths at and below `rel`, as the plan saw them) is removed; if anything else is
 * left, the rest is renamed to a conflict copy of `rel` and returned.
 */
export async function settleAside(
  site: SftpSite,
  rel: string,
  aside: string,
  expected: ReadonlyMap<string, Entry>,
  now: Date,
  trash?: string,
): Promise<KeptServerCopy | undefined> {
  const top = await statEntry(site, aside);
  if (top === undefined) return undefined;
  const clean = await removeMatching(site, aside, rel, top, expected, trash);
  if (clean) return undefined;
  const copy = await renameToConflictCopy(site, aside, rel, now);
  return { path: rel, copy, found: top };
}

/** Removes `rel` if it is what `expected` says; keeps what differs as a conflict copy. Missing is fine. */
export async function removeExpected(
  site: SftpSite,
  rel: string,
  expected: ReadonlyMap<string, Entry>,
  now: Date,
  trash?: string,
): Promise<KeptServerCopy | undefined> {
  const aside = await moveAside(site, rel);
  return aside === undefined ? undefined : settleAside(site, rel, aside, expected, now, trash);
}

/** Stands for "whatever is there": {@link removeMatching} removes it all. */
const ANY = Symbol('any entry');

/**
 * Removes the entry at `abs` (standing for `rel`) and below where it matches; true when
 * nothing is left. With `trash`, files and links that match are moved to `<trash>/<rel>`
 * (the server's own rename) instead of being deleted.
 */
async function removeMatching(
  site: SftpSite,
  abs: string,
  rel: string,
  found: Entry,
  expected: ReadonlyMap<string, Entry> | typeof ANY,
  trash?: string,
): Promise<boolean> {
  if (expected !== ANY && !matchesExpected(found, expected.get(rel))) return false;
  if (found.kind !== 'dir') {
    if (trash !== undefined) {
      await moveToTrash(site, abs, joinRel(trash, rel));
      return true;
    }
    await site.session.unlink(abs).catch((err: unknown) => {
      if (!isNoSuchFile(err)) throw err;
    });
    return true;
  }
  let clean = true;
  for (const item of await site.session.readdir(abs)) {
    if (item.filename === '.' || item.filename === '..') continue;
    const childAbs = `${abs}/${item.filename}`;
    let child = entryOf(item.attrs);
    if (child?.kind === 'symlink') child = { kind: 'symlink', target: await site.session.readlink(childAbs) };
    if (
      child === undefined ||
      !(await removeMatching(site, childAbs, joinRel(rel, item.filename), child, expected, trash))
    )
      clean = false;
  }
  if (!clean) return false;
  await site.session.rmdir(abs).catch((err: unknown) => {
    if (!isNoSuchFile(err)) throw err;
  });
  return true;
}

/** Renames `abs` to `trashRel` (relative), creating the trash directories it needs. Never overwrites. */
async function moveToTrash(site: SftpSite, abs: string, trashRel: string): Promise<void> {
  const parts = trashRel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = site.abs(parts.slice(0, i).join('/'));
    await site.session.mkdir(dir, { mode: 0o700 }).catch(async (err: unknown) => {
      const st = await site.session.lstat(dir).catch(() => undefined);
      if (!st || !entryOf(st) || entryOf(st)?.kind !== 'dir') throw err;
    });
  }
  // The same path trashed twice within one stamp (two passes in one second): ~2, ~3, ...
  for (let n = 1; ; n++) {
    const target = site.abs(n === 1 ? trashRel : `${trashRel}.~${n}`);
    try {
      await site.session.rename(abs, target);
      return;
    } catch (err) {
      const taken = await site.session.lstat(target).then(
        () => true,
        () => false,
      );
      if (!taken || n >= 20) throw err;
    }
  }
}

export async function statEntry(site: SftpSite, abs: string): Promise<Entry | undefined> {
  let st;
  try {
    st = await site.session.lstat(abs);
  } catch (err) {
    if (isNoSuchFile(err)) return undefined;
    throw err;
  }
  const e = entryOf(st);
  if (e?.kind === 'symlink') return { kind: 'symlink', target: await site.session.readlink(abs) };
  // Not a file, directory or link (a FIFO on the server): never Ferry's; keep it.
  return e ?? { kind: 'file', size: -1, mtimeMs: 0, mode: st.mode & 0o7777 };
}

/**
 * Renames `aside` to `name.ferry-conflict-STAMP[-N].ext` next to `rel` (`first`, when given,
 * is tried first), with a plain rename that never overwrites: a name that is taken (two
 * conflicts on one file in one second) moves on to the next counter.
 */
async function renameToConflictCopy(
  site: SftpSite,
  aside: string,
  rel: string,
  now: Date,
  first?: string,
): Promise<string> {
  const tried = new Set<string>();
  for (;;) {
    const copy =
      first !== undefined && !tried.has(first) ? first : conflictCopyName(rel, now, (p) => tried.has(p) || p === first);
    try {
      await site.session.rename(aside, site.abs(copy));
      return copy;
    } catch (err) {
      const taken = await site.session.lstat(site.abs(copy)).then(
        () => true,
        () => false,
      );
      if (!taken || tried.size >= 50) throw err;
      tried.add(copy);
    }
  }
}

/**
 * Puts the finished temp file `temp` at `item.path`. With `item.replaces` set, nothing the
 * plan did not expect there is destroyed: the old entry goes aside first and is settled
 * against the expectation after the landing, and a plain (never overwriting) rename lands
 * the new one; if something appeared at the path meanwhile, the upload is dropped
 * (`serverChanged`: the next pass sees it). Without `replaces`, the new file is renamed over
 * whatever is there.
 */
export async function landUpload(
  site: SftpSite,
  item: UploadItem,
  temp: string,
): Promise<Pick<UploadResult, 'conflictCopyPath' | 'keptServerCopy' | 'serverChanged'>> {
  const target = site.abs(item.path);
  if (item.conflictCopyPath !== undefined) {
    try {
      await site.session.rename(target, site.abs(item.conflictCopyPath));
    } catch (err) {
      if (!isNoSuchFile(err)) throw err;
    }
    if (item.replaces === undefined) await renameOver(site.session, temp, target);
    else if (!(await landNew(site, temp, target))) return { serverChanged: true };
    return { conflictCopyPath: item.conflictCopyPath };
  }
  if (item.replaces === undefined) {
    await renameOver(site.session, temp, target);
    return {};
  }
  const aside = item.replaces === null ? undefined : await moveAside(site, item.path);
  let landed: boolean;
  try {
    landed = await landNew(site, temp, target);
  } catch (err) {
    // Put the server's version back where it was (never over anything).
    if (aside !== undefined) await site.session.rename(aside, target).catch(() => undefined);
    throw err;
  }
  const expected = new Map<string, Entry>(item.replaces === null ? [] : [[item.path, item.replaces]]);
  const kept =
    aside === undefined ? undefined : await settleAside(site, item.path, aside, expected, new Date(), item.trash);
  return { ...(kept ? { keptServerCopy: kept } : {}), ...(landed ? {} : { serverChanged: true }) };
}

/** Plain rename of `temp` to `target`; false (and `temp` removed) when something is at `target` now. */
async function landNew(site: SftpSite, temp: string, target: string): Promise<boolean> {
  try {
    await site.session.rename(temp, target);
    return true;
  } catch (err) {
    const occupied = await site.session.lstat(target).then(
      () => true,
      () => false,
    );
    if (!occupied) throw err;
    await site.session.unlink(temp).catch(() => undefined);
    return false;
  }
}

/**
 * Settles what another transport moved into the aside directory `dir` (relative; rsync's
 * `--backup-dir`): each item's entry at `<dir>/<path>` is compared with what the plan
 * expected and removed (moved to the item's `trash`, when it has one) or kept as a conflict
 * copy exactly as {@link settleAside} does; an item with `keepAs` is kept under that name; an
 * item without `expected` is discarded (or trashed). Then
 * the directories left empty in `dir` are removed (never a file: what could not be settled
 * stays there, under Ferry's aside prefix, which is ignored and never cleaned up).
 */
export async function settleAsideDir(
  site: SftpSite,
  dir: string,
  items: readonly AsideItem[],
  now: Date,
): Promise<SettledAside[]> {
  const root = site.abs(dir);
  const found = new Set<string>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    let list;
    try {
      list = await site.session.readdir(abs);
    } catch (err) {
      if (isNoSuchFile(err)) return;
      throw err;
    }
    const dirs: [string, string][] = [];
    for (const e of list) {
      if (e.filename === '.' || e.filename === '..') continue;
      const childRel = joinRel(rel, e.filename);
      found.add(childRel);
      if (entryOf(e.attrs)?.kind === 'dir') dirs.push([`${abs}/${e.filename}`, childRel]);
    }
    await mapLimit(dirs, 8, ([a, r]) => walk(a, r));
  };
  await walk(root, '');
  if (found.size === 0) {
    await site.session.rmdir(root).catch(() => undefined);
    return items.map(() => ({}));
  }
  const results = await mapLimit(items, 16, async (it): Promise<SettledAside> => {
    if (!found.has(it.path)) return {};
    const aside = `${root}/${it.path}`;
    try {
      if (it.keepAs !== undefined) {
        const top = await statEntry(site, aside);
        if (top === undefined) return {};
        const copy = await renameToConflictCopy(site, aside, it.path, now, it.keepAs);
        return { keptServerCopy: { path: it.path, copy, found: top } };
      }
      const top = await statEntry(site, aside);
      if (top === undefined) return {};
      if (it.expected === undefined) {
        await removeMatching(site, aside, it.path, top, ANY, it.trash);
        return {};
      }
      const kept = await settleAside(site, it.path, aside, it.expected, now, it.trash);
      return kept ? { keptServerCopy: kept } : {};
    } catch (err) {
      return { error: (err as Error).message };
    }
  });
  await pruneEmptyDirs(site, root);
  return results;
}

/** Removes `abs` and the directories below it that are (or become) empty; files are never touched. */
async function pruneEmptyDirs(site: SftpSite, abs: string): Promise<void> {
  let list;
  try {
    list = await site.session.readdir(abs);
  } catch {
    return;
  }
  for (const e of list)
    if (e.filename !== '.' && e.filename !== '..' && entryOf(e.attrs)?.kind === 'dir')
      await pruneEmptyDirs(site, `${abs}/${e.filename}`);
  await site.session.rmdir(abs).catch(() => undefined);
}
