/**
 * The crash journal: what a pass is about to do on the server, written before it acts and
 * removed once the index that records the outcome is saved. It is for a killed process
 * (the page cache survives it, so it is not fsynced), not for a power cut.
 *
 * Five kinds of record; the first four planned here from the plan and the ancestor:
 * - `create`: a path the ancestor does not know yet. Recorded in the ancestor before acting
 *   and taken into it again on recovery (safe whatever happened, see {@link plannedCreations});
 *   after a crash or a cut it is also held pending, so that what the server shows there
 *   replaces the recorded entry once scanned: a mkdir that landed without its mode (the
 *   server's umask, the setstat never sent) would otherwise claim the local mode for ever.
 * - `replace`: an overwrite of a path the ancestor knows. Accepted after a crash only if the
 *   server shows exactly the entry that would have landed.
 * - `rename`: a server rename. Accepted after a crash only if the server shows it done.
 * The last two are decided by {@link matchJournaled} at the first pass that scans the path.
 * - `kept-create`: a creation at or below a path whose server entry is being kept as a
 *   conflict copy (or cleared) first; not recorded in advance (the ancestor must keep
 *   describing the server until the keep succeeds). Accepted after a crash or a cut only if
 *   the server shows exactly what Ferry would have created there.
 * - `began`: when the pass started acting. A pass interrupted after it kept a server version
 *   as a conflict copy but before it logged that leaves a copy with no record; the first full
 *   pass afterwards logs the copies made since then (unlogged-copies.ts).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Plan } from '../core/plan.ts';
import {
  comparePaths,
  isSafeRelPath,
  isWithin,
  parentOf,
  sameContent,
  type Entry,
  type Snapshot,
} from '../core/tree.ts';
import { moveSubtree, recordEntry } from './ancestor-edits.ts';
import { entrySchema } from './index-store.ts';

export type JournalRecord =
  | { kind: 'create'; path: string; entry: Entry }
  | { kind: 'replace'; path: string; entry: Entry }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'kept-create'; path: string; entry: Entry }
  | { kind: 'began'; at: number };

const relPath = z.string().refine((p) => p !== '' && isSafeRelPath(p), 'must be a relative path below the root');
const recordSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('create'), path: relPath, entry: entrySchema }),
  z.object({ kind: z.literal('replace'), path: relPath, entry: entrySchema }),
  z.object({ kind: z.literal('rename'), from: relPath, to: relPath }),
  z.object({ kind: z.literal('kept-create'), path: relPath, entry: entrySchema }),
  z.object({ kind: z.literal('began'), at: z.number().int().min(0) }),
]);
const journalSchema = z.object({ version: z.literal(1), records: z.array(recordSchema) });

/** Every record the plan needs journaled, creations parents first. */
export function journalFor(plan: Plan, ancestor: Snapshot): JournalRecord[] {
  return [
    ...plannedCreations(plan, ancestor).map(([path, entry]) => ({ kind: 'create' as const, path, entry })),
    ...plannedReplacements(plan, ancestor).map(([path, entry]) => ({ kind: 'replace' as const, path, entry })),
    ...plannedRenames(plan).map(([from, to]) => ({ kind: 'rename' as const, from, to })),
    ...plannedKeptCreations(plan).map(([path, entry]) => ({ kind: 'kept-create' as const, path, entry })),
  ];
}

export async function writeJournal(file: string, records: readonly JournalRecord[]): Promise<void> {
  await writeFile(file, JSON.stringify({ version: 1, records }));
}

export async function removeJournal(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** The journal at `file` holds exactly the records still pending (none: no file). */
export async function journalPending(file: string, pending: PendingJournal): Promise<void> {
  const left = pendingRecords(pending);
  if (left.length) await writeJournal(file, left);
  else await removeJournal(file);
}

/**
 * The records of the journal at `file`; empty when there is none, or when it is torn or
 * invalid (a journal is written whole before the pass acts, so a torn one means the pass
 * never started its operations). The positional form of earlier versions
 * (`[path, entry]`, `[path, entry, 'replace']`, `[from, to, 'rename']`) is read too.
 */
export async function readJournal(file: string): Promise<JournalRecord[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return [];
  }
  const parsed = journalSchema.safeParse(Array.isArray(raw) ? { version: 1, records: fromPositional(raw) } : raw);
  return parsed.success ? parsed.data.records : [];
}

function fromPositional(items: unknown[]): unknown[] {
  return items.map((item) => {
    const [a, b, kind] = Array.isArray(item) ? (item as unknown[]) : [];
    if (kind === 'rename') return { kind, from: a, to: b };
    return { kind: kind === 'replace' ? 'replace' : 'create', path: a, entry: b };
  });
}

/** Journal records still waiting for a pass to scan their paths (see {@link matchJournaled}). */
export interface PendingJournal {
  /** Overwrites under way at the crash: path -> the entry that would have landed. */
  maybeLanded: Map<string, Entry>;
  /** Renames under way at the crash, [from, to]. */
  maybeMoved: [string, string][];
  /** Creations after a keep or clear under way at the crash: path -> the entry Ferry would have created. */
  maybeCreated: Map<string, Entry>;
  /** When the earliest interrupted pass began acting: conflict copies since then may lack a record. */
  copiesSince?: number;
}

function noteBegan(pending: PendingJournal, at: number): void {
  pending.copiesSince = Math.min(pending.copiesSince ?? at, at);
}

/** The still-pending records, to be written again with the next pass's journal (so a crash keeps them). */
export function pendingRecords(pending: PendingJournal): JournalRecord[] {
  return [
    ...[...pending.maybeLanded].map(([path, entry]) => ({ kind: 'replace' as const, path, entry })),
    ...pending.maybeMoved.map(([from, to]) => ({ kind: 'rename' as const, from, to })),
    ...[...pending.maybeCreated].map(([path, entry]) => ({ kind: 'kept-create' as const, path, entry })),
    ...(pending.copiesSince !== undefined ? [{ kind: 'began' as const, at: pending.copiesSince }] : []),
  ];
}

/**
 * A pass died with its transport (the connection cut) after writing `records`: its
 * overwrites and renames may have landed without Ferry learning it. They become pending,
 * exactly as after a crash, so the next pass accepts those the server shows done instead of
 * taking Ferry's own writes for server changes. Creations are in the ancestor already; they are
 * held as well, so the entry the server shows replaces the one recorded (see `create` above).
 */
export function holdPending(pending: PendingJournal, records: readonly JournalRecord[]): void {
  for (const r of records) {
    if (r.kind === 'replace') pending.maybeLanded.set(r.path, r.entry);
    else if (r.kind === 'kept-create' || r.kind === 'create') pending.maybeCreated.set(r.path, r.entry);
    else if (r.kind === 'began') noteBegan(pending, r.at);
    else if (r.kind === 'rename' && !pending.maybeMoved.some(([f, t]) => f === r.from && t === r.to))
      pending.maybeMoved.push([r.from, r.to]);
  }
}

/**
 * Applies a crashed pass's journal to the ancestor: creations join it (those whose parent
 * the ancestor does not hold as a directory are left out); replacements and renames are
 * returned for {@link matchJournaled}. Returns how many creations were added.
 */
export function recoverJournal(
  records: readonly JournalRecord[],
  ancestor: Map<string, Entry>,
): { added: number; pending: PendingJournal } {
  const pending: PendingJournal = { maybeLanded: new Map(), maybeMoved: [], maybeCreated: new Map() };
  let added = 0;
  for (const r of records) {
    if (r.kind === 'rename') pending.maybeMoved.push([r.from, r.to]);
    else if (r.kind === 'began') noteBegan(pending, r.at);
    else if (r.kind === 'kept-create') pending.maybeCreated.set(r.path, r.entry);
    else if (r.kind === 'replace') pending.maybeLanded.set(r.path, r.entry);
    else if (!ancestor.has(r.path) && (parentOf(r.path) === '' || ancestor.get(parentOf(r.path))?.kind === 'dir')) {
      ancestor.set(r.path, r.entry);
      pending.maybeCreated.set(r.path, r.entry);
      added++;
    }
  }
  return { added, pending };
}

/** Same content and, but for links, same mode. */
function sameEntry(a: Entry, b: Entry): boolean {
  return sameContent(a, b) && (a.kind === 'symlink' || b.kind === 'symlink' || a.mode === b.mode);
}

/**
 * Decides the pending records whose paths lie in `scopes`, against what the server now
 * shows, once each:
 * - a rename the server shows done (the old path gone, the new one there with the same
 *   kind, and unknown to the ancestor) moves in the ancestor too; left out, the moved tree
 *   would pass for the server's own and stay there after a local delete;
 * - an overwrite the server shows exactly (same content, same mode) landed: the ancestor
 *   takes it, so Ferry's own write is not taken for a server change.
 * An overwrite or creation whose path shows neither what was there before nor what Ferry
 * would have written is passed to `originUnknown`: it may be a server edit or Ferry's own
 * write, and is treated as the server's but must be reported.
 *
 * Returns whether any record was decided. A decided record leaves the pending set, so the
 * next journal written no longer holds it: the caller must save the ancestor before that
 * (soak seeds 1203208, 1203209: a pass killed after writing its journal and before saving
 * the index lost creations of the pass before it, which had died with its connection).
 */
export function matchJournaled(
  pending: PendingJournal,
  ancestor: Map<string, Entry>,
  remote: Snapshot,
  scopes: readonly string[],
  originUnknown?: (path: string, found: Entry) => void,
): boolean {
  const inScope = (p: string) => scopes.some((s) => isWithin(p, s));
  const before = pending.maybeMoved.length + pending.maybeLanded.size + pending.maybeCreated.size;
  pending.maybeMoved = pending.maybeMoved.filter(([from, to]) => {
    if (!inScope(from) || !inScope(to)) return true;
    const a = ancestor.get(from);
    const r = remote.get(to);
    if (a && r && a.kind === r.kind && !remote.has(from) && !ancestor.has(to)) moveSubtree(ancestor, from, to);
    return false;
  });
  for (const [p, cand] of pending.maybeLanded) {
    if (!inScope(p)) continue;
    pending.maybeLanded.delete(p);
    const r = remote.get(p);
    const a = ancestor.get(p);
    if (!r || !a) continue;
    if (!sameEntry(cand, r)) {
      // Neither what was there nor what Ferry wrote: whose it is cannot be known.
      if (!sameEntry(a, r)) originUnknown?.(p, r);
      continue;
    }
    // A mode change keeps the content hash the ancestor had.
    ancestor.set(
      p,
      cand.kind === 'file' && cand.hash === undefined && a.kind === 'file' && a.hash && sameContent(a, cand)
        ? { ...cand, hash: a.hash }
        : cand,
    );
  } // Parents first, so a directory's children find it recorded.
  for (const [p, cand] of [...pending.maybeCreated].sort(([x], [y]) => comparePaths(x, y))) {
    if (!inScope(p)) continue;
    pending.maybeCreated.delete(p);
    const r = remote.get(p);
    if (r === undefined) continue;
    if (parentOf(p) !== '' && ancestor.get(parentOf(p))?.kind !== 'dir') continue;
    if (r.kind !== cand.kind || (r.kind !== 'dir' && !sameContent(cand, r))) {
      originUnknown?.(p, r);
      continue;
    }
    // The server's own attributes: a mode that differs from the local one is pushed next.
    recordEntry(
      ancestor,
      p,
      r.kind === 'file' && cand.kind === 'file' && !r.hash && cand.hash ? { ...r, hash: cand.hash } : r,
    );
  }
  return pending.maybeMoved.length + pending.maybeLanded.size + pending.maybeCreated.size < before;
}

/**
 * What the plan is about to create on the server at paths the ancestor does not know yet
 * (new directories, files and links, and where renames put known subtrees), parents first.
 *
 * The engine records these in the ancestor *before* it acts (and in a journal on disk, for a
 * crash): an operation whose outcome it never learns (the connection cut after the server
 * acted, or Ferry killed before it saved its index) must not leave something on the server
 * that Ferry then takes for someone else's and keeps for ever once the local side deletes it.
 * Such an entry is safe whatever happened: absent on the server, it is
 * created again if it still exists locally (or forgotten if not); present, it is Ferry's own
 * and follows the local side. Excluded: paths whose server entry is being kept as a conflict
 * copy or cleared first (there the ancestor must keep describing what the server holds).
 */
export function plannedCreations(plan: Plan, ancestor: Snapshot): [string, Entry][] {
  const replaced = replacedPaths(plan);
  const candidates = new Map<string, Entry>();
  for (const o of plan.ops) {
    if ((o.op === 'mkdir' || o.op === 'upload' || o.op === 'symlink') && !ancestor.has(o.path))
      candidates.set(o.path, o.entry);
    if (o.op === 'rename' && !ancestor.has(o.to)) {
      for (const [p, e] of ancestor) if (isWithin(p, o.from)) candidates.set(o.to + p.slice(o.from.length), e);
    }
  }
  const out = new Map<string, Entry>();
  for (const [p, e] of [...candidates].sort(([a], [b]) => comparePaths(a, b))) {
    if (p === '' || replaced.some((r) => isWithin(p, r))) continue;
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (parent === '' || (out.get(parent) ?? ancestor.get(parent))?.kind === 'dir') out.set(p, e);
  }
  return [...out];
}

/** Paths whose server entry the plan clears or keeps as a conflict copy before creating there. */
function replacedPaths(plan: Plan): string[] {
  const replaced: string[] = [];
  for (const o of plan.ops) {
    if (o.op === 'clear' || ((o.op === 'mkdir' || o.op === 'upload' || o.op === 'symlink') && o.keepRemoteCopy))
      replaced.push(o.path);
  }
  return replaced;
}

/**
 * What the plan is about to overwrite on the server at paths the ancestor already knows
 * (uploads over Ferry's own earlier version, mode changes), with the entry the server will
 * hold once each lands. Unlike {@link plannedCreations} these are not recorded in advance:
 * the engine journals them, and after a crash accepts one only if the server shows exactly
 * that entry. Without it, a file Ferry had rewritten just before being killed looked changed
 * on the server, and deleting it locally kept it there as a conflict.
 */
export function plannedReplacements(plan: Plan, ancestor: Snapshot): [string, Entry][] {
  const out: [string, Entry][] = [];
  for (const o of plan.ops) {
    if ((o.op === 'upload' && !o.keepRemoteCopy && ancestor.has(o.path)) || o.op === 'setAttributes')
      out.push([o.path, o.entry]);
  }
  return out;
}

/**
 * The creations {@link plannedCreations} leaves out because they lie at or below a path whose
 * server entry is kept as a conflict copy or cleared first, parents first. Journaled, not
 * recorded: after a crash or a cut, only what the server shows is taken (matchJournaled).
 */
export function plannedKeptCreations(plan: Plan): [string, Entry][] {
  const replaced = replacedPaths(plan);
  if (replaced.length === 0) return [];
  const out: [string, Entry][] = [];
  for (const o of plan.ops)
    if ((o.op === 'mkdir' || o.op === 'upload' || o.op === 'symlink') && replaced.some((r) => isWithin(o.path, r)))
      out.push([o.path, o.entry]);
  return out.sort(([a], [b]) => comparePaths(a, b));
}

/** The plan's server renames, [from, to]: journaled like creations (see {@link matchJournaled}). */
export function plannedRenames(plan: Plan): [string, string][] {
  const out: [string, string][] = [];
  for (const o of plan.ops) if (o.op === 'rename') out.push([o.from, o.to]);
  return out;
}
