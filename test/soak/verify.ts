/**
 * The soak's end-of-run checks for one folder: the server's copy equals the local folder
 * byte for byte (content, mode, mtime seconds, symlink targets), no Ferry temp file is left
 * on the server, and every conflict copy on the server was written to the conflict log.
 *
 * With the server driver's ledger (server-edits.ts), two more things, both exact:
 * - No server edit was lost. Every version the driver wrote on the server and did not itself
 *   replace or delete later ("live") is still on the server: at a plain path (where it was
 *   written, or where a rename of Ferry's took it), inside a logged conflict copy, or in a
 *   kept area such as the trash (KEPT_AREAS: pluggable; the trash finds nothing until Ferry
 *   has one). A live version found nowhere is a difference ("server edit lost"), and so is
 *   one found only under a name Ferry reserves (`.ferry-aside-*`, ...: kept, but with no
 *   record).
 * - Nothing else differs. A server file holding a live version is accounted, and so is the
 *   local file at the same path (push mode leaves a server-only change alone: drift); a
 *   directory absent locally is accounted while all it holds is accounted; a local file the
 *   driver deleted on the server after Ferry's last full pass (`unseenDeletesSince`) is
 *   accounted, since only a full pass looks for server-side deletes (the final `--once`
 *   restores them). Everything else is compared as before.
 *
 * Content is matched by SHA-256: every version the driver writes is random and at least 16
 * bytes, so a hash names one version; local files never come from the server in push mode.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { diffTrees, ferryTempFiles, readTree, type TreeEntry } from '../harness/trees.ts';
import type { ServerChange } from './server-edits.ts';

/** Where a server version was found at the end, per live change (see verifyFolder). */
export interface ServerEditAccount {
  /** Changes the driver made that landed. */
  changes: number;
  /** Versions the driver itself replaced or deleted later (nothing to find). */
  superseded: number;
  /** Live versions at the path they were written to. */
  atPath: number;
  /** Live versions at another plain path (a directory rename of Ferry's took them along). */
  elsewhere: number;
  /** Live versions inside a logged conflict copy. */
  conflictCopy: number;
  /** Live versions in a kept area, by area name (the trash). */
  kept: Record<string, number>;
  /** Directories absent locally, left empty on the server after the server's user removed what it wrote there. */
  emptiedDirs: string[];
  /** Where the `elsewhere` ones were written and found ("from" -> "to"). */
  moved: string[];
  /** Files in each kept area (the trash), whatever they hold. */
  areaFiles: Record<string, number>;
  /** Live versions found nowhere, or only under an aside name: each is a difference. */
  lost: number;
  /** Local files the driver deleted on the server after Ferry's last full pass. */
  unseenDeletes: number;
}

export interface FolderVerdict {
  /** Readable differences; empty when the server's copy is right. */
  differences: string[];
  /** Conflict copies found on the server that the log explains. */
  loggedConflictCopies: string[];
  /** Records in the folder's conflict log. */
  conflictRecords: number;
  serverEdits: ServerEditAccount;
  /** Paths accounted as server deletes Ferry has not seen yet (see ServerLedger.unseenDeletesSince). */
  unseenDeletes: string[];
}

/** The server driver's changes in one folder. */
export interface ServerLedger {
  changes: readonly ServerChange[];
  /**
   * Server deletes made at or after this time (ms) may not have been seen by Ferry: only a full
   * pass looks for them. Undefined: every delete must have been seen (after a final `--once`).
   */
  unseenDeletesSince?: number;
}

/**
 * A place where Ferry keeps server versions instead of destroying them, other than conflict
 * copies: its subtree is left out of the comparison and counts as keeping what it holds.
 */
export interface KeptArea {
  name: string;
  /** The area's directory: a name at the top of the remote folder, one Ferry reserves (`.ferry-*`). */
  root: string;
  /** Entries directly in `root` that have no business there (readable problems). */
  misplaced?(names: string[]): string[];
}

/** The server trash of issue 15 (`<remote>/.ferry-trash/<UTC stamp>/<path>`); empty until Ferry has one. */
export const TRASH: KeptArea = {
  name: 'trash',
  root: '.ferry-trash',
  misplaced: (names) =>
    names
      .filter((n) => !/^\d{8}-\d{6}$/.test(n))
      .map((n) => `not a trash stamp: ${JSON.stringify(`.ferry-trash/${n}`)}`),
};
export const KEPT_AREAS: readonly KeptArea[] = [TRASH];

export interface VerifyOptions {
  conflictLog?: string;
  ledger?: ServerLedger;
  keptAreas?: readonly KeptArea[];
}

const CONFLICT_MARK = '.ferry-conflict-';
const ASIDE_PREFIX = '.ferry-aside-';
/** Names Ferry reserves for itself: a version under one counts only through a kept area. */
const FERRY_PREFIX = '.ferry-';

/** Conflict copy paths named by the log at `file` (missing log = none). */
export function loggedCopies(file: string): { copies: Set<string>; records: number } {
  const copies = new Set<string>();
  if (!existsSync(file)) return { copies, records: 0 };
  let records = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    records++;
    try {
      const r = JSON.parse(line) as { conflictCopyPath?: unknown };
      if (typeof r.conflictCopyPath === 'string') copies.add(r.conflictCopyPath);
    } catch {
      // a torn line: counted, explains nothing
    }
  }
  return { copies, records };
}

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** `p` and the directories above it, innermost first. */
function selfAndAncestors(p: string): string[] {
  const out: string[] = [];
  for (let q = p; q !== ''; q = parentOf(q)) out.push(q);
  return out;
}

/** Regular files below `dir` (not following links), with their sizes; a tree changing meanwhile is tolerated. */
function filesBelow(dir: string): { rel: string; size: number }[] {
  const out: { rel: string; size: number }[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(rel ? join(dir, rel) : dir);
    } catch {
      return;
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      try {
        const st = lstatSync(join(dir, r));
        if (st.isDirectory()) walk(r);
        else if (st.isFile()) out.push({ rel: r, size: st.size });
      } catch {
        // vanished
      }
    }
  };
  walk('');
  return out;
}

function hasChildren(tree: Map<string, TreeEntry>, dir: string): boolean {
  for (const p of tree.keys()) if (p.startsWith(`${dir}/`)) return true;
  return false;
}

/** Drops `root` and everything below it from `tree`. */
function dropSubtree(tree: Map<string, TreeEntry>, root: string): void {
  for (const p of [...tree.keys()]) if (p === root || p.startsWith(`${root}/`)) tree.delete(p);
}

export const emptyAccount = (): ServerEditAccount => ({
  changes: 0,
  superseded: 0,
  atPath: 0,
  elsewhere: 0,
  conflictCopy: 0,
  kept: {},
  areaFiles: {},
  moved: [],
  emptiedDirs: [],
  lost: 0,
  unseenDeletes: 0,
});

export function verifyFolder(local: string, remote: string, opts: VerifyOptions = {}): FolderVerdict {
  const differences: string[] = [];
  const serverEdits = emptyAccount();
  if (!existsSync(remote))
    return {
      differences: [`the remote directory ${remote} does not exist`],
      loggedConflictCopies: [],
      conflictRecords: 0,
      serverEdits,
      unseenDeletes: [],
    };
  const { copies, records } = opts.conflictLog
    ? loggedCopies(opts.conflictLog)
    : { copies: new Set<string>(), records: 0 };
  const areas = opts.keptAreas ?? KEPT_AREAS;
  const localTree = readTree(local);
  // Kept areas are read on their own below: only their files of a live version's size are hashed.
  const areaRoots = new Set(areas.map((a) => a.root));
  const remoteTree = readTree(remote, { skip: (name) => areaRoots.has(name) });

  // Where each remote path lives: in a conflict copy (logged or not), a kept area, under an aside name, or plain.
  type Place =
    | { kind: 'copy'; root: string; logged: boolean }
    | { kind: 'area'; name: string }
    | { kind: 'aside' }
    | { kind: 'reserved' }
    | { kind: 'plain' };
  const placeOf = (p: string): Place => {
    const up = selfAndAncestors(p);
    // A conflict copy inside a directory kept as a conflict copy later is covered by the outer record.
    const outer = up.filter((q) => baseOf(q).includes(CONFLICT_MARK)).at(-1);
    for (const q of up) {
      const area = areas.find((a) => a.root === q);
      if (area) return { kind: 'area', name: area.name };
      if (baseOf(q).includes(CONFLICT_MARK))
        return { kind: 'copy', root: q, logged: copies.has(q) || (outer !== undefined && copies.has(outer)) };
      if (baseOf(q).startsWith(ASIDE_PREFIX)) return { kind: 'aside' };
      if (baseOf(q).startsWith(FERRY_PREFIX)) return { kind: 'reserved' };
    }
    return { kind: 'plain' };
  };

  // 1. Every live server version is somewhere it may be.
  const changes = opts.ledger?.changes ?? [];
  serverEdits.changes = changes.length;
  const replaced = new Set(changes.flatMap((c) => (c.replaced ? [c.replaced] : [])));
  const live = new Map<string, ServerChange>();
  for (const c of changes) {
    if (!c.sha256) continue;
    if (replaced.has(c.sha256)) serverEdits.superseded++;
    else live.set(c.sha256, c);
  }
  const moved: string[] = [];
  const byHash = new Map<string, string[]>();
  const found = (hash: string, p: string) => byHash.set(hash, [...(byHash.get(hash) ?? []), p]);
  for (const [p, e] of remoteTree) if (e.kind === 'file' && e.sha256 && live.has(e.sha256)) found(e.sha256, p);
  const liveSizes = new Set([...live.values()].map((c) => c.size));
  for (const area of areas) {
    const dir = join(remote, area.root);
    if (!existsSync(dir)) continue;
    differences.push(...(area.misplaced?.(readdirSync(dir)) ?? []));
    for (const f of filesBelow(dir)) {
      serverEdits.areaFiles[area.name] = (serverEdits.areaFiles[area.name] ?? 0) + 1;
      if (!liveSizes.has(f.size)) continue;
      const hash = createHash('sha256')
        .update(readFileSync(join(dir, f.rel)))
        .digest('hex');
      if (live.has(hash)) found(hash, `${area.root}/${f.rel}`);
    }
  }
  const describe = (c: ServerChange) =>
    `${c.kind} of ${JSON.stringify(c.path)} at ${new Date(c.at).toISOString()} (sha256 ${c.sha256?.slice(0, 16)}, ${c.size} B)`;
  for (const [hash, c] of live) {
    const places = (byHash.get(hash) ?? []).map((p) => ({ p, place: placeOf(p) }));
    const plain = places.find((x) => x.place.kind === 'plain');
    const copy = places.find((x) => x.place.kind === 'copy' && x.place.logged);
    const area = places.find((x) => x.place.kind === 'area');
    if (plain) {
      if (plain.p === c.path) serverEdits.atPath++;
      else {
        serverEdits.elsewhere++;
        moved.push(`${JSON.stringify(c.path)} -> ${JSON.stringify(plain.p)}`);
      }
    } else if (copy) serverEdits.conflictCopy++;
    else if (area?.place.kind === 'area')
      serverEdits.kept[area.place.name] = (serverEdits.kept[area.place.name] ?? 0) + 1;
    else {
      serverEdits.lost++;
      const only = places.map((x) => JSON.stringify(x.p)).join(', ');
      differences.push(
        places.length
          ? `server edit kept with no conflict record: ${describe(c)} is only at ${only}`
          : `server edit lost: ${describe(c)} is not on the server, in no logged conflict copy and in no kept area (${areas.map((a) => a.name).join(', ') || 'none'})`,
      );
    }
  }

  // 2. Nothing else differs. Conflict copies and kept areas first.
  const dropped: string[] = [];
  const logged: string[] = [];
  for (const p of [...remoteTree.keys()].sort()) {
    if (!remoteTree.has(p)) continue;
    if (!baseOf(p).includes(CONFLICT_MARK)) continue;
    if (copies.has(p)) {
      logged.push(p);
      dropped.push(p);
    } else differences.push(`conflict copy not in the conflict log: ${JSON.stringify(p)}`);
    dropSubtree(remoteTree, p);
  }
  // Server files holding a live version, and the local file at the same path (drift).
  for (const [p, e] of [...remoteTree]) {
    if (e.kind !== 'file' || !e.sha256 || !live.has(e.sha256)) continue;
    remoteTree.delete(p);
    if (localTree.get(p)?.kind === 'file') localTree.delete(p);
    dropped.push(p);
  }
  // Local files deleted on the server after Ferry last looked at the whole folder.
  const unseenDeletes: string[] = [];
  const since = opts.ledger?.unseenDeletesSince;
  if (since !== undefined)
    for (const c of changes) {
      if (c.kind !== 'server-delete' || c.at < since) continue;
      if (localTree.get(c.path)?.kind !== 'file' || remoteTree.has(c.path)) continue;
      localTree.delete(c.path);
      unseenDeletes.push(c.path);
    }
  serverEdits.unseenDeletes = unseenDeletes.length;
  serverEdits.moved = moved;
  // A directory deleted locally stays on the server while it holds what the server keeps (a
  // logged conflict copy, a server version): not a difference once those are set aside, as
  // long as nothing else is left in it.
  for (const p of dropped) {
    for (let dir = parentOf(p); dir !== ''; dir = parentOf(dir)) {
      if (localTree.has(dir) || remoteTree.get(dir)?.kind !== 'dir' || hasChildren(remoteTree, dir)) break;
      remoteTree.delete(dir);
    }
  }
  // The same directory once the server's user deleted (or replaced) what kept it there: push
  // mode forgot it when it kept the server's file, and never removes what it does not know.
  // Only where the driver had a file below it: one it wrote there, or one of its own versions it
  // replaced or deleted there (a directory rename of Ferry's can have carried the file there
  // from where it was written). An empty directory anywhere else differs; so does one where the
  // driver only replaced or deleted files of Ferry's.
  const ownVersions = new Set(changes.flatMap((c) => (c.sha256 ? [c.sha256] : [])));
  const hadFileBelow = (dir: string) =>
    changes.some(
      (c) =>
        c.path.startsWith(`${dir}/`) &&
        (c.sha256 !== undefined || (c.replaced !== undefined && ownVersions.has(c.replaced))),
    );
  const serverOnlyDirs = [...remoteTree]
    .filter(([p, e]) => e.kind === 'dir' && !localTree.has(p))
    .map(([p]) => p)
    .sort((a, b) => b.split('/').length - a.split('/').length);
  const emptied: string[] = [];
  for (const dir of serverOnlyDirs)
    if (!hasChildren(remoteTree, dir) && hadFileBelow(dir)) {
      remoteTree.delete(dir);
      emptied.push(dir);
    }
  serverEdits.emptiedDirs = emptied;
  differences.push(...diffTrees(localTree, remoteTree));
  for (const t of ferryTempFiles(remote)) differences.push(`temp file left on the server: ${JSON.stringify(t)}`);
  return { differences, loggedConflictCopies: logged, conflictRecords: records, serverEdits, unseenDeletes };
}

/** Files whose name starts with `prefix` directly in `dir` (the shell-injection canaries). */
export function canaries(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(prefix));
}
