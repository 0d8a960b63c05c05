/**
 * Edits of the ancestor (the last synced state, a flat map path -> entry) that keep it a
 * tree: nothing stays recorded below a path that is no longer a directory.
 */
import { isWithin, type Entry } from '../core/tree.ts';

/** Forget `root` and, when it was a directory, everything below it (a file has nothing below: O(1)). */
export function dropSubtree(ancestor: Map<string, Entry>, root: string): void {
  const was = ancestor.get(root);
  ancestor.delete(root);
  if (was !== undefined && was.kind !== 'dir') return;
  for (const p of [...ancestor.keys()]) if (isWithin(p, root)) ancestor.delete(p);
}

/** Moves `from` and everything recorded below it to `to` in the ancestor. */
export function moveSubtree(ancestor: Map<string, Entry>, from: string, to: string): void {
  const moved: [string, Entry][] = [];
  for (const [p, e] of ancestor) if (isWithin(p, from)) moved.push([to + p.slice(from.length), e]);
  dropSubtree(ancestor, from);
  for (const [p, e] of moved) ancestor.set(p, e);
}

/** Record `entry` at `path`; a non-directory replaces whatever subtree was recorded there. */
export function recordEntry(ancestor: Map<string, Entry>, path: string, entry: Entry): void {
  if (entry.kind !== 'dir' && ancestor.get(path)?.kind === 'dir') dropSubtree(ancestor, path);
  ancestor.set(path, entry);
}
