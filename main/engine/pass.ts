/**
 * One reconcile pass of one target lane over some scopes: scan both sides, reconcile, check
 * the safety rails, journal, apply, and record what happened (ancestor index, retry book,
 * conflict log, status). Throws only when the transport died; every per-path problem is
 * data in the lane's retry book and status.
 *
 * Invariants:
 * - Both sides of every path in scope are scanned in the same pass, and never through a
 *   symlink: a scope below a link (or a file) on either side is widened to that entry.
 * - The ancestor changes only from what actually happened (applyPlan), from journal records
 *   the server confirms, and from creations recorded before acting (see journal.ts).
 * - The ancestor on disk is saved after every pass that had something to do.
 */
import type { HaltReason, Plan } from '../core/plan.ts';
import { hasAncestorOrSelfIn, isWithin, parentOf, type Entry, type Snapshot } from '../core/tree.ts';
import type { OpenTransports } from '../transport/open-transport.ts';
import type { ItemResult } from '../transport/transport.ts';
import { applyPlan, type AppliedConflict, type ApplyResult, type FileOutcome } from './apply-plan.ts';
import type { RetryBook } from './backoff.ts';
import { pruneTrash } from './trash.ts';
import { TRASH_DIR } from '../core/temp-name.ts';
import { utcStamp } from '../core/conflict-name.ts';
import { conflictSide, type ConflictRecord } from './conflict-log.ts';
import {
  asidedForgets,
  decideJournaled,
  keepAsidedPaths,
  logUnloggedCopies,
  recordConflict,
  settleLeftoverAsides,
} from './pass-recovery.ts';
import type { FolderConfig, FolderStateFiles } from './folder-config.ts';
import { saveIndex } from './index-store.ts';
import {
  holdPending,
  journalFor,
  journalPending,
  pendingRecords,
  writeJournal,
  type PendingJournal,
} from './journal.ts';
import { keepServerCopies } from './keep-server-copies.ts';
import type { LocalSide } from './local-side.ts';
import { reconcile } from './reconcile.ts';
import { hashRenameCandidates, isIgnoredPath, scanBothSides, snapshotsOf } from './pass-scan.ts';
import { dropSkipped, mergeSkipped } from './skipped-files.ts';
import { RemoteRootError } from './target-connection.ts';
import { describeHalt, railsFor } from './safety.ts';
import type { FolderState, FolderStatus } from './status.ts';

export interface PassSummary {
  inSync: boolean;
  uploaded: number;
  removed: number;
  failed: number;
  conflicts: number;
  halted?: HaltReason;
}

/** What a pass reads and updates: one target lane's state. */
export interface PassLane {
  readonly config: FolderConfig;
  readonly files: FolderStateFiles;
  readonly local: Pick<LocalSide, 'scan' | 'ignores' | 'hash' | 'reloadIgnores' | 'rootLink'>;
  readonly transports: OpenTransports;
  /** The last synced state; edited in place. */
  readonly ancestor: Map<string, Entry>;
  /** Records of a crashed pass still waiting to be matched against the server. */
  readonly journal: PendingJournal;
  readonly retries: RetryBook;
  /** Paths whose uploads were not landed because the file changed since its scan, in a row. */
  readonly changedSends: Map<string, number>;
  /** The lane's published status; edited in place. */
  readonly status: FolderStatus;
  /** The user's answers to a halt; a pass that runs past the rails clears them. */
  readonly approvals: DeleteApprovals;
  /** Pause or shutdown: checked between apply phases; what was not done is planned again. */
  shouldStop(): boolean;
  setState(state: FolderState): void;
  /** Progress worth publishing (throttled by the receiver). */
  progress(): void;
  bytesSent(bytes: number): void;
  file(outcome: FileOutcome): void;
  conflict(record: ConflictRecord): void;
}

export interface DeleteApprovals {
  /** The server files the last delete halt would have deleted: what a confirmation approves. */
  shown: readonly string[];
  /** Confirmed deletions: the next plan may delete these and nothing else without halting. */
  approved: ReadonlySet<string> | undefined;
  /** The user cancelled the deletes: the next plan keeps the server's copies (keep-server-copies.ts). */
  keepCopies: boolean;
  /** When failed items were last all retried at once (after a write that may have freed space). */
  lastRetrySoon: number;
}

/**
 * Sends of a file that changed since its scan, not landed, before the next one lands all the
 * same (a log that is always being written would otherwise never reach the server).
 */
export const CHANGED_SENDS_BEFORE_LANDING = 3;

/** How many of a delete halt's paths the status carries (all of them stay in {@link DeleteApprovals}). */
export const HALT_PATHS_SHOWN = 50;

/** The pass's summary without `inSync`, and the paths to look at again. */
export interface PassResult {
  summary: Omit<PassSummary, 'inSync'>;
  /** Local files that changed while being sent, and paths moved aside: rescan them. */
  changedDuringUpload: string[];
}

export async function runPass(lane: PassLane, scopesIn: readonly string[]): Promise<PassResult> {
  const { config, transports: t, ancestor, status: st } = lane;
  let scopes = [...scopesIn];
  const full = scopes.includes('');
  if (full) await lane.local.reloadIgnores();
  // A halted lane re-checking its halt stays 'halted' until this pass finds the cause gone.
  const recheck = st.state === 'halted';
  if (!recheck) lane.setState('scanning');
  const ig = lane.local.ignores;
  /** Original paths whose server version is still in an aside the server refused to settle. */
  const unsettled: ItemResult[] = [];
  const scanned = await scanBothSides(lane.local, t.main, scopes, (remote, local) =>
    settleLeftoverAsides(lane, remote, local, unsettled),
  );
  scopes = scanned.scopes;
  const { localScan, remoteScan } = scanned;
  const { local, remote } = snapshotsOf(scanned, ig);
  // Sockets, FIFOs and devices are left out like ignored paths, and listed (skipped-files.ts).
  for (const snapshot of [remote, ancestor]) dropSkipped(snapshot, localScan.skipped);
  st.skipped = mergeSkipped(st.skipped, localScan.skipped, scopes);
  if (remoteScan.tempFiles.length)
    await t.main.remove(remoteScan.tempFiles.map((p) => ({ path: p, kind: 'file' as const })));
  if (config.trash && full) await pruneTrash(t.main, remoteScan.entries, config.trash.days, Date.now());
  for (const [p, e] of [...ancestor]) if (isIgnoredPath(p, e, ig)) ancestor.delete(p);
  await decideJournaled(lane, remote, local, scopes);
  if (lane.journal.copiesSince !== undefined && full) await logUnloggedCopies(lane, remote, local);

  await hashRenameCandidates(lane.local, { ancestor, local, remote, scopes });
  const planned = reconcile({ ancestor, local, remote, mode: config.mode, scopes, detectRenames: t.main.canRename });
  const settling = keepAsidedPaths(
    lane.approvals.keepCopies ? keepServerCopies(planned) : planned,
    unsettled.map((u) => u.path),
  );
  // Probed only for what is not kept already, so a refused settle is not rescanned at once.
  const asided = await asidedForgets(t.main, settling, scopes);
  const plan = keepAsidedPaths(settling, asided);
  st.drift = mergeDrift(st.drift, plan.drift, scopes);
  const { halt, deletions } = railsFor({
    ancestor,
    local,
    remote,
    plan,
    mode: config.mode,
    fullScan: full,
    allowMassDelete: config.allowMassDelete || lane.approvals.keepCopies,
    approved: lane.approvals.approved,
    rootLink: lane.local.rootLink(),
  });
  if (halt) {
    lane.approvals.shown = halt.kind === 'root-missing' ? [] : deletions;
    lane.approvals.approved = undefined;
    st.halt = {
      reason: halt.kind,
      message: describeHalt(halt, config.localRoot),
      ...(halt.kind === 'root-missing'
        ? {}
        : { deletes: deletions.length, paths: deletions.slice(0, HALT_PATHS_SHOWN) }),
    };
    lane.setState('halted');
    return { summary: { uploaded: 0, removed: 0, failed: 0, conflicts: 0, halted: halt }, changedDuringUpload: [] };
  }
  lane.approvals.approved = undefined;
  lane.approvals.shown = [];
  lane.approvals.keepCopies = false;
  delete st.halt;
  if (recheck) lane.setState('scanning');
  const failedNow = new Set<string>();
  for (const u of unsettled) {
    const why = `Ferry moved the server's version aside and the server refused to put it back: ${u.error}. Retrying.`;
    lane.retries.recordFailure(u.path, why, u.errorCode ?? 'other', Date.now());
    failedNow.add(u.path);
  }
  const applied = await execute(lane, plan, remote, failedNow);
  for (const p of localScan.problems) {
    lane.retries.recordFailure(p.path, p.error, 'local-read-failed', Date.now());
    failedNow.add(p.path);
  }
  // Both sides of every path in scope were just looked at: what did not fail again is done
  // (synced, gone, or nothing to do), so it leaves the retry book instead of staying due.
  if (!lane.shouldStop()) lane.retries.settle(scopes, failedNow);
  // The server took a write: whatever failed earlier (full disk, read-only directory) may
  // well work now, so retry it at once instead of waiting out its backoff. At most every
  // few seconds, so items that keep failing are not retried after every single edit.
  const now = Date.now();
  if (applied.wrote && lane.retries.size > failedNow.size && now - lane.approvals.lastRetrySoon >= 5000) {
    lane.approvals.lastRetrySoon = now;
    lane.retries.retrySoon(now);
  }
  st.failedItems = lane.retries.list().map((f) => ({
    path: f.path,
    error: f.error,
    attempts: f.attempts,
    nextRetryAt: new Date(f.nextAttemptAt).toISOString(),
  }));
  return {
    summary: {
      uploaded: applied.uploaded,
      removed: applied.removed,
      conflicts: applied.conflicts,
      failed: st.failedItems.length,
    },
    // A path kept for an aside: its parent is scanned next, where the aside is settled.
    changedDuringUpload: [...applied.changedDuringUpload, ...asided.map(parentOf)],
  };
}

/** Journals, applies and records one plan. */
async function execute(
  lane: PassLane,
  plan: Plan,
  remote: Map<string, Entry>,
  failedNow: Set<string>,
): Promise<{ uploaded: number; removed: number; conflicts: number; wrote: boolean; changedDuringUpload: string[] }> {
  const { config, transports: t, ancestor, status: st } = lane;
  const serverOps = plan.ops.filter((o) => o.op !== 'adopt' && o.op !== 'forget');
  st.filesTotal = serverOps.length;
  st.bytesTotal = plan.ops.reduce((n, o) => n + (o.op === 'upload' ? o.entry.size : 0), 0);
  st.filesDone = 0;
  st.bytesDone = 0;
  st.inFlight = serverOps.length;
  if (serverOps.length) lane.setState('syncing');
  let uploaded = 0;
  let removed = 0;
  let wrote = false;
  const records = [...journalFor(plan, ancestor), ...pendingRecords(lane.journal)];
  // Any op on an existing server entry may keep it as a conflict copy: see unlogged-copies.ts.
  if (serverOps.length) records.push({ kind: 'began', at: Date.now() });
  const creations = new Map<string, Entry>();
  for (const r of records) if (r.kind === 'create') creations.set(r.path, r.entry);
  if (records.length) {
    await writeJournal(lane.files.journal, records);
    for (const [p, e] of creations) ancestor.set(p, e);
  }
  // Each conflict is logged as soon as it is resolved, not after the plan: a kill mid-plan
  // must not leave a conflict copy on the server with no record of it.
  const logged: Promise<void>[] = [];
  const logConflict = async (c: AppliedConflict) => {
    const record: ConflictRecord = {
      time: new Date().toISOString(),
      path: c.path,
      local: conflictSide(c.local),
      remote: conflictSide(c.remote),
      action: c.resolution,
      ...(c.conflictCopyPath ? { conflictCopyPath: c.conflictCopyPath } : {}),
      ...(c.error ? { note: `could not keep the server's copy: ${c.error}` } : c.note ? { note: c.note } : {}),
    };
    await recordConflict(lane, record);
  };
  let result;
  try {
    result = await applyPlan({
      plan,
      onConflict: (c) => logged.push(logConflict(c)),
      ...(config.trash ? { trashDir: `${TRASH_DIR}/${utcStamp(new Date())}` } : {}),
      transport: t.main,
      ...(t.delta
        ? {
            deltaTransport: t.delta,
            deltaThreshold: config.deltaThreshold,
            bulkThreshold: config.bulkThreshold,
            bulkBytes: config.bulkBytes,
          }
        : {}),
      localRoot: config.localRoot,
      ancestor,
      remote,
      now: () => new Date(),
      shouldStop: () => lane.shouldStop(),
      landIfChanged: (p) => (lane.changedSends.get(p) ?? 0) >= CHANGED_SENDS_BEFORE_LANDING,
      onProgress: (bytes) => {
        st.bytesDone += bytes;
        lane.bytesSent(bytes);
      },
      onOutcome: (o) => {
        st.filesDone++;
        st.inFlight = Math.max(0, st.inFlight - 1);
        // A rename involves two paths, and its retry must look at both: retried for the new
        // one only, the old one would stay on the server while Ferry reported in sync.
        const paths = o.op === 'rename' && o.from !== undefined ? [o.path, o.from] : [o.path];
        if (o.ok) {
          for (const p of paths) lane.retries.clear(p);
          wrote = true;
          if (o.op === 'upload') uploaded++;
          if (o.op === 'remove') removed++;
        } else {
          for (const p of paths) {
            lane.retries.recordFailure(p, o.error ?? 'failed', o.errorCode ?? 'other', Date.now());
            failedNow.add(p);
          }
        }
        lane.file(o);
        lane.progress();
      },
    });
  } catch (err) {
    // The transport died mid-plan: what it was doing may have landed (see holdPending).
    holdPending(lane.journal, records);
    await Promise.allSettled(logged);
    throw err;
  }
  await Promise.all(logged);
  st.inFlight = 0;
  for (const [path, entry] of result.recordedAfterClear) creations.set(path, entry);
  countChangedSends(lane.changedSends, result);
  dropRefusedCreations(ancestor, creations, result.outcomes, result.notLanded);
  // An overwrite reported failed may have landed: the transport fails it when it cannot
  // settle the version it moved aside after the new one landed (seed 1203401: the trash
  // directory refused as the server went read-only). Held like after a cut, it is accepted
  // once the server shows exactly what Ferry wrote; else Ferry's own version passes for a
  // server change, and a local delete keeps it.
  const failed = new Set(result.outcomes.filter((o) => !o.ok).map((o) => o.path));
  holdPending(
    lane.journal,
    records.filter((r) => r.kind === 'replace' && failed.has(r.path)),
  );
  // An empty plan changed nothing: leave the index file (and the disk) alone.
  if (plan.ops.length > 0)
    await saveIndex(lane.files.index, ancestor, { localRoot: config.localRoot, remote: st.remote });
  // What is still pending stays on disk, for the next run.
  if (records.length) await journalPending(lane.files.journal, lane.journal);
  const rootRefused = result.outcomes.find((o) => o.op === 'mkdir' && o.path === '' && !o.ok);
  // After the bookkeeping (nothing below the root was sent, and what was recorded for it went).
  if (rootRefused)
    throw new RemoteRootError(
      `The remote folder ${config.endpoint.remoteRoot} on ${config.endpoint.displayName} does not exist and could not be created: ${rootRefused.error}. Check the target path, and that ${config.endpoint.user} may create it there.`,
    );
  return {
    uploaded,
    removed,
    conflicts: result.conflicts.length,
    wrote,
    changedDuringUpload: result.changedDuringUpload,
  };
}

/**
 * Counts the sends of each file not landed because it changed since its scan. A landing of a
 * file that held still, or a failure, ends the count; a landing of a changed file does not,
 * so a file that never stops changing lands on every pass once it reached the bound.
 */
function countChangedSends(counts: Map<string, number>, result: ApplyResult): void {
  const changed = new Set(result.changedDuringUpload);
  for (const o of result.outcomes) if (o.op === 'upload' && (!o.ok || !changed.has(o.path))) counts.delete(o.path);
  for (const p of result.notLanded) counts.set(p, (counts.get(p) ?? 0) + 1);
}

/**
 * A creation the server refused did not happen: the entry recorded for it before acting goes
 * (the journal is for outcomes Ferry never learns). Left in place, it would claim the local
 * mode for a path that something else may create with another one (rsync's implied
 * directories are 0755), and the difference would pass for a server-side change for ever.
 * An upload not landed because its file changed since the scan did not happen either.
 * That covers a failed mkdir, upload or symlink at its path, and a failed rename at every
 * path recorded for its target. Afterwards no recorded creation outlives its parent: the
 * ancestor stays a tree (an entry whose parent is gone fails the index's validation, and
 * every later save with it).
 */
function dropRefusedCreations(
  ancestor: Map<string, Entry>,
  creations: ReadonlyMap<string, Entry>,
  outcomes: readonly FileOutcome[],
  notLanded: readonly string[],
): void {
  if (creations.size === 0) return;
  const dropIfRecorded = (p: string) => {
    const recorded = creations.get(p);
    if (recorded !== undefined && ancestor.get(p) === recorded) ancestor.delete(p);
  };
  for (const p of notLanded) dropIfRecorded(p);
  const failedRenameTargets = new Set<string>();
  for (const o of outcomes) {
    if (o.ok) continue;
    if (o.op === 'mkdir' || o.op === 'upload' || o.op === 'symlink') dropIfRecorded(o.path);
    else if (o.op === 'rename') failedRenameTargets.add(o.path);
  }
  // Parents first (journalFor lists creations in that order), so a dropped parent takes its
  // recorded children with it.
  for (const p of creations.keys()) {
    const parent = parentOf(p);
    if (hasAncestorOrSelfIn(failedRenameTargets, p) || (parent !== '' && ancestor.get(parent)?.kind !== 'dir'))
      dropIfRecorded(p);
  }
}

/** Drift found in `scopes` replaces what was known there; at most 1,000 paths are kept. */
function mergeDrift(previous: string[], found: string[], scopes: readonly string[]): string[] {
  const kept = previous.filter((p) => !scopes.some((s) => isWithin(p, s)));
  return [...kept, ...found].slice(0, 1000);
}
