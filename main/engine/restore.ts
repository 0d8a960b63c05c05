/**
 * `ferry restore`: puts a version kept in the server trash (`--trash`, trash.ts) back, on the
 * server and in the local folder. Nothing is destroyed on the way: what the server holds at
 * the path now goes to the trash itself (a new stamp), and a local file that differs from
 * the version restored is kept as a conflict copy next to it. Files and symlinks only.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, rename, rm, symlink, utimes } from 'node:fs/promises';
import { conflictCopyName, utcStamp } from '../core/conflict-name.ts';
import { TRASH_DIR } from '../core/temp-name.ts';
import { ancestorsOf, isSafeRelPath, isWithin, type Entry } from '../core/tree.ts';
import { openTransports, type TransportOpener } from '../transport/open-transport.ts';
import type { FolderConfig } from './folder-config.ts';
import { localPathOf } from './local-scan.ts';
import { trashStamps } from './trash.ts';

export interface RestoreResult {
  /** The trash stamp restored from. */
  stamp: string;
  /** Where the server's version from before the restore went (in the trash), if there was one. */
  serverPreviousKeptAs?: string;
  /** Where the local file from before the restore was kept, if it differed. */
  localKeptAs?: string;
}

/** The trash stamps that hold a version of `rel`, oldest first. */
export async function trashVersions(
  config: FolderConfig,
  rel: string,
  deps: { openTransports?: TransportOpener } = {},
): Promise<string[]> {
  const t = await (deps.openTransports ?? openTransports)(config.endpoint, config.localRoot, 'sftp');
  try {
    const listing = (await t.main.scan([TRASH_DIR])).entries;
    return trashStamps(listing).filter((s) => listing.has(`${TRASH_DIR}/${s}/${rel}`));
  } finally {
    await t.close().catch(() => undefined);
  }
}

export async function restoreFromTrash(
  config: FolderConfig,
  rel: string,
  opts: { at?: string; now?: Date; openTransports?: TransportOpener } = {},
): Promise<RestoreResult> {
  if (rel === '' || !isSafeRelPath(rel) || isWithin(rel, TRASH_DIR))
    throw new Error(`${JSON.stringify(rel)} is not a path inside ${config.localRoot} that Ferry syncs.`);
  const now = opts.now ?? new Date();
  const t = await (opts.openTransports ?? openTransports)(config.endpoint, config.localRoot, 'sftp');
  try {
    const download = t.main.download?.bind(t.main);
    if (!download || !t.main.canRename)
      throw new Error(`Restoring needs SFTP on ${config.endpoint.displayName}; it has rsync only.`);
    const listing = (await t.main.scan([TRASH_DIR])).entries;
    const stamps = trashStamps(listing).filter((s) => listing.has(`${TRASH_DIR}/${s}/${rel}`));
    const stamp = opts.at ?? stamps[stamps.length - 1];
    if (stamp === undefined || !stamps.includes(stamp))
      throw new Error(
        stamps.length
          ? `The trash has no version of ${rel} from ${opts.at}; it has ${stamps.join(', ')}.`
          : `The trash on ${config.endpoint.displayName} has no version of ${rel}.`,
      );
    const from = `${TRASH_DIR}/${stamp}/${rel}`;
    const version = listing.get(from) as Entry;
    if (version.kind === 'dir') throw new Error(`${rel} is a directory in the trash: restore its files one by one.`);

    // Local first: if that fails, the server is untouched.
    const result: RestoreResult = { stamp };
    const localAbs = localPathOf(config.localRoot, rel);
    const temp = `${localAbs}.ferry-restore-${process.pid}`;
    if (version.kind === 'file') {
      await download(from, temp);
      await utimes(temp, version.mtimeMs / 1000, version.mtimeMs / 1000);
    } else await symlink(version.target, temp);
    const current = await lstat(localAbs).catch(() => undefined);
    if (current && !(await sameLocal(localAbs, temp, current.isSymbolicLink()))) {
      const copy = conflictCopyName(rel, now, () => false);
      await rename(localAbs, localPathOf(config.localRoot, copy));
      result.localKeptAs = copy;
    }
    await rename(temp, localAbs).catch(async (err: unknown) => {
      await rm(temp, { force: true });
      throw err;
    });

    // Then the server: what is there now goes to the trash, the version moves back.
    const there = (await t.main.scan([rel])).entries;
    const here = there.get(rel);
    if (here) {
      const trash = `${TRASH_DIR}/${utcStamp(now)}`;
      const [removed] = await t.main.remove([{ path: rel, kind: here.kind, expected: there, trash }]);
      if (removed?.error) throw new Error(`Could not move the server's ${rel} to the trash: ${removed.error}`);
      result.serverPreviousKeptAs = removed?.keptServerCopy?.copy ?? `${trash}/${rel}`;
    }
    const parents = ancestorsOf(rel).filter((p) => p !== '');
    if (parents.length) await t.main.mkdir(parents.map((p) => ({ path: p, mode: 0o755 })));
    const [moved] = await t.main.rename([{ from, to: rel }]);
    if (moved?.error) throw new Error(`Could not put ${rel} back on the server: ${moved.error}`);
    return result;
  } finally {
    await t.close().catch(() => undefined);
  }
}

/** Whether the local file (or link) at `a` has the same content as `b`. */
async function sameLocal(a: string, b: string, isLink: boolean): Promise<boolean> {
  if (isLink) return false;
  const [x, y] = await Promise.all([readFile(a).catch(() => undefined), readFile(b)]);
  const h = (d: Buffer) => createHash('sha256').update(d).digest('hex');
  return x !== undefined && h(x) === h(y);
}
