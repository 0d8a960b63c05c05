/**
 * Sockets, FIFOs and devices in a synced folder: rsync's "skipping non-regular file". They
 * are not failures (nothing Ferry retries can make them sync), so they never enter the retry
 * book; the folder's status lists them (capped) and the CLI says so once per path.
 *
 * A skipped path is treated like an ignored one for the pass: the server's entry there, if
 * any, is left alone (neither overwritten nor deleted), and the ancestor forgets it, so once
 * the path holds a regular file again it syncs as a new file.
 */
import type { Stats } from 'node:fs';
import { isWithin } from '../core/tree.ts';

export interface SkippedFile {
  path: string;
  /** What it is, as a phrase: "a socket", "a FIFO (named pipe)", "a character device", "a block device". */
  reason: string;
}

/** How many skipped paths a folder's status carries. */
export const SKIPPED_SHOWN = 100;

/** What a non-regular, non-directory, non-symlink entry is, for the user. */
export function describeSpecial(st: Stats): string {
  if (st.isSocket()) return 'a socket';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file, directory or symlink';
}

/** Drops every entry at or below a skipped path from `snapshot` (edited in place). */
export function dropSkipped(snapshot: Map<string, unknown>, skipped: readonly SkippedFile[]): void {
  if (!skipped.length) return;
  for (const p of [...snapshot.keys()]) if (skipped.some((s) => isWithin(p, s.path))) snapshot.delete(p);
}

/** Skipped paths found in `scopes` replace what was known there; at most {@link SKIPPED_SHOWN} are kept. */
export function mergeSkipped(
  previous: readonly SkippedFile[],
  found: readonly SkippedFile[],
  scopes: readonly string[],
): SkippedFile[] {
  const kept = previous.filter((s) => !scopes.some((scope) => isWithin(s.path, scope)));
  return [...kept, ...found].slice(0, SKIPPED_SHOWN);
}
