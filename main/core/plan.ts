/**
 * The output vocabulary of reconcile: operations on the server and conflicts to log.
 * Operations are applied phase by phase (see {@link OP_PHASE}); within a phase they are
 * independent of each other, so a transport may run them concurrently.
 */
import type { DirEntry, Entry, FileEntry, Mode, SymlinkEntry } from './tree.ts';

/**
 * - push: local changes go to the server; server changes are kept (conflict copies), never
 *   undone silently;
 * - mirror: the server becomes an exact copy of the local folder;
 * - upload: like push, but nothing on the server is ever deleted or moved: local deletes
 *   stay local, a local rename uploads under the new name.
 */
export type SyncMode = 'push' | 'mirror' | 'upload';

export const SYNC_MODES: readonly SyncMode[] = ['push', 'mirror', 'upload'];

export type PlanOp =
  /** Move a remote file, symlink or whole directory; the ancestor subtree moves with it. */
  | { op: 'rename'; from: string; to: string; kind: Entry['kind'] }
  /**
   * Remove what is on the server at `path` (a directory with everything below it) because
   * something of another kind replaces it. Runs before creations.
   */
  | { op: 'clear'; path: string; kind: Entry['kind'] }
  | { op: 'mkdir'; path: string; entry: DirEntry; keepRemoteCopy: boolean }
  | { op: 'upload'; path: string; entry: FileEntry; keepRemoteCopy: boolean }
  | { op: 'symlink'; path: string; entry: SymlinkEntry; keepRemoteCopy: boolean }
  /**
   * Content already matches; bring mode (and file mtime) in line. `expected` is the server
   * entry as scanned (for a renamed tree, as scanned at its old path): the server is left as
   * it is when it holds anything else, since an mtime set onto a same-size server edit hides it.
   */
  | { op: 'setAttributes'; path: string; entry: FileEntry | DirEntry; mode: Mode; mtimeMs?: number; expected: Entry }
  /** A deletion propagated from the local side (or, in mirror mode, an extra remote entry). */
  | { op: 'remove'; path: string; kind: Entry['kind'] }
  /** No server change: both sides already agree; record `entry` in the ancestor. */
  | { op: 'adopt'; path: string; entry: Entry }
  /**
   * No server change: drop `path` from the ancestor. With `subtree`, everything below goes
   * too; without, a directory leaves only once nothing below it is left in the ancestor
   * (its children are being removed one by one and some may fail).
   */
  | { op: 'forget'; path: string; subtree: boolean };

export type PlanOpKind = PlanOp['op'];

/**
 * Phase of each op: phases run in ascending order. Renames come after mkdir (a file may move
 * into a new directory) and removals come last, so nothing is deleted before what replaces
 * it has landed.
 */
export const OP_PHASE: Readonly<Record<PlanOpKind, number>> = {
  adopt: 0,
  forget: 0,
  clear: 1,
  mkdir: 2,
  rename: 3,
  upload: 4,
  symlink: 4,
  setAttributes: 5,
  remove: 6,
};

export type ConflictKind =
  /** Both sides changed the same path since the last sync. */
  | 'both-modified'
  /** Both sides created the same path with different content. */
  | 'both-created'
  /** Deleted locally, but changed on the server since the last sync. */
  | 'local-delete-remote-modified'
  /** Changed on the server after the scan, found when Ferry went to replace or remove it. */
  | 'server-changed-during-sync';

export type ConflictResolution =
  /** The server's version was renamed to a conflict copy next to it, then the local version pushed. */
  | 'kept-remote-copy'
  /** The local delete was not propagated; the server's version stays. */
  | 'skipped-local-delete';

export interface Conflict {
  path: string;
  kind: ConflictKind;
  resolution: ConflictResolution;
  ancestor?: Entry;
  local?: Entry;
  remote?: Entry;
}

/** Why a plan must not run without the user's say-so. */
export type HaltReason =
  /**
   * `link`: the local root is a symbolic link, and what it points to is missing or not a
   * directory; or, with `linkWas`, it points somewhere else than the directory it led to at start.
   */
  | { kind: 'root-missing'; link?: string; linkWas?: string }
  | { kind: 'root-emptied'; ancestorFiles: number }
  | { kind: 'mass-delete'; deletes: number; ancestorFiles: number }
  /** Mirror mode's first sync would delete server files Ferry has never seen (a mistyped target?). */
  | { kind: 'first-mirror-sync'; deletes: number };

export interface Plan {
  ops: PlanOp[];
  conflicts: Conflict[];
  /**
   * Paths whose server copy changed while the local copy did not (push mode leaves them
   * alone; a later local edit turns them into a conflict).
   */
  drift: string[];
  /** Number of remote files (not directories) the plan would delete, trees counted by content. */
  deletedFiles: number;
}
