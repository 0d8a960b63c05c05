/**
 * Local side observations: lstat-based scans of the whole root or of some scopes below it.
 * Symlinks are recorded as links (target read, never followed). Sockets, FIFOs and devices
 * are skipped and reported as problems. Ignored paths never enter the snapshot, and an
 * ignored directory is not descended into.
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { mapLimit } from './map-limit.ts';
import { joinRel, parentOf, type Entry } from './tree.ts';

export type IgnoreTest = (relPath: string, isDir: boolean) => boolean;

export interface LocalScan {
  entries: Map<string, Entry>;
  /** Paths that could not be read (permission denied, vanished mid-scan is not a problem), with the reason. */
  problems: { path: string; error: string }[];
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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  if (st.isDirectory()) return { kind: 'dir', mode: st.mode & 0o7777 };
  if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777 };
  if (st.isSymbolicLink()) return { kind: 'symlink', target: await readlink(abs) };
  return 'other';
}

/**
 * Scan `scopes` below `root` ("" = everything). The root entry "" is always included when
 * the root exists, and so is every ancestor directory of a scope, so the result is a valid
 * snapshot of the scanned region. A missing root gives an empty map.
 */
export async function scanLocal(root: string, scopes: readonly string[], ignores: IgnoreTest): Promise<LocalScan> {
  const entries = new Map<string, Entry>();
  const problems: LocalScan['problems'] = [];
  const rootEntry = await entryFor(root);
  if (rootEntry === undefined || rootEntry === 'other' || rootEntry.kind !== 'dir') return { entries, problems };
  entries.set('', rootEntry);

  const visit = async (rel: string): Promise<void> => {
    let entry: Entry | undefined | 'other';
    try {
      entry = await entryFor(localPathOf(root, rel));
    } catch (err) {
      problems.push({ path: rel, error: (err as Error).message });
      return;
    }
    if (entry === undefined) return;
    if (entry === 'other') {
      problems.push({ path: rel, error: 'not a regular file, directory or symlink (socket, FIFO or device); skipped' });
      return;
    }
    if (rel !== '' && ignores(rel, entry.kind === 'dir')) return;
    entries.set(rel, entry);
    if (entry.kind !== 'dir') return;
    let names: string[];
    try {
      names = await readdir(localPathOf(root, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push({ path: rel, error: (err as Error).message });
      return;
    }
    await mapLimit(names, 32, (name) => visit(joinRel(rel, name)));
  };

  for (const scope of scopes) {
    // Make sure the directories leading to a scope are in the snapshot.
    for (let p = parentOf(scope); p !== ''; p = parentOf(p)) {
      if (entries.has(p)) break;
      const e = await entryFor(localPathOf(root, p));
      if (e && e !== 'other') entries.set(p, e);
    }
    await visit(scope);
  }
  return { entries, problems };
}

/** SHA-256 (hex) of a file's content: read whole when small, streamed when large. */
export async function hashFile(abs: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(abs, 'r');
  try {
    const { size } = await handle.stat();
    if (size <= 1 << 20) hash.update(await handle.readFile());
    else for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return hash.digest('hex');
}
