/**
 * Reconcile: ancestor + local snapshot + remote observations in, a plan and conflicts out.
 * Pure: no file system, no network, no clock. Modelled on Mutagen's core/reconcile.go.
 *
 * Inputs are snapshots restricted (by the caller's scan) to `scopes`; paths outside every
 * scope are ignored here, so a scoped rescan can never delete or forget what it did not look at.
 *
 * Vocabulary for one path p: a = ancestor[p] (what the server held after Ferry's last
 * successful sync), l = local[p], r = remote[p]. "Changed" always means "differs from a".
 */
import { OP_PHASE, type Conflict, type Plan, type PlanOp, type SyncMode } from '../core/plan.ts';
import {
  comparePaths,
  isWithin,
  parentOf,
  sameAttributes,
  sameContent,
  type DirEntry,
  type Entry,
  type FileEntry,
  type Snapshot,
} from '../core/tree.ts';

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

/** Local side unchanged since the last sync: same kind, same bytes (by size and exact mtime), same mode. */
function localUnchanged(a: Entry | undefined, l: Entry | undefined): boolean {
  if (a === undefined || l === undefined) return a === l;
  if (a.kind !== l.kind) return false;
  switch (a.kind) {
    case 'dir':
      return a.mode === (l as DirEntry).mode;
    case 'symlink':
      return sameContent(a, l);
    case 'file': {
      const f = l as FileEntry;
      return a.size === f.size && a.mtimeMs === f.mtimeMs && a.mode === f.mode;
    }
  }
}

/** Same file bytes locally as at the last sync (size and exact mtime); only attributes may differ. */
function contentUnchangedLocally(a: Entry | undefined, l: Entry): boolean {
  return a?.kind === 'file' && l.kind === 'file' && a.size === l.size && a.mtimeMs === l.mtimeMs;
}

/** `l` carrying the ancestor's content hash when it has none (the bytes are the same). */
function withHash(l: Entry, a: Entry | undefined): Entry {
  return l.kind === 'file' && !l.hash && a?.kind === 'file' && a.hash ? { ...l, hash: a.hash } : l;
}

function inScope(path: string, scopes: readonly string[]): boolean {
  return scopes.some((s) => isWithin(path, s));
}

function subtreeOf(snapshot: Snapshot, root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const [p, e] of snapshot) if (isWithin(p, root)) out.set(p === root ? '' : p.slice(root.length + 1), e);
  return out;
}

function countFiles(snapshot: Snapshot, root: string): number {
  let n = 0;
  for (const [p, e] of snapshot) if (e.kind !== 'dir' && isWithin(p, root)) n++;
  return n;
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
function findDirectoryRenames(input: ReconcileInput, paths: string[]): { from: string; to: string }[] {
  const { ancestor, local, remote } = input;
  const vanished = paths.filter(
    (p) => p !== '' && ancestor.get(p)?.kind === 'dir' && !local.has(p) && remote.get(p)?.kind === 'dir',
  );
  const appeared = paths.filter((p) => p !== '' && local.get(p)?.kind === 'dir' && !ancestor.has(p) && !remote.has(p));
  if (vanished.length === 0 || appeared.length === 0) return [];
  const renames: { from: string; to: string }[] = [];
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

/** File renames: a file gone locally (server copy unchanged) whose content hash reappears at a new local path. */
function findFileRenames(input: ReconcileInput, paths: string[], handled: Set<string>): { from: string; to: string }[] {
  const { ancestor, local, remote } = input;
  const vanishedByHash = new Map<string, string[]>();
  for (const p of paths) {
    const a = ancestor.get(p);
    if (handled.has(p) || a?.kind !== 'file' || !a.hash || local.has(p) || !sameContent(a, remote.get(p))) continue;
    const key = `${a.hash}:${a.size}`;
    vanishedByHash.set(key, [...(vanishedByHash.get(key) ?? []), p]);
  }
  const renames: { from: string; to: string }[] = [];
  for (const p of paths) {
    const l = local.get(p);
    if (handled.has(p) || l?.kind !== 'file' || !l.hash || ancestor.has(p) || remote.has(p)) continue;
    const queue = vanishedByHash.get(`${l.hash}:${l.size}`);
    const from = queue?.shift();
    if (from !== undefined) renames.push({ from, to: p });
  }
  return renames;
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

function attributesOp(path: string, l: Entry, r: Entry): PlanOp[] {
  if (l.kind === 'symlink' || sameAttributes(l, r)) return [];
  return [{ op: 'setAttributes', path, entry: l, mode: l.mode, ...(l.kind === 'file' ? { mtimeMs: l.mtimeMs } : {}) }];
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

export function reconcile(input: ReconcileInput): Plan {
  const { ancestor, local, remote, mode, scopes } = input;
  const all = new Set<string>();
  for (const snap of [ancestor, local, remote]) for (const p of snap.keys()) if (inScope(p, scopes)) all.add(p);
  const paths = [...all].sort(comparePaths);

  const ops: PlanOp[] = [];
  const conflicts: Conflict[] = [];
  const drift: string[] = [];
  let deletedFiles = 0;
  /** Paths decided by an op on an ancestor directory (a rename, a tree removal, a move aside). */
  const handledTrees: string[] = [];
  const handled = new Set<string>();
  const isHandled = (p: string) => handled.has(p) || handledTrees.some((t) => isWithin(p, t));
  const handleTree = (p: string) => {
    handledTrees.push(p);
  };

  const detect = input.detectRenames !== false;
  for (const { from, to } of detect ? findDirectoryRenames(input, paths) : []) {
    ops.push({ op: 'rename', from, to, kind: 'dir' });
    handleTree(from);
    handleTree(to);
    // A rename is matched on kinds, sizes and mtimes, not modes: the moved tree keeps the
    // server's modes (which the ancestor carries along), so set each one that differs locally.
    for (const [rel, a] of subtreeOf(ancestor, from)) {
      const path = rel === '' ? to : `${to}/${rel}`;
      const l = local.get(path);
      if (l) ops.push(...attributesOp(path, l, a));
    }
  }
  for (const { from, to } of detect
    ? findFileRenames(
        input,
        paths.filter((p) => !isHandled(p)),
        handled,
      )
    : []) {
    ops.push({ op: 'rename', from, to, kind: 'file' });
    handled.add(from);
    handled.add(to);
    const l = local.get(to) as FileEntry;
    const a = ancestor.get(from) as FileEntry;
    if (!sameAttributes(a, l)) ops.push({ op: 'setAttributes', path: to, entry: l, mode: l.mode, mtimeMs: l.mtimeMs });
  }

  /** Remove `r` at `p` from the server, as a deletion (counted) — the whole tree for a directory. */
  const removeRemote = (p: string, r: Entry) => {
    ops.push({ op: 'remove', path: p, kind: r.kind });
    deletedFiles += r.kind === 'dir' ? countFiles(remote, p) : 1;
    if (r.kind === 'dir') handleTree(p);
  };

  for (const p of paths) {
    if (isHandled(p)) continue;
    const a = ancestor.get(p);
    const l = local.get(p);
    const r = remote.get(p);
    if (p === '') {
      // The root itself: created when missing, never removed or replaced here.
      if (l?.kind === 'dir' && r === undefined) ops.push({ op: 'mkdir', path: '', entry: l, keepRemoteCopy: false });
      else if (l?.kind === 'dir' && r?.kind === 'dir' && !localUnchanged(a, l))
        ops.push({ op: 'adopt', path: '', entry: l });
      continue;
    }

    if (mode === 'mirror') {
      // The server is a replica: make r equal to l, whatever happened on the server.
      if (l === undefined) {
        if (r !== undefined) removeRemote(p, r);
        else if (a !== undefined) ops.push({ op: 'forget', path: p, subtree: true });
      } else if (
        r !== undefined &&
        sameContent(l, r) &&
        (l.kind === 'dir' || localUnchanged(a, l) || contentUnchangedLocally(a, l) || !sameContent(a, r))
      ) {
        // Equal by size and mtime, and not merely because the server still holds the
        // ancestor while the local file changed within the same second. A directory is a
        // directory: a new mode is a setAttributes, never a clear and re-create of the tree.
        ops.push(...adoptWithAttributes(p, l, r));
      } else {
        if (r !== undefined && (r.kind !== l.kind || r.kind === 'dir')) {
          ops.push({ op: 'clear', path: p, kind: r.kind });
          deletedFiles += r.kind === 'dir' ? countFiles(remote, p) : 0;
          if (r.kind === 'dir') handleTree(p);
        }
        ops.push(createOp(p, l, false));
      }
      continue;
    }

    // Push mode.
    const remoteIntact = sameContent(a, r);
    if (localUnchanged(a, l)) {
      if (a === undefined || remoteIntact) continue; // untracked on the server, or nothing to do
      if (r === undefined && l !== undefined) {
        // Deleted on the server only: restoring it loses nothing.
        ops.push(createOp(p, l, false));
        continue;
      }
      // Changed on the server only: leave it, report it; a later local edit becomes a conflict.
      // A directory the server turned into a file or link: what was below it is not below it
      // on the server any more (it is wherever a link points), so nothing there is touched.
      // Once something below changes locally, that is a conflict like any other: the server's
      // version is kept as a conflict copy and the local directory pushed again.
      if (
        r !== undefined &&
        r.kind !== 'dir' &&
        l?.kind === 'dir' &&
        a?.kind === 'dir' &&
        changedBelow(ancestor, local, p)
      ) {
        conflicts.push({
          path: p,
          kind: 'both-modified',
          resolution: 'kept-remote-copy',
          ...defined({ ancestor: a, local: l, remote: r }),
        });
        ops.push(createOp(p, l, true));
        continue;
      }
      drift.push(p);
      if (r !== undefined && r.kind !== 'dir') handleTree(p);
      continue;
    }

    // From here on, the local side changed since the last sync.
    if (l === undefined) {
      // Local deletion (a is defined).
      if (r === undefined) ops.push({ op: 'forget', path: p, subtree: true });
      else if (remoteIntact && (r.kind !== 'dir' || nothingNewBelow(input, p))) removeRemote(p, r);
      else if (r.kind === 'dir' && a?.kind === 'dir') {
        // Something below changed on the server: children decide one by one; the directory
        // itself stays (it may end up empty) and leaves the ancestor once its children have.
        ops.push({ op: 'forget', path: p, subtree: false });
      } else {
        conflicts.push({
          path: p,
          kind: 'local-delete-remote-modified',
          resolution: 'skipped-local-delete',
          ...defined({ ancestor: a, local: l, remote: r }),
        });
        ops.push({ op: 'forget', path: p, subtree: true });
        handleTree(p);
      }
      continue;
    }

    if (r === undefined) {
      ops.push(createOp(p, l, false));
      continue;
    }
    if (!remoteIntact && sameContent(l, r)) {
      // Both sides changed, to the same content (by size and mtime): nothing to send.
      ops.push(...adoptWithAttributes(p, l, r));
      continue;
    }
    if (remoteIntact) {
      // The server holds exactly what Ferry last put there: replace it.
      if (r.kind === 'dir' && l.kind === 'dir') ops.push(...attributesOp(p, l, r));
      else if (contentUnchangedLocally(a, l)) ops.push(...adoptWithAttributes(p, withHash(l, a), r));
      else if (r.kind === l.kind && r.kind !== 'dir') ops.push(createOp(p, l, false));
      else if (r.kind !== 'dir' || nothingNewBelow(input, p)) {
        ops.push({ op: 'clear', path: p, kind: r.kind }, createOp(p, l, false));
        deletedFiles += r.kind === 'dir' ? countFiles(remote, p) : 0;
        if (r.kind === 'dir') handleTree(p);
      } else {
        // A directory replaced by a file locally while files below changed on the server.
        conflicts.push({
          path: p,
          kind: 'both-modified',
          resolution: 'kept-remote-copy',
          ...defined({ ancestor: a, local: l, remote: r }),
        });
        ops.push(createOp(p, l, true));
        handleTree(p);
      }
      continue;
    }
    // Both sides changed (or both created) and they differ: keep the server's version as a
    // conflict copy next to it, then push the local one.
    conflicts.push({
      path: p,
      kind: a === undefined ? 'both-created' : 'both-modified',
      resolution: 'kept-remote-copy',
      ...defined({ ancestor: a, local: l, remote: r }),
    });
    ops.push(createOp(p, l, true));
    if (r.kind === 'dir') handleTree(p);
  }

  return { ops: sortOps(dedupeRemovals(withoutOpsBelowServerNonDirs(ops, remote))), conflicts, drift, deletedFiles };
}

/** Whether anything at or below `root` differs locally from the ancestor (added, gone or changed). */
function changedBelow(ancestor: Snapshot, local: Snapshot, root: string): boolean {
  const before = subtreeOf(ancestor, root);
  const now = subtreeOf(local, root);
  if (before.size !== now.size) return true;
  for (const [rel, e] of now) if (!localUnchanged(before.get(rel), e)) return true;
  return false;
}

/**
 * The last guard against acting through a server symlink: drops every op on a path below a
 * server entry that is not a directory, unless the plan first clears that entry or moves it
 * aside. On the server `link/x` is wherever `link` points, outside the target.
 */
function withoutOpsBelowServerNonDirs(ops: PlanOp[], remote: Snapshot): PlanOp[] {
  const replaced = new Set<string>();
  for (const o of ops) {
    // Both run before anything is created (phases 1 and 2); removals run last, renames after mkdir.
    if (o.op === 'clear' || (o.op === 'mkdir' && o.keepRemoteCopy)) replaced.add(o.path);
  }
  const blockedAt = (path: string): boolean => {
    for (let a = parentOf(path); a !== ''; a = parentOf(a)) {
      const r = remote.get(a);
      if (r !== undefined && r.kind !== 'dir' && !replaced.has(a)) return true;
    }
    return false;
  };
  return ops.filter((o) =>
    o.op === 'adopt' || o.op === 'forget' ? true : !blockedAt(opPath(o)) && (o.op !== 'rename' || !blockedAt(o.from)),
  );
}

/**
 * Everything in the server subtree at `root` is in the ancestor, unchanged: nothing was added
 * or changed there since Ferry's last sync, so removing the tree loses nothing. Entries the
 * server lost do not count: they are gone either way, and are often Ferry's own doing (a tree
 * removal cut short by a read-only directory or a lost connection). Counting them as server
 * changes kept the directories of such a tree on the server for ever, empty and forgotten.
 */
function nothingNewBelow(input: ReconcileInput, root: string): boolean {
  const before = subtreeOf(input.ancestor, root);
  for (const [rel, r] of subtreeOf(input.remote, root)) if (!sameContent(before.get(rel), r)) return false;
  return true;
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Drop removals (and forgets) nested inside a removed tree; the tree removal covers them. */
function dedupeRemovals(ops: PlanOp[]): PlanOp[] {
  const trees = ops
    .filter((o) => (o.op === 'remove' || o.op === 'clear') && o.kind === 'dir')
    .map((o) => (o as { path: string }).path);
  return ops.filter((o) => {
    if (o.op !== 'remove' && o.op !== 'forget') return true;
    return !trees.some((t) => t !== o.path && isWithin(o.path, t));
  });
}

function opPath(o: PlanOp): string {
  return o.op === 'rename' ? o.to : o.path;
}

/** Phase order; inside a phase parents first, except removals (children first). */
function sortOps(ops: PlanOp[]): PlanOp[] {
  return ops.sort((x, y) => {
    const d = OP_PHASE[x.op] - OP_PHASE[y.op];
    if (d !== 0) return d;
    const c = comparePaths(opPath(x), opPath(y));
    return x.op === 'remove' ? -c : c;
  });
}
