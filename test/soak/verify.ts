/**
 * The soak's end-of-run checks for one folder: the server's copy equals the local folder
 * byte for byte (content, mode, mtime seconds, symlink targets), no Ferry temp file is left
 * on the server, and every conflict copy on the server was written to the conflict log.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { diffTrees, ferryTempFiles, readTree, type TreeEntry } from '../harness/trees.ts';

export interface FolderVerdict {
  /** Readable differences; empty when the server's copy is right. */
  differences: string[];
  /** Conflict copies found on the server that the log explains. */
  loggedConflictCopies: string[];
  /** Records in the folder's conflict log. */
  conflictRecords: number;
}

const CONFLICT_MARK = '.ferry-conflict-';

/** Conflict copy paths named by the log at `file` (missing log = none). */
export function loggedCopies(file: string): { copies: Set<string>; records: number } {
  const copies = new Set<string>();
  if (!existsSync(file)) return { copies, records: 0 };
  let records = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    records++;
    try {
      const r = JSON.parse(line) as { conflictCopyPath?: unknown };
      if (typeof r.conflictCopyPath === 'string') copies.add(r.conflictCopyPath);
    } catch {
      // a torn line: counted, explains nothing
    }
  }
  return { copies, records };
}

/** Drops `root` and everything below it from `tree`. */
const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

function hasChildren(tree: Map<string, TreeEntry>, dir: string): boolean {
  for (const p of tree.keys()) if (p.startsWith(`${dir}/`)) return true;
  return false;
}

function dropSubtree(tree: Map<string, TreeEntry>, root: string): void {
  for (const p of [...tree.keys()]) if (p === root || p.startsWith(`${root}/`)) tree.delete(p);
}

export function verifyFolder(local: string, remote: string, conflictLog: string | undefined): FolderVerdict {
  const differences: string[] = [];
  if (!existsSync(remote))
    return {
      differences: [`the remote directory ${remote} does not exist`],
      loggedConflictCopies: [],
      conflictRecords: 0,
    };
  const { copies, records } = conflictLog ? loggedCopies(conflictLog) : { copies: new Set<string>(), records: 0 };
  const localTree = readTree(local);
  const remoteTree = readTree(remote);
  const logged: string[] = [];
  for (const p of [...remoteTree.keys()].sort()) {
    const name = p.slice(p.lastIndexOf('/') + 1);
    if (!name.includes(CONFLICT_MARK) || !remoteTree.has(p)) continue;
    if (copies.has(p)) logged.push(p);
    else differences.push(`conflict copy not in the conflict log: ${JSON.stringify(p)}`);
    dropSubtree(remoteTree, p);
  }
  // A directory deleted locally stays on the server while it holds a logged conflict copy
  // (the server's version of a file is never deleted): not a difference once that copy is
  // set aside, as long as nothing else is left in it.
  for (const copy of logged) {
    for (let dir = parentOf(copy); dir !== ''; dir = parentOf(dir)) {
      if (localTree.has(dir) || remoteTree.get(dir)?.kind !== 'dir' || hasChildren(remoteTree, dir)) break;
      remoteTree.delete(dir);
    }
  }
  differences.push(...diffTrees(localTree, remoteTree));
  for (const t of ferryTempFiles(remote)) differences.push(`temp file left on the server: ${JSON.stringify(t)}`);
  return { differences, loggedConflictCopies: logged, conflictRecords: records };
}

/** Files whose name starts with `prefix` directly in `dir` (the shell-injection canaries). */
export function canaries(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(prefix));
}
