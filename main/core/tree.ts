/**
 * The one tree vocabulary shared by scanner, ancestor index, reconcile and transports.
 *
 * A snapshot is a flat map from a relative POSIX path ("a/b.txt", never a leading "/" or
 * "./", never ".." segments; the root itself is "") to an entry. Absent means "nothing
 * there"; there is no "deleted" marker. Parents of every path are present as directories.
 */

import { comparePathOrder } from './path-order.ts';

/** Permission bits only (0o7777); file-type bits are carried by `kind`. */
export type Mode = number;

export interface FileEntry {
  readonly kind: 'file';
  readonly size: number;
  /**
   * Modification time in milliseconds. Remote observations over SFTP carry whole seconds,
   * so comparisons across sides use {@link sameSecond}.
   */
  readonly mtimeMs: number;
  readonly mode: Mode;
  /** SHA-256 (hex) of the content, where known. Local scans fill it in only when asked. */
  readonly hash?: string;
}

export interface DirEntry {
  readonly kind: 'dir';
  readonly mode: Mode;
}

export interface SymlinkEntry {
  readonly kind: 'symlink';
  /** The link's target exactly as stored; never resolved or followed. */
  readonly target: string;
}

export type Entry = FileEntry | DirEntry | SymlinkEntry;

/** Relative POSIX path -> entry. */
export type Snapshot = ReadonlyMap<string, Entry>;

export function sameSecond(aMs: number, bMs: number): boolean {
  return Math.floor(aMs / 1000) === Math.floor(bMs / 1000);
}

/**
 * Whether a local file's stat still shows what the scan recorded: size, mode, and mtime to
 * the whole millisecond (the scan's precision). The transports' one test for "changed since
 * the scan" before they land a file (UploadItem.landIfChanged).
 */
export function statMatchesScan(st: { size: number; mtimeMs: number; mode: number }, scanned: FileEntry): boolean {
  return (
    st.size === scanned.size &&
    Math.floor(st.mtimeMs) === Math.floor(scanned.mtimeMs) &&
    (st.mode & 0o7777) === scanned.mode
  );
}

/**
 * Whether a server entry found now is the one expected there, as far as a stat tells: the
 * kind, and for a file its size, whole-second mtime and mode, for a link its target. A
 * directory matches any directory (what lies below it is checked entry by entry). The one
 * rule of the expected-state checks (transport/sftp-expected.ts, engine/aside-recovery.ts).
 */
export function matchesExpected(found: Entry, expected: Entry | undefined): boolean {
  if (!expected || found.kind !== expected.kind) return false;
  if (found.kind === 'file' && expected.kind === 'file')
    return found.size === expected.size && sameSecond(found.mtimeMs, expected.mtimeMs) && found.mode === expected.mode;
  if (found.kind === 'symlink' && expected.kind === 'symlink') return found.target === expected.target;
  return true;
}

/** Parent of a relative path; the parent of a top-level name is the root "". */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The directories between the root and `path`, outermost first ("a/b/c" -> "a", "a/b"); not "" and not `path`. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** True when `path` is `scope` itself or lies below it. The root scope "" contains all. */
export function isWithin(path: string, scope: string): boolean {
  return scope === '' || path === scope || path.startsWith(`${scope}/`);
}

/**
 * The paths of `paths` that lie within no other path of it, deduped, in {@link comparePaths}
 * order ("" swallows everything). One pass after a sort: an ancestor sorts before its
 * descendants, so each path only looks up its own ancestors among those kept.
 */
export function outermost(paths: Iterable<string>): string[] {
  const kept = new Set<string>();
  for (const p of [...new Set(paths)].sort(comparePaths)) if (!hasAncestorOrSelfIn(kept, p)) kept.add(p);
  return [...kept];
}

/**
 * For each of `roots`, the entries of `snapshot` at and below it (a path below two roots
 * goes to the innermost). One pass over the snapshot, walking each path's prefixes.
 */
export function subtreesOf(snapshot: Snapshot, roots: readonly string[]): Map<string, Map<string, Entry>> {
  const out = new Map<string, Map<string, Entry>>(roots.map((r) => [r, new Map()]));
  if (out.size === 0) return out;
  for (const [p, e] of snapshot) {
    if (out.has('')) out.get('')?.set(p, e);
    for (let i = p.length; i > 0; i = p.lastIndexOf('/', i - 1)) {
      const sub = out.get(p.slice(0, i));
      if (sub) {
        sub.set(p, e);
        break;
      }
    }
  }
  return out;
}

/** True when `set` holds `path` or one of its ancestors ("" included). */
export function hasAncestorOrSelfIn(set: ReadonlySet<string>, path: string): boolean {
  if (set.has('')) return true;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) if (set.has(path.slice(0, i))) return true;
  return set.has(path);
}

/**
 * Depth-first order: parents before children, siblings by code unit order (as if compared
 * segment by segment). Walks the strings without splitting them (path-order.ts).
 */
export function comparePaths(a: string, b: string): number {
  return comparePathOrder(a, b);
}

/**
 * Checks that a relative path is one Ferry may act on: no empty, "." or ".." segment, no
 * leading or trailing "/", no NUL. Remote paths are built from these only, so a hostile
 * name can never climb out of the target.
 */
export function isSafeRelPath(path: string): boolean {
  if (path === '') return true;
  if (path.includes('\0')) return false;
  // Segment by segment without splitting: this runs for every entry of an index load.
  for (let start = 0; ;) {
    const slash = path.indexOf('/', start);
    const end = slash < 0 ? path.length : slash;
    const len = end - start;
    if (len === 0) return false;
    if (path.charCodeAt(start) === DOT && (len === 1 || (len === 2 && path.charCodeAt(start + 1) === DOT)))
      return false;
    if (slash < 0) return true;
    start = slash + 1;
  }
}

const DOT = 46;

/** Content-level equality: what a user would call "the same file". Ignores hashes when either side lacks one. */
export function sameContent(a: Entry | undefined, b: Entry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'dir':
      return true;
    case 'symlink':
      return a.target === (b as SymlinkEntry).target;
    case 'file': {
      const f = b as FileEntry;
      if (a.hash && f.hash) return a.hash === f.hash && a.size === f.size;
      return a.size === f.size && sameSecond(a.mtimeMs, f.mtimeMs);
    }
  }
}

/** Attribute equality beyond content: permission bits (files, dirs) and mtime to the second (files). */
export function sameAttributes(a: Entry, b: Entry): boolean {
  if (a.kind === 'symlink' || b.kind === 'symlink') return true;
  if (a.mode !== b.mode) return false;
  if (a.kind === 'file' && b.kind === 'file') return sameSecond(a.mtimeMs, b.mtimeMs);
  return true;
}

/**
 * Entries below a path that the same snapshot holds as a file or a symlink: what a scan saw
 * *through* a symlink (a directory replaced by a link while it was read, a scope reached past
 * a link). Such paths must never reach the planner: on the server an operation on
 * `link/x` acts on whatever `link` points to, outside the target. Absent ancestors are not
 * evidence either way (a scoped scan holds only its scopes).
 */
export function pathsBelowNonDirectories(snapshot: Snapshot): string[] {
  const below = new Set<string>();
  for (const p of [...snapshot.keys()].sort(comparePaths)) {
    for (let a = p; a !== '';) {
      a = parentOf(a);
      const e = snapshot.get(a);
      if (e === undefined) continue;
      if (e.kind !== 'dir' || below.has(a)) below.add(p);
      break;
    }
  }
  return [...below];
}
