/**
 * A repair for chokidar 6.0: a directory that replaced a file or symlink of the same name was
 * never watched.
 *
 * On a change in a watched directory, chokidar (reconcile.js, reconcileNativeTrigger) treats a
 * name it already tracks that is now a directory as replaced, closing the old watch and
 * watching the new directory, only when the old entry was a directory too
 * (`TreeState.replacedSinceObserved`). A file that became a directory was listed once and never
 * watched. Nothing below it was reported again: files moved into it, written in it or deleted
 * from it went unnoticed: files moved into a directory that replaced a file stayed local-only
 * while Ferry reported in sync.
 *
 * The repair widens that one test to "any tracked name that is now a directory whose recorded
 * kind is not directory". That case then takes chokidar's own replace path: the old entry is
 * removed (its unlink events are harmless hints) and the directory is added and watched.
 */
import { normalize, resolve } from 'node:path';
import type { Stats } from 'node:fs';
import type { FSWatcher } from 'chokidar';

/** What this repair relies on in chokidar's TreeState (6.0.0). */
interface TreeInternals {
  observesNative(): boolean;
  observed: Map<string, { kind?: unknown }>;
  replacedSinceObserved(path: string, stats: Stats): boolean;
}

/**
 * chokidar's key for a path on POSIX (runtime.js, logicalPathKey): resolved, and where it holds
 * a backslash, every backslash made a slash and the result normalized.
 */
function chokidarKey(path: string): string {
  const resolved = resolve(path);
  if (!resolved.includes('\\')) return resolved;
  return normalize(resolved.replaceAll('\\', '/')).replaceAll(/\/{2,}/g, '/');
}

function hasTreeInternals(tree: unknown): tree is TreeInternals {
  const t = tree as Partial<TreeInternals> | undefined;
  return (
    typeof t?.observesNative === 'function' &&
    t.observed instanceof Map &&
    typeof t.replacedSinceObserved === 'function'
  );
}

/**
 * Installs the repair on one watcher, before it is started. Returns false, changing nothing,
 * when chokidar's internals are not the ones it was written for (watcher.test.ts then fails:
 * a file replaced by a directory goes unwatched again).
 *
 * Only the native backends record kinds. Under polling, where no kind is ever recorded, the
 * original test is kept; it has nothing else to go on.
 */
export function watchDirectoriesThatReplacedFiles(w: FSWatcher): boolean {
  const tree: unknown = (w as { tree?: unknown }).tree;
  if (!hasTreeInternals(tree)) return false;
  const replaced = tree.replacedSinceObserved.bind(tree);
  tree.replacedSinceObserved = (path, stats) => {
    if (replaced(path, stats)) return true;
    // Called only for a name the parent's listing already tracks.
    if (!stats.isDirectory() || !tree.observesNative()) return false;
    // Every directory chokidar watches has its kind recorded (handleDirectory). No record,
    // or another kind, means it was a file (files found by the first scan are not recorded)
    // or a symlink.
    return tree.observed.get(chokidarKey(path))?.kind !== 'directory';
  };
  return true;
}
