/**
 * Local change notification over chokidar. Events are reported as dirty relative paths only
 * (see coalescer.ts: they are hints, never operations); the engine rescans what they name.
 *
 * Raw and prompt on purpose: no `awaitWriteFinish` and no `atomic` merging. A file still
 * being written is caught by the coalescer's quiet window and by the upload's
 * changed-during-upload check; `atomic` would also silently drop some editor temp names
 * that we prefer to filter with our own ignore rules.
 */
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import { watchDirectoriesThatReplacedFiles } from './chokidar-kind-change.ts';

export interface WatcherError {
  /** 'exhausted': the OS ran out of watches or file handles; changes may go unnoticed. */
  kind: 'exhausted' | 'other';
  /** A sentence for the user. */
  message: string;
  /** What the user can run or change to fix it, when known. */
  fix?: string;
}

export interface LocalWatcher {
  /** Resolves once the initial crawl is done and events are live. */
  start(): Promise<void>;
  /**
   * Stops watching; no callback fires after it is called. Safe to call more than once.
   * Resolves once chokidar has closed, or after CLOSE_LIMIT_MS at the latest: chokidar 6.0's
   * close() was seen never settling, its fs.watch on the root left open (once in about 55
   * runs of the symlink-swap test): the likeliest reason a stopped Ferry stayed alive.
   */
  close(): Promise<void>;
}

export interface WatchFolderOptions {
  /** A relative POSIX path ('' = root) at or below which something may have changed. */
  onDirty(relPath: string): void;
  onError(err: WatcherError): void;
  /** Paths for which this is true are neither watched nor reported (nor anything below them). */
  ignores(relPath: string, isDir: boolean): boolean;
}

/** How long close() waits for chokidar before it gives up on it. */
const CLOSE_LIMIT_MS = 5000;

/** Closes `w`, resolving after `ms` at the latest (a close that fails or hangs is not ours to fix). */
export function closeWithin(w: Pick<FSWatcher, 'close'>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((res) => {
    timer = setTimeout(res, ms);
    timer.unref();
  });
  const closed = w.close().catch(() => undefined);
  return Promise.race([closed, limit]).finally(() => clearTimeout(timer));
}

const FALLBACK = 'Ferry falls back to periodic full scans of this folder, so changes are picked up later than usual.';

/**
 * Maps a watcher error to something a user can act on. Running out of inotify watches
 * (ENOSPC, "too many watchers"/"file watchers") or file descriptors (EMFILE, ENFILE) is
 * 'exhausted': the watcher cannot be trusted to see every change, so the engine must scan.
 */
export function classifyWatcherError(err: unknown, root?: string): WatcherError {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const raw = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const where = root === undefined ? 'this folder' : root;
  if (code === 'ENOSPC' || /too many (file )?watchers|limit for (the )?number of file watchers/i.test(raw)) {
    return {
      kind: 'exhausted',
      message: `The system ran out of file watches while watching ${where} (${raw}). ${FALLBACK}`,
      fix: 'Raise the inotify limit: sudo sysctl fs.inotify.max_user_watches=524288 (add "fs.inotify.max_user_watches=524288" to /etc/sysctl.conf to keep it), or ignore large folders such as node_modules in .ferryignore.',
    };
  }
  if (code === 'EMFILE') {
    return {
      kind: 'exhausted',
      message: `Ferry ran out of open files while watching ${where} (${raw}). ${FALLBACK}`,
      fix: 'Raise the open-file limit for Ferry (for example "ulimit -n 65536" in the shell that starts it), or ignore large folders in .ferryignore.',
    };
  }
  if (code === 'ENFILE') {
    return {
      kind: 'exhausted',
      message: `The system ran out of open files while watching ${where} (${raw}). ${FALLBACK}`,
      fix: 'Raise the system-wide limit (sudo sysctl fs.file-max=2097152) and the per-process limit (ulimit -n 65536), or close programs holding many files.',
    };
  }
  return { kind: 'other', message: `Watching ${where} failed: ${raw}` };
}

/**
 * The path of an error that only says an entry changed kind while chokidar looked at it:
 * readlink on what had been a symlink and is now a directory or file (EINVAL). Such a path is
 * a change to rescan; taken for a failed watcher it sent the folder to polling for good
 * whenever a link was replaced by a directory.
 */
function kindRaceOn(err: unknown): string | undefined {
  const e = err as { code?: unknown; syscall?: unknown; path?: unknown } | undefined;
  return e?.code === 'EINVAL' && e.syscall === 'readlink' && typeof e.path === 'string' ? e.path : undefined;
}

/** Relative POSIX path of `abs` below `root`, or undefined when it is outside. */
function toRel(root: string, abs: string): string | undefined {
  const rel = relative(root, resolve(root, abs));
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return sep === '/' ? rel : rel.split(sep).join('/');
}

type EntryKind = 'dir' | 'link' | 'other' | undefined;

/**
 * lstat kinds of absolute paths, remembered until the current burst of calls is over (chokidar
 * asks about every entry of a directory in one go). Never throws: a path that vanished or
 * whose ancestor changed kind meanwhile (ENOENT, ENOTDIR, EACCES) is `undefined`: a throw
 * inside a chokidar callback would crash the process.
 */
function entryKinds(): (abs: string) => EntryKind {
  const cache = new Map<string, EntryKind>();
  return (abs) => {
    if (cache.has(abs)) return cache.get(abs);
    let kind: EntryKind;
    try {
      const st = lstatSync(abs, { throwIfNoEntry: false });
      kind = st === undefined ? undefined : st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      kind = undefined;
    }
    if (cache.size === 0) setImmediate(() => cache.clear());
    cache.set(abs, kind);
    return kind;
  };
}

/**
 * A check of whether any directory between `absRoot` and a path (both excluded) is a symlink.
 * Never throws; an ancestor that cannot be looked at counts as not a link, and the walk goes
 * on upwards.
 */
export function belowSymlinkCheck(
  absRoot: string,
  kindOf: (abs: string) => EntryKind = entryKinds(),
): (path: string) => boolean {
  return (path) => {
    for (let d = dirname(resolve(absRoot, path)); d !== absRoot && d.length > absRoot.length; d = dirname(d)) {
      if (kindOf(d) === 'link') return true;
    }
    return false;
  };
}

/**
 * The real path chokidar (6.0) means when it asks `ignored` about `path`: it turns every
 * backslash into a slash first (a Windows habit), so below a directory named `back\slash`
 * it asks about `back/slash/...`, which does not exist. Then neither the symlink guard nor
 * the ignore rules could see the real path, and a link to / below such a directory would be
 * crawled (gigabytes and a core for minutes). Where the path's parent exists it is taken as
 * given; otherwise, level by level from the root, the first reading of the next
 * directories that exists is taken (`a\b` where `a` is missing). The last name and whatever
 * no reading finds are kept as given.
 */
export function unmangledPath(
  absRoot: string,
  path: string,
  kindOf: (abs: string) => EntryKind = entryKinds(),
): string {
  const abs = resolve(absRoot, path);
  if (kindOf(dirname(abs)) === 'dir' || !abs.startsWith(`${absRoot}${sep}`)) return abs;
  const names = abs.slice(absRoot.length + 1).split(sep);
  // From an existing directory: the first reading of the next directories that exists; when
  // none does, the rest as given.
  const walk = (dir: string, i: number): string => {
    for (let k = 1; i + k < names.length; k++) {
      const candidate = join(dir, names.slice(i, i + k).join('\\'));
      const kind = kindOf(candidate);
      if (kind === 'link') return join(candidate, ...names.slice(i + k)); // below a link: the guard's
      if (kind === 'dir') return walk(candidate, i + k);
    }
    return join(dir, ...names.slice(i));
  };
  return walk(absRoot, 0);
}

export function watchFolder(root: string, options: WatchFolderOptions): LocalWatcher {
  const absRoot = resolve(root);
  let watcher: FSWatcher | undefined;
  let closing: Promise<void> | undefined;
  let settleStart: (() => void) | undefined;

  const kindOf = entryKinds();
  const belowLink = belowSymlinkCheck(absRoot, kindOf);

  const isIgnored = (mangled: string, stats?: Stats): boolean => {
    const path = unmangledPath(absRoot, mangled, kindOf);
    const rel = toRel(absRoot, path);
    if (rel === undefined || rel === '') return false;
    // Nothing below a symlink is ours. Chokidar (6.0) sometimes reads a directory that was
    // replaced by a link to a directory through the link: with a link to / it crawled /proc
    // (the watcher then fails on EACCES, the process starves, and the engine is handed those
    // paths). Every directory between the root and the path is checked, not
    // only the parent: chokidar was seen asking about paths several levels below the link.
    if (belowLink(path)) return true;
    // Without stats the kind is unknown: ignore only what is ignored either way. Chokidar
    // asks again with stats, and events are filtered again below with the kind known.
    if (stats === undefined) return options.ignores(rel, false) && options.ignores(rel, true);
    return options.ignores(rel, stats.isDirectory());
  };

  // Runs inside chokidar's and fs.watch's callbacks, where a throw would end the process (every
  // folder of the app with it): a failure here degrades this folder to polling instead.
  const report = (path: string, isDir: boolean): void => {
    if (closing) return;
    try {
      const rel = toRel(absRoot, path);
      if (rel === undefined || belowLink(path)) return;
      if (rel !== '' && options.ignores(rel, isDir)) return;
      options.onDirty(rel);
    } catch (err) {
      options.onError(classifyWatcherError(err, absRoot));
    }
  };

  /** Reports a path whose kind is unknown; left out when ignored as a file or as a directory. */
  const reportUnknownKind = (path: string): void => {
    const rel = toRel(absRoot, path);
    if (rel !== undefined && rel !== '' && !belowLink(path) && !options.ignores(rel, true)) report(path, false);
  };

  return {
    start(): Promise<void> {
      if (watcher) return Promise.reject(new Error(`The watcher for ${absRoot} was already started.`));
      if (closing) return Promise.reject(new Error(`The watcher for ${absRoot} was closed; create a new one.`));
      const w = watch(absRoot, {
        ignoreInitial: true,
        followSymlinks: false,
        atomic: false,
        awaitWriteFinish: false,
        ignored: isIgnored,
        persistent: true,
      });
      watcher = w;
      // Without the repair, a directory that replaced a file goes unwatched and changes below
      // it are missed until a full rescan: safe only when Ferry polls.
      if (!watchDirectoriesThatReplacedFiles(w))
        options.onError({
          kind: 'other',
          message: `The file watcher for ${absRoot} (chokidar) is not the version Ferry was built for, and could miss changes in a directory that replaced a file. ${FALLBACK}`,
        });
      w.on('add', (p) => report(p, false));
      w.on('change', (p) => report(p, false));
      w.on('unlink', (p) => report(p, false));
      w.on('addDir', (p) => report(p, true));
      w.on('unlinkDir', (p) => report(p, true));
      // Permission changes: chokidar has no event for a directory's chmod, and drops a file's
      // chmod once the file was read after its last write (atime past mtime; Ferry reads what
      // it uploads). fs.watch reports both, on the parent's watch (under the entry's name) and
      // on a directory's own watch (under its own name). Marking those paths dirty costs a
      // rescan of what changed anyway; without it a new mode reached the server only at the
      // next full pass.
      w.on('raw', (_event, name, details) => {
        const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
        if (typeof watched !== 'string' || typeof name !== 'string' || name === '') return;
        if (name === basename(watched)) report(watched, true);
        if (!name.includes('/')) reportUnknownKind(join(watched, name));
      });
      w.on('error', (err) => {
        if (closing) return;
        const raced = kindRaceOn(err);
        if (raced !== undefined && toRel(absRoot, raced) !== undefined) reportUnknownKind(raced);
        else options.onError(classifyWatcherError(err, absRoot));
      });
      return new Promise<void>((res) => {
        settleStart = res;
        w.once('ready', () => res());
      });
    },
    close(): Promise<void> {
      closing ??= watcher ? closeWithin(watcher, CLOSE_LIMIT_MS) : Promise.resolve();
      settleStart?.(); // a start() still waiting for 'ready' resolves rather than hanging
      return closing;
    },
  };
}
