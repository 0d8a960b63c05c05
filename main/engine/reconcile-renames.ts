/**
 * Rename detection for reconcile: a local `mv` shows up as a path gone and a path new. When
 * the server still holds exactly what the ancestor recorded at the old path, the move is
 * replayed on the server as a rename instead of a removal and a fresh upload.
 */
import { isWithin, sameContent, type FileEntry } from '../core/tree.ts';
import { inScope, subtreeOf } from './reconcile-compare.ts';
import type { ReconcileInput } from './reconcile.ts';

export interface DirectoryRename {
  from: string;
  to: string;
}

export interface FileRename {
  from: string;
  to: string;
  /** The ancestor's entry at `from`. */
  before: FileEntry;
  /** The local entry at `to`. */
  after: FileEntry;
}

/**
 * Local files that are worth hashing before reconcile, because they may be the new name of
 * a file that vanished locally (same size as a vanished ancestor file, absent on both the
 * ancestor and the server). Hashing only these keeps a rename detectable without reading
 * every new file twice.
 */
export function renameCandidates(input: Omit<ReconcileInput, 'mode'>): string[] {
  const vanishedSizes = new Set<number>();
  for (const [p, a] of input.ancestor) {
    if (a.kind === 'file' && a.hash && inScope(p, input.scopes) && !input.local.has(p)) vanishedSizes.add(a.size);
  }
  const out: string[] = [];
  if (vanishedSizes.size === 0) return out;
  for (const [p, l] of input.local) {
    if (l.kind === 'file' && !l.hash && vanishedSizes.has(l.size) && !input.ancestor.has(p) && !input.remote.has(p))
      out.push(p);
  }
  return out;
}

/**
 * Directory renames: a directory gone locally (server copy exactly as the ancestor), and a
 * new local directory (absent on both ancestor and server) holding exactly the same relative
 * entries, files matched by size and exact mtime (a local `mv` preserves both).
 */
export function findDirectoryRenames(input: ReconcileInput, paths: string[]): DirectoryRename[] {
  const { ancestor, local, remote } = input;
  const vanished = paths.filter(
    (p) => p !== '' && ancestor.get(p)?.kind === 'dir' && !local.has(p) && remote.get(p)?.kind === 'dir',
  );
  if (vanished.length === 0) return [];
  const appeared = paths.filter((p) => p !== '' && local.get(p)?.kind === 'dir' && !ancestor.has(p) && !remote.has(p));
  if (vanished.length === 0 || appeared.length === 0) return [];
  const renames: DirectoryRename[] = [];
  const used = new Set<string>();
  for (const from of vanished) {
    if (renames.some((r) => isWithin(from, r.from))) continue;
    const before = subtreeOf(ancestor, from);
    const onServer = subtreeOf(remote, from);
    if (onServer.size !== before.size) continue;
    let serverIntact = true;
    for (const [rel, a] of before) if (!sameContent(a, onServer.get(rel))) serverIntact = false;
    if (!serverIntact) continue;
    for (const to of appeared) {
      if (used.has(to) || renames.some((r) => isWithin(to, r.to))) continue;
      const after = subtreeOf(local, to);
      if (after.size !== before.size) continue;
      let same = true;
      for (const [rel, a] of before) {
        const l = after.get(rel);
        if (!l || l.kind !== a.kind) same = false;
        else if (a.kind === 'file' && l.kind === 'file') same &&= a.size === l.size && a.mtimeMs === l.mtimeMs;
        else if (a.kind === 'symlink') same &&= sameContent(a, l);
        if (!same) break;
      }
      if (same) {
        renames.push({ from, to });
        used.add(to);
        break;
      }
    }
  }
  return renames;
}

/**
 * File renames: a file gone locally (server copy unchanged) whose content hash reappears at
 * a new local path (absent on both ancestor and server).
 */
export function findFileRenames(input: ReconcileInput, paths: string[]): FileRename[] {
  const { ancestor, local, remote } = input;
  const vanishedByHash = new Map<string, { path: string; entry: FileEntry }[]>();
  for (const p of paths) {
    const a = ancestor.get(p);
    if (a?.kind !== 'file' || !a.hash || local.has(p) || !sameContent(a, remote.get(p))) continue;
    const key = `${a.hash}:${a.size}`;
    vanishedByHash.set(key, [...(vanishedByHash.get(key) ?? []), { path: p, entry: a }]);
  }
  const renames: FileRename[] = [];
  if (vanishedByHash.size === 0) return renames;
  for (const p of paths) {
    const l = local.get(p);
    if (l?.kind !== 'file' || !l.hash || ancestor.has(p) || remote.has(p)) continue;
    const queue = vanishedByHash.get(`${l.hash}:${l.size}`);
    const from = queue?.shift();
    if (from !== undefined) renames.push({ from: from.path, to: p, before: from.entry, after: l });
  }
  return renames;
}
