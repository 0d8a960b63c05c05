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
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { ASIDE_PREFIX } from '../core/temp-name.ts';
import { conflictCopyName } from '../core/conflict-name.ts';
import { joinRel, sameSecond, type Entry } from '../core/tree.ts';
import { isNoSuchFile } from './sftp-session.ts';
import { entryOf, type SftpSite } from './sftp-land.ts';
import type { KeptServerCopy, UploadItem, UploadResult } from './transport.ts';
import { renameOver } from './sftp-land.ts';

/** Same server entry as far as Ferry can tell: kind, and size, whole-second mtime and mode for files. */
export function matchesExpected(found: Entry, expected: Entry | undefined): boolean {
  if (!expected || found.kind !== expected.kind) return false;
  if (found.kind === 'file' && expected.kind === 'file')
    return found.size === expected.size && sameSecond(found.mtimeMs, expected.mtimeMs) && found.mode === expected.mode;
  if (found.kind === 'symlink' && expected.kind === 'symlink') return found.target === expected.target;
  return true; // directories: what matters is checked entry by entry below them
}

/**
 * Moves whatever is at `rel` to a temp name in its directory. Returns the absolute aside
 * path, or undefined when nothing was there.
 */
export async function moveAside(site: SftpSite, rel: string): Promise<string | undefined> {
  const path = site.abs(rel);
  const aside = posix.join(posix.dirname(path), `${ASIDE_PREFIX}${randomBytes(8).toString('hex')}`);
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
): Promise<KeptServerCopy | undefined> {
  const top = await statEntry(site, aside);
  if (top === undefined) return undefined;
  const clean = await removeMatching(site, aside, rel, top, expected);
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
): Promise<KeptServerCopy | undefined> {
  const aside = await moveAside(site, rel);
  return aside === undefined ? undefined : settleAside(site, rel, aside, expected, now);
}

/** Removes the entry at `abs` (standing for `rel`) and below where it matches; true when nothing is left. */
async function removeMatching(
  site: SftpSite,
  abs: string,
  rel: string,
  found: Entry,
  expected: ReadonlyMap<string, Entry>,
): Promise<boolean> {
  if (!matchesExpected(found, expected.get(rel))) return false;
  if (found.kind !== 'dir') {
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
    if (child === undefined || !(await removeMatching(site, childAbs, joinRel(rel, item.filename), child, expected)))
      clean = false;
  }
  if (!clean) return false;
  await site.session.rmdir(abs).catch((err: unknown) => {
    if (!isNoSuchFile(err)) throw err;
  });
  return true;
}

async function statEntry(site: SftpSite, abs: string): Promise<Entry | undefined> {
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
 * Renames `aside` to `name.ferry-conflict-STAMP[-N].ext` next to `rel`, with a plain rename
 * that never overwrites: a name that is taken (two conflicts on one file in one second) moves
 * on to the next counter.
 */
async function renameToConflictCopy(site: SftpSite, aside: string, rel: string, now: Date): Promise<string> {
  const tried = new Set<string>();
  for (;;) {
    const copy = conflictCopyName(rel, now, (p) => tried.has(p));
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
  const kept = aside === undefined ? undefined : await settleAside(site, item.path, aside, expected, new Date());
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
