/**
 * The local folder's size as its scans found it (the card's "1,234 files · 56 MB"), kept up
 * to date from each scan without walking the folder again.
 *
 * Invariants:
 * - One entry per directory and per regular file (path -> size; -1 for a directory), held in
 *   its parent directory's map. The path strings are the scans' own.
 * - A scoped scan costs what lies within its scopes, not the whole tree: a scope's old
 *   subtree is found through the directory maps and replaced by what the scan found there.
 *   (At a million files, a pass over every entry for each watcher batch would cost more than
 *   the batch.)
 */
import { isWithin, parentOf } from '../core/tree.ts';
import type { LocalScan } from './local-scan.ts';

export interface LocalTotals {
  files: number;
  bytes: number;
}

const DIR = -1;

export class LocalTotalsCounter {
  /** dir -> child path -> size (DIR for a directory); undefined before the first scan. */
  #tree: Map<string, Map<string, number>> | undefined;
  #files = 0;
  #bytes = 0;

  /** Files and bytes as of the latest scans; undefined before the first scan. */
  totals(): LocalTotals | undefined {
    return this.#tree ? { files: this.#files, bytes: this.#bytes } : undefined;
  }

  /**
   * Takes in a scan of `scopes`: everything within the scopes is replaced by what the scan
   * found there. A full scan (or one that found no root) starts afresh; so does the first
   * scan, which knows only its scopes until the first full one.
   */
  update(scopes: readonly string[], scan: LocalScan): void {
    const full = scopes.includes('') || !scan.entries.has('');
    if (full || !this.#tree) {
      this.#tree = new Map([['', new Map()]]);
      this.#files = 0;
      this.#bytes = 0;
    } else {
      for (const s of scopes) this.#drop(s);
    }
    const inScope = (p: string) => full || scopes.some((s) => isWithin(p, s));
    for (const [path, e] of scan.entries) {
      if (path === '' || (e.kind !== 'file' && e.kind !== 'dir') || !inScope(path)) continue;
      this.#add(path, e.kind === 'file' ? e.size : DIR);
    }
  }

  #add(path: string, size: number): void {
    const tree = this.#tree as Map<string, Map<string, number>>;
    const parent = parentOf(path);
    let siblings = tree.get(parent);
    if (siblings === undefined) {
      // A scope whose parent no scan has listed yet (a scoped first look): make room for it.
      siblings = new Map();
      tree.set(parent, siblings);
    }
    const was = siblings.get(path);
    if (was !== undefined) this.#forget(path, was);
    siblings.set(path, size);
    if (size === DIR) {
      if (!tree.has(path)) tree.set(path, new Map());
    } else {
      this.#files++;
      this.#bytes += size;
    }
  }

  /** Removes `path` and everything recorded below it. */
  #drop(path: string): void {
    if (path === '') return;
    const siblings = this.#tree?.get(parentOf(path));
    const was = siblings?.get(path);
    siblings?.delete(path);
    if (was !== undefined) this.#forget(path, was);
  }

  /** Takes `path` (already out of its parent's map) out of the counts, with its subtree. */
  #forget(path: string, size: number): void {
    if (size !== DIR) {
      this.#files--;
      this.#bytes -= size;
      return;
    }
    const tree = this.#tree as Map<string, Map<string, number>>;
    const children = tree.get(path);
    tree.delete(path);
    if (children) for (const [child, s] of children) this.#forget(child, s);
  }
}
