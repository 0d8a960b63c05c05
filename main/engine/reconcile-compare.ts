/**
 * The questions reconcile asks about one path or one subtree: what changed since the last
 * sync, on which side. Pure comparisons of snapshots; `a`, `l`, `r` are the ancestor, local
 * and remote entries at a path (see reconcile.ts).
 */
import { isWithin, sameContent, type Entry, type Snapshot } from '../core/tree.ts';

/** Local side unchanged since the last sync: same kind, same bytes (by size and exact mtime), same mode. */
export function localUnchanged(a: Entry | undefined, l: Entry | undefined): boolean {
  if (a === undefined || l === undefined) return a === l;
  switch (a.kind) {
    case 'dir':
      return l.kind === 'dir' && a.mode === l.mode;
    case 'symlink':
      return l.kind === 'symlink' && sameContent(a, l);
    case 'file':
      return l.kind === 'file' && a.size === l.size && a.mtimeMs === l.mtimeMs && a.mode === l.mode;
  }
}

/** Same file bytes locally as at the last sync (size and exact mtime); only attributes may differ. */
export function contentUnchangedLocally(a: Entry | undefined, l: Entry): boolean {
  return a?.kind === 'file' && l.kind === 'file' && a.size === l.size && a.mtimeMs === l.mtimeMs;
}

/** `l` carrying the ancestor's content hash when it has none (the bytes are the same). */
export function withHash(l: Entry, a: Entry | undefined): Entry {
  return l.kind === 'file' && !l.hash && a?.kind === 'file' && a.hash ? { ...l, hash: a.hash } : l;
}

export function inScope(path: string, scopes: readonly string[]): boolean {
  return scopes.some((s) => isWithin(path, s));
}

/** The entries at and below `root`, keyed by their path relative to it ("" for `root` itself). */
export function subtreeOf(snapshot: Snapshot, root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const [p, e] of snapshot) if (isWithin(p, root)) out.set(p === root ? '' : p.slice(root.length + 1), e);
  return out;
}

/** Files and symlinks at or below `root`: what removing that tree deletes, as the mass-delete check counts it. */
export function countFiles(snapshot: Snapshot, root: string): number {
  let n = 0;
  for (const [p, e] of snapshot) if (e.kind !== 'dir' && isWithin(p, root)) n++;
  return n;
}

/** Whether anything at or below `root` differs locally from the ancestor (added, gone or changed). */
export function changedBelow(ancestor: Snapshot, local: Snapshot, root: string): boolean {
  const before = subtreeOf(ancestor, root);
  const now = subtreeOf(local, root);
  if (before.size !== now.size) return true;
  for (const [rel, e] of now) if (!localUnchanged(before.get(rel), e)) return true;
  return false;
}

/**
 * Everything in the server subtree at `root` is in the ancestor, unchanged: nothing was added
 * or changed there since Ferry's last sync, so removing the tree loses nothing. Entries the
 * server lost do not count: they are gone either way, and are often Ferry's own doing (a tree
 * removal cut short by a read-only directory or a lost connection). Were they counted as
 * server changes, the directories of such a tree would stay on the server for ever, empty
 * and forgotten.
 */
export function nothingNewBelow(ancestor: Snapshot, remote: Snapshot, root: string): boolean {
  const before = subtreeOf(ancestor, root);
  for (const [rel, r] of subtreeOf(remote, root)) if (!sameContent(before.get(rel), r)) return false;
  return true;
}
