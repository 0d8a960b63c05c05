/**
 * Per-folder record of every conflict Ferry resolved on its own, so a person can see later
 * what was kept where. Append-only JSON Lines: one record per line, each append fsynced.
 * A torn last line (crash mid-append) or a hand-edited bad line is skipped and counted on
 * read, never fatal: the log is informative, not state the engine depends on.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Entry } from '../core/tree.ts';

/**
 * What Ferry did about a conflict:
 * - 'kept-remote-copy': both sides changed (or the kinds clash); the server's version was
 *   moved aside to `conflictCopyPath` on the server, then the local version was pushed.
 * - 'skipped-local-delete': deleted locally but changed on the server since the last sync;
 *   the server's file was left in place (it no longer matches anything locally).
 * - 'kept-remote-dir': a directory deleted locally still holds entries on the server that
 *   Ferry never pushed or that changed there; those were left in place.
 * - 'origin-unknown': Ferry was writing at the path when it lost the connection or was
 *   stopped, and the server now shows neither the old entry nor what Ferry would have
 *   written: it may be an edit made on the server, or Ferry's own write. It is treated as the
 *   server's (left in place, a later local change makes a conflict) and reported here, so
 *   that nobody takes the folder for in sync without seeing it.
 */
export const CONFLICT_ACTIONS = [
  'kept-remote-copy',
  'skipped-local-delete',
  'kept-remote-dir',
  'origin-unknown',
] as const;

export type ConflictAction = (typeof CONFLICT_ACTIONS)[number];

/** One side of a conflict: a file by size and time, or a directory or symlink (the kinds can clash). */
export type ConflictSide =
  { size: number; mtimeMs: number; hash?: string } | { kind: 'dir' } | { kind: 'symlink'; target: string };

export interface ConflictRecord {
  /** ISO 8601 time the conflict was resolved. */
  time: string;
  /** Relative POSIX path below the folder root. */
  path: string;
  /** The local side; null when nothing was there (e.g. a local delete). */
  local?: ConflictSide | null;
  /** The server side; null when nothing was there. */
  remote?: ConflictSide | null;
  action: ConflictAction;
  /** Relative path of the kept copy, for 'kept-remote-copy'. */
  conflictCopyPath?: string;
  note?: string;
}

/**
 * A conflict side for the log. Directories and symlinks too: a kind clash (a server link
 * where a local directory goes) must not fail the log's validation and with it the pass.
 */
export function conflictSide(e: Entry | undefined): ConflictSide | null {
  if (!e) return null;
  if (e.kind === 'file') return { size: e.size, mtimeMs: e.mtimeMs, ...(e.hash ? { hash: e.hash } : {}) };
  if (e.kind === 'symlink') return { kind: 'symlink', target: e.target };
  return { kind: 'dir' };
}

const sideSchema = z
  .union([
    z.object({ size: z.number().int().min(0), mtimeMs: z.number(), hash: z.string().optional() }),
    z.object({ kind: z.literal('dir') }),
    z.object({ kind: z.literal('symlink'), target: z.string() }),
  ])
  .nullable();

const recordSchema = z.object({
  time: z.iso.datetime({ offset: true }),
  path: z.string(),
  local: sideSchema.optional(),
  remote: sideSchema.optional(),
  action: z.enum(CONFLICT_ACTIONS),
  conflictCopyPath: z.string().optional(),
  note: z.string().optional(),
});

/** Appends one record (creating the file and its directory), then fsyncs. */
export async function appendConflict(file: string, record: ConflictRecord): Promise<void> {
  const parsed = recordSchema.safeParse(record);
  if (!parsed.success) {
    throw new Error(
      `Refusing to write an invalid conflict record for ${JSON.stringify(record.path)} to ${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  try {
    await mkdir(dirname(file), { recursive: true });
    const fh = await open(file, 'a', 0o600);
    try {
      await fh.appendFile(`${JSON.stringify(parsed.data)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new Error(`Could not write to the conflict log ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export interface ConflictLog {
  /** Valid records in file order. */
  records: ConflictRecord[];
  /** Number of non-empty lines that were not valid records (skipped). */
  malformed: number;
}

/** Reads the whole log; a missing file is an empty log. */
export async function readConflicts(file: string): Promise<ConflictLog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], malformed: 0 };
    throw new Error(`Could not read the conflict log ${file}: ${(err as Error).message}`, { cause: err });
  }
  const records: ConflictRecord[] = [];
  let malformed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      malformed++;
      continue;
    }
    const parsed = recordSchema.safeParse(json);
    if (parsed.success) records.push(parsed.data);
    else malformed++;
  }
  return { records, malformed };
}
