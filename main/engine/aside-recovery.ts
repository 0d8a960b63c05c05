/**
 * Leftover asides: a server entry the transport moved aside to check it before replacing or
 * removing it (transport/sftp-expected.ts), left there because Ferry was killed or lost the
 * connection before it settled it. Each pass settles them before it reconciles, the way the
 * transport would have:
 * - the original path is empty: the aside goes back (the op never happened; it is planned
 *   again);
 * - the original path holds the new version and the aside is what the ancestor says Ferry
 *   last put there: it is removed;
 * - anything else is kept as a conflict copy of the original path, and logged.
 * The original is found by name: an aside's name is derived from the original's
 * (asideNameFor), and the candidates are the names the ancestor, the local folder and the
 * server know in that directory; the aside of such an aside (left by a settling that was
 * itself interrupted) stands for the same original. An aside whose original no name matches
 * is left alone.
 * An rsync backup directory (`.ferry-aside-rsync-*` at the root, transport/rsync-backups.ts)
 * holds its asides at their original relative paths; it is removed once nothing but
 * directories is left in it.
 */
import { conflictCopyName } from '../core/conflict-name.ts';
import { ASIDE_PREFIX, asideNameFor } from '../core/temp-name.ts';
import { baseName, joinRel, matchesExpected, parentOf, type Entry, type Snapshot } from '../core/tree.ts';
import type { ItemResult, RemoteTransport, RemoveItem } from '../transport/transport.ts';
import type { ConflictRecord } from './conflict-log.ts';

export interface AsideRecoveryPlan {
  /** Asides to put back where they were. */
  restore: { from: string; to: string }[];
  /** Asides that are Ferry's own last version, replaced since: removed if still exactly that. */
  discard: (RemoveItem & { original: string })[];
  /** Asides kept as conflict copies of their original path. */
  keep: { from: string; to: string; path: string; found: Entry }[];
  /** Emptied rsync backup directories, removed after the rest (only if nothing but directories is left). */
  cleanup: RemoveItem[];
}

/** Prefix of an rsync backup directory at the root (transport/rsync-backups.ts). */
const RSYNC_BACKUP_PREFIX = `${ASIDE_PREFIX}rsync-`;

/**
 * How many asides deep a leftover is still traced to its original: each level needs another
 * settling interrupted between its move aside and its removal.
 */
const ASIDE_CHAIN = 4;

/** True for a path whose last segment is an aside name. */
export const isAside = (path: string): boolean => baseName(path).startsWith(ASIDE_PREFIX);

/** Pure: what to do with the asides in `remote` (a raw scan, asides included). */
export function planAsideRecovery(remote: Snapshot, ancestor: Snapshot, local: Snapshot, now: Date): AsideRecoveryPlan {
  const plan: AsideRecoveryPlan = { restore: [], discard: [], keep: [], cleanup: [] };
  const taken = new Set(remote.keys());
  for (const [dir, e] of remote)
    if (e.kind === 'dir' && !dir.includes('/') && dir.startsWith(RSYNC_BACKUP_PREFIX))
      settleBackupDir(plan, dir, remote, ancestor, now, taken);
  const asides = [...remote.keys()].filter((p) => isAside(p) && !parentOf(p).split('/').some(isAsideSegment));
  if (asides.length === 0) return plan;
  const dirs = new Set(asides.map(parentOf));
  /** dir -> aside name -> the original's name. */
  const originals = new Map<string, Map<string, string>>();
  for (const snapshot of [ancestor, local, remote])
    for (const p of snapshot.keys()) {
      if (p === '' || isAside(p) || !dirs.has(parentOf(p))) continue;
      const byAside = originals.get(parentOf(p)) ?? new Map<string, string>();
      originals.set(parentOf(p), byAside);
      // Settling an aside is itself a checked removal that moves it aside first, so one
      // interrupted there leaves the aside of the aside (seed 1203210): it stands for the
      // same original, and so on down the chain.
      for (let i = 0, aside = baseName(p); i < ASIDE_CHAIN; i++) {
        aside = asideNameFor(aside);
        byAside.set(aside, baseName(p));
      }
    }
  for (const a of asides) {
    const name = originals.get(parentOf(a))?.get(baseName(a));
    const found = remote.get(a);
    if (name === undefined || found === undefined) continue;
    settleOne(plan, a, joinRel(parentOf(a), name), found, remote, ancestor, now, taken);
  }
  return plan;
}

/** The rule for one aside `a` of `path` (see the module comment). */
function settleOne(
  plan: AsideRecoveryPlan,
  a: string,
  path: string,
  found: Entry,
  remote: Snapshot,
  ancestor: Snapshot,
  now: Date,
  taken: Set<string>,
): void {
  // `taken`, not the scan: two asides of one path (one of them an aside's aside) go back once.
  if (!taken.has(path) && remote.get(parentOf(path))?.kind === 'dir') {
    taken.add(path);
    plan.restore.push({ from: a, to: path });
    return;
  }
  const last = ancestor.get(path);
  if (found.kind !== 'dir' && last !== undefined && matchesExpected(found, last)) {
    plan.discard.push({ path: a, kind: found.kind, expected: new Map([[a, found]]), original: path });
    return;
  }
  const copy = conflictCopyName(path, now, (p) => taken.has(p));
  taken.add(copy);
  plan.keep.push({ from: a, to: copy, path, found });
}

/** Every file or link in an rsync backup directory is an aside of the same path below the root. */
function settleBackupDir(
  plan: AsideRecoveryPlan,
  dir: string,
  remote: Snapshot,
  ancestor: Snapshot,
  now: Date,
  taken: Set<string>,
): void {
  const dirs = new Map<string, Entry>();
  for (const [p, e] of remote) {
    if (p !== dir && !p.startsWith(`${dir}/`)) continue;
    if (e.kind === 'dir') dirs.set(p, e);
    else settleOne(plan, p, p.slice(dir.length + 1), e, remote, ancestor, now, taken);
  }
  plan.cleanup.push({ path: dir, kind: 'dir', expected: dirs });
}

/**
 * Carries out `plan`; returns how many asides were settled, the conflict records of those
 * kept, and the original paths of the asides that could not be put back or kept (the server
 * refused: read-only, full). Until those are settled the server's version of each such path
 * lies in its aside: the pass must not take the path for gone on the server (and forget it),
 * or the aside's name would match nothing any more and it would stay there for ever.
 */
export async function settleAsides(
  transport: RemoteTransport,
  plan: AsideRecoveryPlan,
  now: Date,
): Promise<{ settled: number; conflicts: ConflictRecord[]; unsettled: ItemResult[] }> {
  const moves = [...plan.restore, ...plan.keep.map(({ from, to }) => ({ from, to }))];
  const moved = moves.length ? await transport.rename(moves) : [];
  const removed = plan.discard.length
    ? await transport.remove(
        plan.discard.map(({ path, kind, expected }) => ({ path, kind, ...(expected ? { expected } : {}) })),
      )
    : [];
  const unsettled: ItemResult[] = [];
  const refused = (path: string, r: ItemResult | undefined) => {
    if (r?.error !== undefined) unsettled.push({ ...r, path });
  };
  plan.restore.forEach((m, i) => refused(m.to, moved[i]));
  plan.keep.forEach((k, i) => refused(k.path, moved[plan.restore.length + i]));
  plan.discard.forEach((d, i) => refused(d.original, removed[i]));
  const cleaned = plan.cleanup.length ? await transport.remove(plan.cleanup) : [];
  const conflicts: ConflictRecord[] = [];
  plan.keep.forEach((k, i) => {
    if (moved[plan.restore.length + i]?.error !== undefined) return;
    conflicts.push({
      time: now.toISOString(),
      path: k.path,
      local: null,
      remote:
        k.found.kind === 'file'
          ? { size: k.found.size, mtimeMs: k.found.mtimeMs }
          : k.found.kind === 'symlink'
            ? { kind: 'symlink', target: k.found.target }
            : { kind: 'dir' },
      action: k.found.kind === 'dir' ? 'kept-remote-dir' : 'kept-remote-copy',
      conflictCopyPath: k.to,
      note: 'found moved aside by an interrupted sync; kept as a conflict copy',
    });
  });
  const settled = [...moved, ...removed, ...cleaned].filter((r) => r.error === undefined).length;
  return { settled, conflicts, unsettled };
}

function isAsideSegment(seg: string): boolean {
  return seg.startsWith(ASIDE_PREFIX);
}
