/**
 * Reconcile: ancestor + local snapshot + remote observations in, a plan and conflicts out.
 * Pure: no file system, no network, no clock. Modelled on Mutagen's core/reconcile.go.
 *
 * Inputs are snapshots restricted (by the caller's scan) to `scopes`; paths outside every
 * scope are ignored here, so a scoped rescan can never delete or forget what it did not look at.
 *
 * Vocabulary for one path p: a = ancestor[p] (what the server held after Ferry's last
 * successful sync), l = local[p], r = remote[p]. "Changed" always means "differs from a".
 *
 * The steps every mode shares: collect the paths in scope, replay local moves as server
 * renames (reconcile-renames.ts), handle the root, then decide each remaining path with the
 * mode's handler ({@link handlePathPush}, {@link handlePathMirror}), and finally prune and
 * order the ops (reconcile-order.ts).
 */
import { keepServerCopies } from './keep-server-copies.ts';
import { comparePathOrder } from '../core/path-order.ts';
import type { Conflict, ConflictKind, ConflictResolution, Plan, PlanOp, SyncMode } from '../core/plan.ts';
import { isWithin, sameAttributes, sameContent, type Entry, type Snapshot } from '../core/tree.ts';
import {
  changedBelow,
  contentUnchangedLocally,
  countFiles,
  inScope,
  localUnchanged,
  nothingNewBelow,
  subtreeOf,
  withHash,
} from './reconcile-compare.ts';
import { finishOps } from './reconcile-order.ts';
import { findDirectoryRenames, findFileRenames } from './reconcile-renames.ts';

export { renameCandidates } from './reconcile-renames.ts';

export interface ReconcileInput {
  ancestor: Snapshot;
  local: Snapshot;
  remote: Snapshot;
  mode: SyncMode;
  /** Paths that were rescanned on both sides; "" means the whole tree. */
  scopes: readonly string[];
  /** Turn local moves into server renames (default true; off for transports that cannot rename). */
  detectRenames?: boolean;
}

/** The plan as reconcile builds it, path by path, and which paths are already decided. */
class PlanBuilder {
  readonly input: ReconcileInput;
  readonly ops: PlanOp[] = [];
  readonly conflicts: Conflict[] = [];
  readonly drift: string[] = [];
  deletedFiles = 0;
  /** Paths decided by an op on themselves (both ends of a file rename). */
  readonly #paths = new Set<string>();
  /** Paths decided by an op on an ancestor directory (a rename, a tree removal, a move aside). */
  readonly #trees: string[] = [];

  constructor(input: ReconcileInput) {
    this.input = input;
  }

  isHandled(p: string): boolean {
    return this.#paths.has(p) || this.#trees.some((t) => isWithin(p, t));
  }

  handlePath(p: string): void {
    this.#paths.add(p);
  }

  handleTree(p: string): void {
    this.#trees.push(p);
  }

  op(...ops: PlanOp[]): void {
    this.ops.push(...ops);
  }

  conflict(
    path: string,
    kind: ConflictKind,
    resolution: ConflictResolution,
    a: Entry | undefined,
    l: Entry | undefined,
    r: Entry | undefined,
  ): void {
    this.conflicts.push({ path, kind, resolution, ...defined({ ancestor: a, local: l, remote: r }) });
  }

  /** Remove `r` at `p` from the server, as a deletion (counted): the whole tree for a directory. */
  removeRemote(p: string, r: Entry): void {
    this.ops.push({ op: 'remove', path: p, kind: r.kind });
    this.deletedFiles += r.kind === 'dir' ? countFiles(this.input.remote, p) : 1;
    if (r.kind === 'dir') this.handleTree(p);
  }

  /** Clear `r` at `p` off the server so an entry of another kind can take its place. */
  clearRemote(p: string, r: Entry): void {
    this.ops.push({ op: 'clear', path: p, kind: r.kind });
    this.deletedFiles += r.kind === 'dir' ? countFiles(this.input.remote, p) : 0;
    if (r.kind === 'dir') this.handleTree(p);
  }

  plan(): Plan {
    const { ops, conflicts, drift, deletedFiles } = this;
    return { ops: finishOps(ops, this.input.remote), conflicts, drift, deletedFiles };
  }
}

type PathHandler = (
  b: PlanBuilder,
  p: string,
  a: Entry | undefined,
  l: Entry | undefined,
  r: Entry | undefined,
) => void;

export function reconcile(input: ReconcileInput): Plan {
  const { ancestor, local, remote, scopes } = input;
  const all = new Set<string>();
  const everything = scopes.includes('');
  for (const snap of [ancestor, local, remote])
    for (const p of snap.keys()) if (everything || inScope(p, scopes)) all.add(p);
  const paths = [...all].sort(comparePathOrder);

  const b = new PlanBuilder(input);
  // Upload mode never moves anything on the server: a local rename is a new upload.
  if (input.detectRenames !== false && input.mode !== 'upload') planRenames(b, paths);

  const handle: PathHandler = input.mode === 'mirror' ? handlePathMirror : handlePathPush;
  for (const p of paths) {
    if (b.isHandled(p)) continue;
    const a = ancestor.get(p);
    const l = local.get(p);
    const r = remote.get(p);
    if (p === '') handleRoot(b, a, l, r);
    else handle(b, p, a, l, r);
  }
  // Upload mode: what push would delete on the server stays there, forgotten (keep-server-copies.ts).
  return input.mode === 'upload' ? keepServerCopies(b.plan()) : b.plan();
}

/** Local moves the server can replay as renames; both ends of each are decided by it. */
function planRenames(b: PlanBuilder, paths: string[]): void {
  const { ancestor, local, remote } = b.input;
  for (const { from, to } of findDirectoryRenames(b.input, paths)) {
    b.op({ op: 'rename', from, to, kind: 'dir' });
    b.handleTree(from);
    b.handleTree(to);
    // A rename is matched on kinds, sizes and mtimes, not modes: the moved tree keeps the
    // server's modes (which the ancestor carries along), so set each one that differs locally.
    for (const [rel, a] of subtreeOf(ancestor, from)) {
      const at = (root: string) => (rel === '' ? root : `${root}/${rel}`);
      const l = local.get(at(to));
      if (l) b.op(...attributesOp(at(to), l, a, remote.get(at(from)) ?? a));
    }
  }
  for (const { from, to, before, after } of findFileRenames(
    b.input,
    paths.filter((p) => !b.isHandled(p)),
  )) {
    b.op({ op: 'rename', from, to, kind: 'file' });
    b.handlePath(from);
    b.handlePath(to);
    if (!sameAttributes(before, after))
      b.op({
        op: 'setAttributes',
        path: to,
        entry: after,
        mode: after.mode,
        mtimeMs: after.mtimeMs,
        expected: remote.get(from) ?? before,
      });
  }
}

/** The root itself, in every mode: created when missing, never removed or replaced here. */
function handleRoot(b: PlanBuilder, a: Entry | undefined, l: Entry | undefined, r: Entry | undefined): void {
  if (l?.kind === 'dir' && r === undefined) b.op({ op: 'mkdir', path: '', entry: l, keepRemoteCopy: false });
  else if (l?.kind === 'dir' && r?.kind === 'dir' && !localUnchanged(a, l)) b.op({ op: 'adopt', path: '', entry: l });
}

/**
 * Mirror mode: the server is a replica of the local folder.
 *
 * At this point we know that p is below the root and that no rename or tree op has decided
 * it. Whatever happened on the server since the last sync, r is made equal to l; the ancestor
 * only tells whether an r that looks equal to l really is.
 */
function handlePathMirror(b: PlanBuilder, p: string, a: Entry | undefined, l: Entry | undefined, r: Entry | undefined) {
  if (l === undefined) {
    if (r !== undefined) b.removeRemote(p, r);
    else if (a !== undefined) b.op({ op: 'forget', path: p, subtree: true });
    return;
  }
  if (
    r !== undefined &&
    sameContent(l, r) &&
    (l.kind === 'dir' || localUnchanged(a, l) || contentUnchangedLocally(a, l) || !sameContent(a, r))
  ) {
    // Equal by size and mtime, and not merely because the server still holds the ancestor
    // while the local file changed within the same second. A directory is a directory: a new
    // mode is a setAttributes, never a clear and re-create of the tree.
    b.op(...adoptWithAttributes(p, l, r));
    return;
  }
  // At this point we know that l exists and the server does not hold it (or cannot be shown
  // to: equal size and mtime while the local file changed since the last sync). What is
  // there is cleared when it is a directory or of another kind, and l is created.
  if (r !== undefined && (r.kind !== l.kind || r.kind === 'dir')) b.clearRemote(p, r);
  b.op(createOp(p, l, false));
}

/**
 * Push mode: local changes go to the server; server changes are never undone silently. A
 * server change meeting a local change is a conflict (the server's version is kept as a
 * conflict copy); a server change alone is drift, reported and left in place.
 *
 * At this point we know that p is below the root and that no rename or tree op has decided it.
 */
function handlePathPush(b: PlanBuilder, p: string, a: Entry | undefined, l: Entry | undefined, r: Entry | undefined) {
  if (localUnchanged(a, l)) pushLocalUnchanged(b, p, a, l, r);
  else if (l === undefined) pushLocalDeletion(b, p, a, r);
  else pushLocalChange(b, p, a, l, r);
}

/** At this point we know that the local side is as the ancestor recorded it (or absent from both). */
function pushLocalUnchanged(
  b: PlanBuilder,
  p: string,
  a: Entry | undefined,
  l: Entry | undefined,
  r: Entry | undefined,
) {
  if (a === undefined || sameContent(a, r)) return; // untracked on the server, or nothing to do
  if (r === undefined && l !== undefined) {
    // Deleted on the server only: restoring it loses nothing.
    b.op(createOp(p, l, false));
    return;
  }
  // At this point we know the server changed p and the local side did not: leave it, report
  // it; a later local edit becomes a conflict.
  // A directory the server turned into a file or link: what was below it is not below it on
  // the server any more (it is wherever a link points), so nothing there is touched. Once
  // something below changes locally, that is a conflict like any other: the server's version
  // is kept as a conflict copy and the local directory pushed again.
  if (
    r !== undefined &&
    r.kind !== 'dir' &&
    l?.kind === 'dir' &&
    a?.kind === 'dir' &&
    changedBelow(b.input.ancestor, b.input.local, p)
  ) {
    b.conflict(p, 'both-modified', 'kept-remote-copy', a, l, r);
    b.op(createOp(p, l, true));
    return;
  }
  b.drift.push(p);
  if (r !== undefined && r.kind !== 'dir') b.handleTree(p);
}

/** At this point we know that p was deleted locally since the last sync (a is defined, l is not). */
function pushLocalDeletion(b: PlanBuilder, p: string, a: Entry | undefined, r: Entry | undefined) {
  const { ancestor, remote } = b.input;
  if (r === undefined) b.op({ op: 'forget', path: p, subtree: true });
  else if (sameContent(a, r) && (r.kind !== 'dir' || nothingNewBelow(ancestor, remote, p))) b.removeRemote(p, r);
  else if (r.kind === 'dir' && a?.kind === 'dir') {
    // Something below changed on the server: children decide one by one; the directory
    // itself stays (it may end up empty) and leaves the ancestor once its children have.
    b.op({ op: 'forget', path: p, subtree: false });
  } else {
    // The server changed what was deleted locally: its version stays, and Ferry stops tracking it.
    b.conflict(p, 'local-delete-remote-modified', 'skipped-local-delete', a, undefined, r);
    b.op({ op: 'forget', path: p, subtree: true });
    b.handleTree(p);
  }
}

/** At this point we know that l exists and differs from the ancestor (created, edited or replaced). */
function pushLocalChange(b: PlanBuilder, p: string, a: Entry | undefined, l: Entry, r: Entry | undefined) {
  if (r === undefined) {
    b.op(createOp(p, l, false));
    return;
  }
  const remoteIntact = sameContent(a, r);
  if (!remoteIntact && sameContent(l, r)) {
    // Both sides changed, to the same content (by size and mtime): nothing to send.
    b.op(...adoptWithAttributes(p, l, r));
    return;
  }
  if (remoteIntact) {
    // At this point we know the server holds exactly what Ferry last put there: replace it.
    if (r.kind === 'dir' && l.kind === 'dir') b.op(...attributesOp(p, l, r));
    else if (contentUnchangedLocally(a, l)) b.op(...adoptWithAttributes(p, withHash(l, a), r));
    else if (r.kind === l.kind && r.kind !== 'dir') b.op(createOp(p, l, false));
    else if (r.kind !== 'dir' || nothingNewBelow(b.input.ancestor, b.input.remote, p)) {
      b.clearRemote(p, r);
      b.op(createOp(p, l, false));
    } else {
      // A directory replaced by a file locally while files below changed on the server.
      b.conflict(p, 'both-modified', 'kept-remote-copy', a, l, r);
      b.op(createOp(p, l, true));
      b.handleTree(p);
    }
    return;
  }
  // At this point we know both sides changed (or both created) p, and they differ: keep the
  // server's version as a conflict copy next to it, then push the local one.
  b.conflict(p, a === undefined ? 'both-created' : 'both-modified', 'kept-remote-copy', a, l, r);
  b.op(createOp(p, l, true));
  if (r.kind === 'dir') b.handleTree(p);
}

function createOp(path: string, l: Entry, keepRemoteCopy: boolean): PlanOp {
  switch (l.kind) {
    case 'dir':
      return { op: 'mkdir', path, entry: l, keepRemoteCopy };
    case 'file':
      return { op: 'upload', path, entry: l, keepRemoteCopy };
    case 'symlink':
      return { op: 'symlink', path, entry: l, keepRemoteCopy };
  }
}

/**
 * The setAttributes that brings `r`'s attributes to `l`'s, if any; `expected` is what the
 * server holds now (`r` itself, except for a renamed tree: `r` at its old path).
 */
function attributesOp(path: string, l: Entry, r: Entry, expected: Entry = r): PlanOp[] {
  if (l.kind === 'symlink' || sameAttributes(l, r)) return [];
  return [
    {
      op: 'setAttributes',
      path,
      entry: l,
      mode: l.mode,
      ...(l.kind === 'file' ? { mtimeMs: l.mtimeMs } : {}),
      expected,
    },
  ];
}

/**
 * Record `l` (same content as `r`) in the ancestor, and bring the server's attributes in line.
 * Until setAttributes has landed the ancestor holds the server's permission bits, not the
 * local ones: were it to record `l` outright and setAttributes failed (a read-only server
 * directory), the ancestor would claim the local mode while the server kept the old one, and
 * since content equality ignores modes, no later pass would ever notice.
 */
function adoptWithAttributes(path: string, l: Entry, r: Entry): PlanOp[] {
  const attrs = attributesOp(path, l, r);
  const entry = attrs.length && l.kind !== 'symlink' && r.kind !== 'symlink' ? { ...l, mode: r.mode } : l;
  return [{ op: 'adopt', path, entry }, ...attrs];
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
