/**
 * The per-folder ancestor index: what the server held after the last successful sync, as
 * Ferry last saw it. Reconcile compares both sides against it to tell "changed here" from
 * "changed there", so a wrong index means wrong decisions: a corrupt file is an error, never
 * an empty index, and an invalid snapshot is never written.
 *
 * File format (JSON, one entry per line for readability):
 *   { "version": 1, "localRoot": "...", "remote": "user@host:/path", "savedAt": ISO,
 *     "entries": [[path, Entry], ...] }
 * saveIndex writes the head on the first line, one entry per line and `]}` on the last, in
 * pieces; loadIndex reads a file laid out that way in pieces of whole lines (other JSON whole), so
 * neither holds the whole text and its parsed tree at once.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { comparePathOrder } from '../core/path-order.ts';
import { isSafeRelPath, parentOf, type Entry, type Snapshot } from '../core/tree.ts';

export const INDEX_VERSION = 1;

const modeSchema = z.number().int().min(0).max(0o7777);

/** One entry as stored; unknown fields are stripped on both save and load. */
export const entrySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('file'),
    size: z.number().int().min(0),
    mtimeMs: z.number(), // zod 4 numbers are finite
    mode: modeSchema,
    hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)')
      .optional(),
  }),
  z.object({ kind: z.literal('dir'), mode: modeSchema }),
  z.object({ kind: z.literal('symlink'), target: z.string() }),
]);

const fileSchema = z.object({
  version: z.literal(INDEX_VERSION),
  localRoot: z.string(),
  remote: z.string(),
  savedAt: z.string(),
  entries: z.array(z.tuple([z.string(), z.unknown()])),
});

/** The file's fields without its entries (zod would copy every entry pair). */
const headSchema = fileSchema.omit({ entries: true });

const isPair = (x: unknown): x is [string, unknown] => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string';

export interface IndexMeta {
  /** Absolute local folder the index belongs to. */
  localRoot: string;
  /** Display form of the target, e.g. "deploy@web1:/srv/site". */
  remote: string;
}

function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${prefix}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`)
    .join('; ');
}

/**
 * Validates entries and their tree shape. Returns the cleaned map, or the first problem
 * found as a phrase ("entry 'a/b': its parent 'a' is missing").
 */
const HASH = /^[0-9a-f]{64}$/;
const isMode = (m: unknown): m is number => Number.isSafeInteger(m) && (m as number) >= 0 && (m as number) <= 0o7777;

/**
 * What {@link entrySchema} accepts, checked by hand: a copy with only the known fields (as
 * zod's parse returns), or undefined, after which zod parses it to say what is wrong. zod
 * per entry was most of the time and garbage of loading a 100,000-file index.
 */
function quickEntry(raw: unknown): Entry | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.kind === 'file') {
    const { size, mtimeMs, mode, hash } = r;
    if (
      !Number.isSafeInteger(size) ||
      (size as number) < 0 ||
      typeof mtimeMs !== 'number' ||
      !Number.isFinite(mtimeMs) ||
      !isMode(mode)
    )
      return undefined;
    if (hash === undefined) return { kind: 'file', size: size as number, mtimeMs, mode };
    return typeof hash === 'string' && HASH.test(hash)
      ? { kind: 'file', size: size as number, mtimeMs, mode, hash }
      : undefined;
  }
  if (r.kind === 'dir') return isMode(r.mode) ? { kind: 'dir', mode: r.mode } : undefined;
  if (r.kind === 'symlink') return typeof r.target === 'string' ? { kind: 'symlink', target: r.target } : undefined;
  return undefined;
}

function validateEntries(pairs: Iterable<readonly [string, unknown]>): Map<string, Entry> | string {
  const out = new Map<string, Entry>();
  for (const [path, raw] of pairs) {
    if (!isSafeRelPath(path)) return `entry ${JSON.stringify(path)}: not a safe relative path`;
    if (out.has(path)) return `entry ${JSON.stringify(path)}: listed twice`;
    let entry = quickEntry(raw);
    if (!entry) {
      const parsed = entrySchema.safeParse(raw);
      if (!parsed.success) return `entry ${JSON.stringify(path)}: ${describeIssues(parsed.error, 'field')}`;
      entry = parsed.data;
    }
    if (path === '' && entry.kind !== 'dir') return `entry "": the root must be a dir, not a ${entry.kind}`;
    out.set(path, entry);
  }
  for (const path of out.keys()) {
    if (path === '') continue;
    const parent = parentOf(path);
    if (parent === '') continue;
    const p = out.get(parent);
    if (p === undefined) return `entry ${JSON.stringify(path)}: its parent ${JSON.stringify(parent)} is missing`;
    if (p.kind !== 'dir')
      return `entry ${JSON.stringify(path)}: its parent ${JSON.stringify(parent)} is a ${p.kind}, not a dir`;
  }
  return out;
}

/** The problem with a snapshot as an index, or undefined when it is valid. */
export function snapshotProblem(snapshot: Snapshot): string | undefined {
  const r = validateEntries(snapshot);
  return typeof r === 'string' ? r : undefined;
}

function damaged(file: string, what: string, cause?: unknown): Error {
  return new Error(
    `The sync index ${file} is damaged: ${what}. Ferry will not guess what the server holds. ` +
      'Delete that file to make Ferry compare this folder with the server in full on the next sync.',
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Loads an index. Undefined means there is no index yet (first sync). Throws when the file
 * exists but cannot be read or is invalid in any way.
 */
export async function loadIndex(file: string): Promise<Map<string, Entry> | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Could not read the sync index ${file}: ${(err as Error).message}`, { cause: err });
  }
  const lines = byLines(bytes);
  let json: unknown;
  if (lines === undefined) {
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw damaged(file, `not valid JSON (${(err as Error).message})`, err);
    }
  } else json = lines;
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > INDEX_VERSION) {
    throw new Error(
      `The sync index ${file} was written by a newer version of Ferry (format ${version}; this one reads ${INDEX_VERSION}). ` +
        'Update Ferry, or delete that file to make Ferry compare this folder with the server in full on the next sync.',
    );
  }
  const pairs = (json as { entries?: unknown } | null)?.entries;
  if (!headSchema.safeParse(json).success || !Array.isArray(pairs) || !pairs.every(isPair)) {
    const parsed = fileSchema.safeParse(json);
    throw damaged(file, parsed.success ? 'unreadable entries' : describeIssues(parsed.error, 'index'));
  }
  const entries = validateEntries(pairs);
  if (typeof entries === 'string') throw damaged(file, entries);
  return entries;
}

const HEAD_END = '"entries":[';
const TAIL = Buffer.from('\n]}\n');
/** How much of the index is read, parsed or written as one piece. */
const PIECE_BYTES = 1 << 20;

/**
 * The file as {@link saveIndex} lays it out (the head on the first line, one entry per line,
 * `]}` on the last), parsed in pieces of whole lines: what JSON.parse of the whole file gives, without
 * holding the whole text and the whole parsed tree at once (a 1,000,000-entry index is about
 * 150 MB of JSON). Undefined when the file is laid out any other way or a line does not
 * parse: then the whole file is parsed, and its error (if any) is the one reported.
 */
function byLines(bytes: Buffer): { entries: unknown[] } | undefined {
  const first = bytes.indexOf(10);
  if (first < 0 || bytes.length < first + TAIL.length || !bytes.subarray(bytes.length - TAIL.length).equals(TAIL))
    return undefined;
  const headText = bytes.toString('utf8', 0, first);
  if (!headText.endsWith(HEAD_END)) return undefined;
  try {
    const head = JSON.parse(`${headText}]}`) as { entries: unknown[] };
    const end = bytes.length - TAIL.length;
    const entries: unknown[] = [];
    // About 1 MB of whole lines at a time, parsed as one array: the commas between the lines
    // of a piece are JSON's to check; the one ending a piece (not the last) is checked here.
    for (let start = first + 1; start < end;) {
      let stop = Math.min(start + PIECE_BYTES, end);
      if (stop < end) {
        stop = bytes.indexOf(10, stop);
        if (stop < 0 || stop > end) stop = end;
      }
      if (stop < end && bytes[stop - 1] !== 44) return undefined;
      const piece = JSON.parse(`[${bytes.toString('utf8', start, stop < end ? stop - 1 : stop)}]`) as unknown[];
      for (const pair of piece) entries.push(pair);
      start = stop + 1;
    }
    head.entries = entries;
    return head;
  } catch {
    return undefined;
  }
}

/**
 * Atomically replaces the index with `snapshot`: validates it (throws and leaves the old
 * file untouched when invalid), writes a temp file in the same directory, fsyncs it,
 * renames it over `file` and fsyncs the directory. Creates the directory when missing.
 */
export async function saveIndex(file: string, snapshot: Snapshot, meta: IndexMeta): Promise<void> {
  const entries = validateEntries(snapshot);
  if (typeof entries === 'string') {
    throw new Error(
      `Refusing to save the sync index ${file}: ${entries}. This is a bug in Ferry; the previous index is kept.`,
    );
  }
  const head = JSON.stringify({
    version: INDEX_VERSION,
    localRoot: meta.localRoot,
    remote: meta.remote,
    savedAt: new Date().toISOString(),
  });
  const paths = [...entries.keys()].sort(comparePathOrder);

  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      // In pieces of about 1 MB: never the whole file as one string (150 MB for a million entries).
      let piece = `${head.slice(0, -1)},"entries":[\n`;
      for (let i = 0; i < paths.length; i++) {
        const p = paths[i] as string;
        piece += JSON.stringify([p, entries.get(p)]) + (i < paths.length - 1 ? ',\n' : '\n');
        if (piece.length >= PIECE_BYTES) {
          await fh.writeFile(piece, 'utf8'); // from the current position, all of it
          piece = '';
        }
      }
      if (paths.length === 0) piece += '\n';
      await fh.writeFile(`${piece}]}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`Could not save the sync index ${file}: ${(err as Error).message}`, { cause: err });
  }
  await syncDirectory(dir);
}

/** Makes a rename durable. Windows cannot open directories for fsync; there it is skipped. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
