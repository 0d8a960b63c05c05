/**
 * Local side observations: lstat-based scans of the whole root or of some scopes below it.
 * Symlinks are recorded as links (target read, never followed). Sockets, FIFOs and devices
 * are skipped and listed as such (skipped-files.ts), not as problems. Ignored paths never enter the snapshot, and an
 * ignored directory is not descended into.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ancestorsOf, joinRel, type Entry } from '../core/tree.ts';
import { describeSpecial, type SkippedFile } from './skipped-files.ts';

export type IgnoreTest = (relPath: string, isDir: boolean) => boolean;

const NOT_UTF8 =
  'the name is not valid UTF-8 (shown here with \uFFFD for the bytes that are not); Ferry syncs UTF-8 names only, so this entry is skipped: rename it to sync it';

export interface LocalScan {
  entries: Map<string, Entry>;
  /** Paths that could not be read (permission denied, vanished mid-scan is not a problem), with the reason. */
  problems: { path: string; error: string }[];
  /** Sockets, FIFOs and devices (not ignored ones): never synced, and not failures either. */
  skipped: SkippedFile[];
  /**
   * Ancestors of scopes that are not directories (a file or symlink where the scope needs a
   * directory): those scopes were not scanned. The caller widens its scopes to these.
   */
  blocked: string[];
}

/** Absolute local path of a relative POSIX path (works on Windows too). */
export function localPathOf(root: string, rel: string): string {
  return rel === '' ? root : join(root, ...rel.split('/'));
}

async function entryFor(abs: string): Promise<Entry | undefined | 'other'> {
  let st;
  try {
    st = await lstat(abs, { bigint: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw err;
  }
  if (st.isDirectory()) return { kind: 'dir', mode: st.mode & 0o7777 };
  if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777 };
  if (st.isSymbolicLink()) return { kind: 'symlink', target: await readlink(abs) };
  return 'other';
}

/**
 * {@link entryFor}, synchronously; a special file comes with its stats. The scan below calls
 * the synchronous forms in time slices: a promise per lstat (through libuv's thread pool) made
 * a scan of 100,000 files 4x slower and left hundreds of MB of garbage (docs/BENCHMARKS.md).
 */
function entryForSync(abs: string): Entry | undefined | Stats {
  let st;
  try {
    st = lstatSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  if (st === undefined) return undefined;
  if (st.isDirectory()) return { kind: 'dir', mode: st.mode & 0o7777 };
  if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777 };
  if (st.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(abs) };
  return st;
}

const isEntry = (e: Entry | undefined | Stats): e is Entry => e !== undefined && 'kind' in e;

/** How long the scan may hold the event loop before it lets timers and I/O run (ms). */
const SLICE_MS = 8;

/**
 * Scan `scopes` below `root` ("" = everything). The root entry "" is always included when
 * the root exists, and so is every ancestor directory of a scope, so the result is a valid
 * snapshot of the scanned region. A missing root gives an empty map.
 */
export async function scanLocal(root: string, scopes: readonly string[], ignores: IgnoreTest): Promise<LocalScan> {
  const entries = new Map<string, Entry>();
  const problems: LocalScan['problems'] = [];
  const skipped: SkippedFile[] = [];
  const blocked: string[] = [];
  const rootEntry = await entryFor(root);
  if (rootEntry === undefined || rootEntry === 'other' || rootEntry.kind !== 'dir')
    return { entries, problems, skipped, blocked };
  entries.set('', rootEntry);
  const childOf = (parentAbs: string, name: string): string =>
    parentAbs.endsWith(sep) ? parentAbs + name : parentAbs + sep + name;
  let sliceStart = performance.now();

  /** Everything at and below `scope`: one directory after another, in time slices of {@link SLICE_MS}. */
  const visit = async (scope: string): Promise<void> => {
    const stack: { rel: string; abs: string }[] = [{ rel: scope, abs: localPathOf(root, scope) }];
    for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
      const { rel, abs } = item;
      let entry: Entry | undefined | Stats;
      try {
        entry = entryForSync(abs);
      } catch (err) {
        problems.push({ path: rel, error: (err as Error).message });
        continue;
      }
      if (entry === undefined) {
        // readdir decodes names as UTF-8: a name that is not valid UTF-8 comes back with U+FFFD
        // in it and is not found under that name. Say so instead of leaving it out silently.
        if (rel.includes('\uFFFD')) problems.push({ path: rel, error: NOT_UTF8 });
        continue;
      }
      if (!isEntry(entry)) {
        if (!ignores(rel, false)) skipped.push({ path: rel, reason: describeSpecial(entry) });
        continue;
      }
      if (rel !== '' && ignores(rel, entry.kind === 'dir')) continue;
      entries.set(rel, entry);
      if (entry.kind !== 'dir') continue;
      let names: string[];
      try {
        names = readdirSync(abs);
        // readdir follows a symlink: a directory replaced by a link since its lstat would be
        // listed from wherever the link points. Look again; a link now is a link, not a tree.
        const again = entryForSync(abs);
        if (!isEntry(again) || again.kind !== 'dir') {
          if (!isEntry(again)) entries.delete(rel);
          else entries.set(rel, again);
          continue;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          problems.push({ path: rel, error: (err as Error).message });
        continue;
      }
      for (let i = names.length - 1; i >= 0; i--) {
        const name = names[i] as string;
        stack.push({ rel: joinRel(rel, name), abs: childOf(abs, name) });
      }
    }
  };

  for (const scope of scopes) {
    // The directories leading to a scope go into the snapshot, and each must be a real
    // directory: the kernel resolves a symlink in the middle of a path, so `link/x` would be
    // read from wherever `link` points (the watcher can name such paths). A scope below a
    // file, a symlink or nothing is not scanned; its nearest ancestor shows what is there.
    let reachable = true;
    for (const p of ancestorsOf(scope)) {
      let e = entries.get(p);
      if (e === undefined) {
        const found = await entryFor(localPathOf(root, p));
        if (found && found !== 'other') entries.set(p, (e = found));
      }
      if (e?.kind !== 'dir') {
        if (e !== undefined) blocked.push(p);
        reachable = false;
        break;
      }
    }
    if (reachable) await visit(scope);
  }
  return { entries, problems, skipped, blocked };
}
