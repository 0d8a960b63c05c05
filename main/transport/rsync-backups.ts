/**
 * Check before overwrite on the rsync path (STYLE.md point 6). A run that replaces or deletes
 * server entries gets `--backup --backup-dir=<a fresh aside directory below the root>`: rsync
 * then moves (deletions) or hard-links (replacements, an instant before it renames the new
 * file into place) every entry it destroys into that directory, whenever during the run that
 * happens, so an edit made on the server after the scan is never lost, however long the run.
 * Afterwards each backup is compared with what the plan expected there, exactly as
 * sftp-expected.ts does with its moves aside: what matches is deleted, anything else becomes
 * a conflict copy `name.ferry-conflict-STAMP[-N].ext` next to the original, never over an
 * existing name.
 *
 * Moving a backup to its conflict name needs a server-side rename. When the server has SFTP
 * (`--transport auto`, where rsync carries the delta and bulk uploads) the SFTP transport does
 * the settling ({@link AsideSettler}). rsync alone cannot rename: there the backup directory
 * is listed (one run), and only if something differs, the differing entries are pulled to a
 * local stage, pushed under their conflict names (`--ignore-existing`) and then deleted with
 * the rest of the backup directory (three more runs, and the bytes of the kept entries twice).
 *
 * The directory's name has Ferry's aside prefix: ignored by every scan and never cleaned up
 * by itself, so a connection lost before the settling leaves the server's versions there
 * rather than deleting them.
 *
 * With `--trash`, what matches goes to the trash instead of being deleted. Settled over SFTP,
 * that is a rename of each match into the items' trash directory. rsync alone cannot rename,
 * so there the backup directory is the trash stamp itself (rsync-trash.ts): matches simply
 * stay, and only what differs is taken out again, as a conflict copy.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { conflictCopyName } from '../core/conflict-name.ts';
import { ASIDE_PREFIX } from '../core/temp-name.ts';
import { isWithin, joinRel, parentOf, type Entry } from '../core/tree.ts';
import type { RsyncRunner } from './rsync-runner.ts';
import { withStage } from './rsync-stage.ts';
import { freeTrashDir } from './rsync-trash.ts';
import { matchesExpected } from '../core/tree.ts';
import type { AsideItem, AsideSettler, SettledAside } from './transport.ts';

/** A fresh backup directory name, relative to the remote root. */
export function backupDirName(): string {
  return `${ASIDE_PREFIX}rsync-${randomBytes(8).toString('hex')}`;
}

/** rsync's arguments that move every destroyed entry into `dir`. */
export function backupArgs(dir: string): string[] {
  return ['--backup', `--backup-dir=${dir}`];
}

/** Where a checked run's backups go: `dir`, which is the trash stamp itself when `inTrash`. */
export interface BackupPlace {
  dir: string;
  inTrash: boolean;
}

/**
 * The backup directory for a checked run that may destroy `paths`: with a `trash` and no
 * SFTP to settle, a trash stamp that holds none of them (rsync-trash.ts); else a fresh
 * aside directory (SFTP moves what matches into the items' trash when settling).
 */
export async function backupPlace(
  rsync: RsyncRunner,
  settler: AsideSettler | undefined,
  trash: string | undefined,
  paths: readonly string[],
): Promise<BackupPlace> {
  if (trash === undefined || settler) return { dir: backupDirName(), inTrash: false };
  return { dir: await freeTrashDir(rsync, trash, paths), inTrash: true };
}

/** The trash directory a run's checked items share; undefined when none has one or they differ. */
export function sharedTrash(items: readonly { trash?: string | undefined }[]): string | undefined {
  const all = new Set(items.map((it) => it.trash));
  return all.size === 1 ? [...all][0] : undefined;
}

/** Settles the backups in `place`, through `settler` (SFTP) when there is one, else with rsync alone. */
export function settleBackups(
  rsync: RsyncRunner,
  settler: AsideSettler | undefined,
  place: BackupPlace,
  items: readonly AsideItem[],
  now: Date,
): Promise<SettledAside[]> {
  return settler && !place.inTrash
    ? settler.settleAside(place.dir, items, now)
    : settleWithRsync(rsync, place, items, now);
}

/** Conflict-name candidates tried per kept entry in one listing; a 21st conflict in one second fails (and keeps the backup). */
const CANDIDATES = 20;

/**
 * Settles with rsync runs alone. In the trash (`place.inTrash`) only what was kept as a
 * conflict copy is deleted from `place.dir` (the outermost entries that differ); everything
 * else stays there. Elsewhere the settled backups are deleted, `dir` too when all are.
 */
async function settleWithRsync(
  rsync: RsyncRunner,
  place: BackupPlace,
  items: readonly AsideItem[],
  now: Date,
): Promise<SettledAside[]> {
  const { dir, inTrash } = place;
  const results: SettledAside[] = items.map(() => ({}));
  // The trash holds more than this run's backups: only the items' paths in it are listed.
  const listed = await rsync.list(inTrash ? items.map((it) => joinRel(dir, it.path)) : [dir], true);
  if (!listed || listed.size === 0) return results; // rsync destroyed nothing
  const at = (rel: string) => listed.get(joinRel(dir, rel));
  const below = (rel: string) => [...listed.keys()].filter((k) => isWithin(k, joinRel(dir, rel))).map(strip(dir));

  // What to keep of each item: relative paths (the item's own first), or nothing; and the
  // outermost of them that differ (what leaves the trash once kept).
  const keep = new Map<number, string[]>();
  const differs = new Map<number, string[]>();
  items.forEach((it, i) => {
    const top = at(it.path);
    if (top === undefined || (it.keepAs === undefined && it.expected === undefined)) return;
    const expected = it.expected ?? new Map<string, Entry>();
    const kept = it.keepAs !== undefined ? below(it.path) : keptOf(it.path, top, expected, below, at);
    if (!kept.length) return;
    keep.set(i, kept);
    differs.set(i, it.keepAs !== undefined ? [it.path] : differing(it.path, top, expected, below, at));
  });

  const settled = new Set<number>(items.keys());
  if (keep.size) {
    const names = await freeNames(rsync, items, [...keep.keys()], now);
    await withStage(async (stage) => {
      const pulled = join(stage, 'pull');
      const staged = join(stage, 'push');
      await mkdir(pulled);
      await mkdir(staged);
      const wanted = [...keep.values()].flat().map((rel) => joinRel(dir, rel));
      const pull = await rsync.pull(pulled, wanted, ['--links', '--perms', '--times', '--dirs']);
      const copies: string[] = [];
      const copyOf = new Map<string, number>();
      for (const [i, kept] of keep) {
        const it = items[i] as AsideItem;
        const copy = names.get(i);
        const failedPull = kept.some((rel) => pull.errors.has(wanted.indexOf(joinRel(dir, rel))));
        if (copy === undefined || failedPull || pull.code !== 0) {
          settled.delete(i);
          results[i] = {
            error: `the server's version of ${it.path} changed since the scan and could not be kept as a conflict copy (${
              copy === undefined ? 'no free conflict copy name' : pull.general.join(' ') || 'rsync could not fetch it'
            }); it stays in ${joinRel(dir, it.path)}`,
          };
          continue;
        }
        await mkdir(dirname(join(staged, copy)), { recursive: true });
        await rename(join(pulled, dir, it.path), join(staged, copy));
        copies.push(copy);
        copyOf.set(copy, i);
      }
      if (copies.length === 0) return;
      const sent = new Set<string>();
      const push = await rsync.push(
        staged,
        copies,
        ['--recursive', '--links', '--perms', '--times', '--ignore-existing'],
        (r) => sent.add(r.path),
      );
      copies.forEach((copy, j) => {
        const i = copyOf.get(copy) as number;
        const it = items[i] as AsideItem;
        const expectedSent = (keep.get(i) as string[]).map((rel) => copy + rel.slice(it.path.length));
        const missing = expectedSent.filter((p) => !sent.has(p) && at(it.path + p.slice(copy.length))?.kind !== 'dir');
        const err = push.errors.get(j)?.message ?? (missing.length ? `${missing[0]} was not written` : undefined);
        if (err === undefined) {
          const top = at(it.path);
          results[i] = { keptServerCopy: { path: it.path, copy, found: top } };
        } else {
          settled.delete(i);
          results[i] = {
            error: `the server's version of ${it.path} could not be kept as ${copy}: ${err}; it stays in ${joinRel(dir, it.path)}`,
          };
        }
      });
    });
  }
  // Delete the backups that are settled: the whole directory when all are. In the trash, only
  // what now lives on as a conflict copy.
  const doomed = inTrash
    ? [...differs].filter(([i]) => settled.has(i)).flatMap(([, roots]) => roots.map((r) => joinRel(dir, r)))
    : settled.size === items.length
      ? [dir]
      : [...settled].map((i) => joinRel(dir, (items[i] as AsideItem).path));
  await deletePaths(
    rsync,
    doomed.filter((p) => p === dir || listed.has(p)),
  );
  return results;
}

/**
 * The entries of the backup of `rel` that differ from `expected`, as sftp-expected.ts keeps
 * them: nothing when everything matches; all of it when the entry itself differs; for a
 * directory that matches, the directory with whatever differs below it.
 */
function keptOf(
  rel: string,
  top: Entry,
  expected: ReadonlyMap<string, Entry>,
  below: (rel: string) => string[],
  at: (rel: string) => Entry | undefined,
): string[] {
  if (!matchesExpected(top, expected.get(rel))) return below(rel);
  if (top.kind !== 'dir') return [];
  const children = below(rel).filter((p) => parentOf(p) === rel);
  const kept = children.flatMap((c) => keptOf(c, at(c) as Entry, expected, below, at));
  return kept.length ? [rel, ...kept] : [];
}

/** The outermost entries at and below `rel` whose backup differs from `expected` (see {@link keptOf}). */
function differing(
  rel: string,
  top: Entry,
  expected: ReadonlyMap<string, Entry>,
  below: (rel: string) => string[],
  at: (rel: string) => Entry | undefined,
): string[] {
  if (!matchesExpected(top, expected.get(rel))) return [rel];
  if (top.kind !== 'dir') return [];
  const children = below(rel).filter((p) => parentOf(p) === rel);
  return children.flatMap((c) => differing(c, at(c) as Entry, expected, below, at));
}

/** A free conflict-copy name for each item in `which` (by a listing of candidates); absent when none was free. */
async function freeNames(
  rsync: RsyncRunner,
  items: readonly AsideItem[],
  which: number[],
  now: Date,
): Promise<Map<number, string>> {
  const candidates = new Map<number, string[]>();
  for (const i of which) {
    const it = items[i] as AsideItem;
    const tried = new Set<string>(it.keepAs !== undefined ? [it.keepAs] : []);
    const list = [...tried];
    while (list.length < CANDIDATES) {
      const name = conflictCopyName(it.path, now, (p) => tried.has(p));
      tried.add(name);
      list.push(name);
    }
    candidates.set(i, list);
  }
  const taken = (await rsync.list([...candidates.values()].flat(), false)) ?? new Map<string, Entry>();
  const chosen = new Set<string>();
  const names = new Map<number, string>();
  for (const [i, list] of candidates) {
    const name = list.find((n) => !taken.has(n) && !chosen.has(n));
    if (name === undefined) continue;
    chosen.add(name);
    names.set(i, name);
  }
  return names;
}

/** Deletes `paths` (relative; whole trees) with one staged rsync run, no backup. Best effort. */
async function deletePaths(rsync: RsyncRunner, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  await withStage(async (stage) => {
    for (const p of paths) await mkdir(join(stage, parentOf(p)), { recursive: true });
    await rsync.push(stage, paths, ['--delete-missing-args', '--force']);
  });
}

const strip = (dir: string) => (p: string) => p.slice(dir.length + 1);

export type { AsideItem, SettledAside };
