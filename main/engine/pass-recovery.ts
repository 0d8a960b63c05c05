/**
 * What a pass settles first, left by an earlier pass that was interrupted (Ferry killed, the
 * connection cut, the server refusing mid-way): server entries still moved aside, and
 * conflict copies made without their record. See aside-recovery.ts and unlogged-copies.ts.
 */
import type { Plan } from '../core/plan.ts';
import { asideNameFor } from '../core/temp-name.ts';
import { ancestorsOf, baseName, isWithin, joinRel, parentOf, type Entry, type Snapshot } from '../core/tree.ts';
import type { ItemResult, RemoteTransport } from '../transport/transport.ts';
import { planAsideRecovery, settleAsides } from './aside-recovery.ts';
import { appendConflict, conflictSide, readConflicts, type ConflictRecord } from './conflict-log.ts';
import { saveIndex } from './index-store.ts';
import { journalPending, matchJournaled, pendingRecords, writeJournal } from './journal.ts';
import type { PassLane } from './pass.ts';
import { findUnloggedCopies } from './unlogged-copies.ts';

/** Settles the asides in a raw scan (aside-recovery.ts); true when any was settled. */
export async function settleLeftoverAsides(
  lane: PassLane,
  remote: Snapshot,
  local: Snapshot,
  unsettled: ItemResult[],
): Promise<boolean> {
  const now = new Date();
  const plan = planAsideRecovery(remote, lane.ancestor, local, now);
  if (!plan.restore.length && !plan.discard.length && !plan.keep.length && !plan.cleanup.length) return false;
  if (plan.keep.length) {
    // Killed between a keep and its record, the copy must still be found (unlogged-copies.ts).
    lane.journal.copiesSince ??= now.getTime();
    await writeJournal(lane.files.journal, pendingRecords(lane.journal));
  }
  const { settled, conflicts, unsettled: refused } = await settleAsides(lane.transports.main, plan, now);
  unsettled.push(...refused);
  for (const record of conflicts) {
    await recordConflict(lane, record);
  }
  return settled > 0;
}

/**
 * The plan without the forgets, removals and clears at, above or below a path whose server
 * version still lies in an unsettled aside (aside-recovery.ts settleAsides): the ancestor
 * keeps the path, so the next pass still knows the aside's original name and settles it then,
 * and the directory holding the aside is not taken for empty. Below too: an aside directory
 * holds what Ferry made there, and once it is put back, a child the ancestor had forgotten
 * would pass for the server's own and stay there for good (seed 1203201).
 */
export function keepAsidedPaths(plan: Plan, unsettled: readonly string[]): Plan {
  if (unsettled.length === 0) return plan;
  const drops = (o: Plan['ops'][number]) =>
    (o.op === 'forget' || o.op === 'remove' || o.op === 'clear') &&
    unsettled.some((u) => isWithin(u, o.path) || isWithin(o.path, u));
  const ops = plan.ops.filter((o) => !drops(o));
  return { ...plan, ops };
}

/**
 * Decides the journal records of an interrupted pass that lie in `scopes` (matchJournaled).
 * What was decided is in no journal once this pass writes its own, so the index is saved
 * and the journal rewritten right away: a kill before the pass ends must not lose it. A
 * path whose origin cannot be known is logged ('origin-unknown'), never passed over.
 */
export async function decideJournaled(
  lane: PassLane,
  remote: Snapshot,
  local: Snapshot,
  scopes: readonly string[],
): Promise<void> {
  const { journal, ancestor, config, status } = lane;
  if (!journal.maybeLanded.size && !journal.maybeMoved.length && !journal.maybeCreated.size) return;
  const unknown: [string, Entry][] = [];
  if (!matchJournaled(journal, ancestor, remote, scopes, (p, found) => unknown.push([p, found]))) return;
  await saveIndex(lane.files.index, ancestor, { localRoot: config.localRoot, remote: status.remote });
  await journalPending(lane.files.journal, journal);
  for (const [path, found] of unknown)
    await recordConflict(lane, {
      time: new Date().toISOString(),
      path,
      local: conflictSide(local.get(path)),
      remote: conflictSide(found),
      action: 'origin-unknown',
      note: `Ferry was writing ${path} when it lost the connection or was stopped, and the server now holds something else there: an edit made on the server, or Ferry's own write. It was left as it is: check it, then edit the local file to push yours over it (the server's is kept as a conflict copy) or delete it on the server.`,
    });
}

/**
 * Logs the conflict copies an interrupted pass made without a record (unlogged-copies.ts).
 * Runs on a full pass only: a copy sits next to its original, anywhere in the tree.
 */
export async function logUnloggedCopies(lane: PassLane, remote: Snapshot, local: Snapshot): Promise<void> {
  const since = lane.journal.copiesSince as number;
  const logged = new Set<string>();
  for (const r of (await readConflicts(lane.files.conflicts)).records)
    if (r.conflictCopyPath !== undefined) logged.add(r.conflictCopyPath);
  for (const record of findUnloggedCopies(remote, lane.ancestor, local, logged, since, new Date())) {
    await recordConflict(lane, record);
  }
  delete lane.journal.copiesSince;
}

/**
 * The forgets of a partial pass whose path, or a directory above it, lies moved aside on the
 * server. A pass's scopes take in each dirty path's parent, so an aside next to a dirty path
 * is listed; but a scope below a directory that lies aside (a late event for `d/sub/x` after
 * `d/sub` was deleted locally and moved aside) lists neither side's `d/sub` nor the aside in
 * `d`, and the plan forgets `d/sub`. Once the aside is put back, `d/sub` would be on the
 * server unknown to Ferry for ever. One small scan probes the aside names of those paths and
 * their directories; the pass keeps the paths (keepAsidedPaths) and rescans their parents,
 * where the aside is listed and settled. A full pass lists every aside itself.
 */
export async function asidedForgets(
  transport: Pick<RemoteTransport, 'scan'>,
  plan: Plan,
  scopes: readonly string[],
): Promise<string[]> {
  if (scopes.includes('')) return [];
  const forgets = plan.ops.filter((o) => o.op === 'forget').map((o) => o.path);
  if (forgets.length === 0) return [];
  /** Aside path -> the path it would stand for. */
  const probes = new Map<string, string>();
  // An aside's own aside too: a discard of an aside moves it aside once more (seed 1203210).
  for (const f of forgets)
    for (const p of [f, ...ancestorsOf(f)]) {
      const once = asideNameFor(baseName(p));
      probes.set(joinRel(parentOf(p), once), p);
      probes.set(joinRel(parentOf(p), asideNameFor(once)), p);
    }
  const seen = (await transport.scan([...probes.keys()])).entries;
  const asided = new Set<string>();
  for (const [probe, p] of probes) if (seen.has(probe)) asided.add(p);
  if (asided.size === 0) return [];
  return forgets.filter((f) => [f, ...ancestorsOf(f)].some((p) => asided.has(p)));
}

/** Appends `record` to the lane's conflict log (fsynced), counts it and publishes it. */
export async function recordConflict(
  lane: Pick<PassLane, 'files' | 'status' | 'conflict'>,
  record: ConflictRecord,
): Promise<void> {
  await appendConflict(lane.files.conflicts, record);
  lane.status.conflictCount++;
  lane.conflict(record);
}
