/**
 * One target of a folder: a serialized loop with a named state (Syncthing's folder.Serve,
 * Mutagen's Scanning -> Reconciling -> Transitioning -> Saving) that owns the target's
 * connection, ancestor, crash journal, retry book, delete approvals, status and commands
 * after sync. Each pass is runPass (pass.ts). The folder (folder-loop.ts) owns the local
 * side and feeds every lane the same watcher batches and shared local scans.
 *
 * Invariants:
 * - Only the loop touches the ancestor, the transports and the index file; everything else
 *   (watcher batches, pause, stop) only sets flags, marks paths dirty and wakes the loop.
 * - Watcher events are hints: they mark paths dirty; each pass rescans those paths on both
 *   sides and reconciles. A full pass (scope "") runs at start, after every reconnect, after
 *   a resume, every poll interval while the watcher is down, and every rescan interval while
 *   it is live, so nothing missed stays missed.
 * - The ancestor on disk is saved after every pass that changed it, validated first.
 * - Commands after sync run once the lane has converged after passes that changed
 *   something (after-sync.ts); a follower of a canary rollout sends only what the canary
 *   released (canary.ts).
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Entry } from '../core/tree.ts';
import { endpointDisplay } from '../ssh/display.ts';
import type { OpenTransports, TransportOpener } from '../transport/open-transport.ts';
import { DEFAULT_HOOK_TIMEOUT_MS, runAfterSync } from './after-sync.ts';
import type { FileOutcome } from './apply-plan.ts';
import { RetryBook } from './backoff.ts';
import { HeldBack, type CanaryGate } from './canary.ts';
import { readConflicts, type ConflictRecord } from './conflict-log.ts';
import { folderStateFiles, type FolderConfig, type FolderStateFiles } from './folder-config.ts';
import { lockFolderState, type FolderLock } from './folder-lock.ts';
import { loadIndex, saveIndex } from './index-store.ts';
import { journalPending, readJournal, recoverJournal, type PendingJournal } from './journal.ts';
import { LaneLoop } from './lane-loop.ts';
import { runPass, type DeleteApprovals, type PassLane, type PassSummary } from './pass.ts';
import { passReport, type PassReport } from './pass-report.ts';
import type { LocalView } from './shared-scans.ts';
import { newFolderStatus, type FolderState, type FolderStatus, type HookReport } from './status.ts';
import { TargetConnection } from './target-connection.ts';
import { ThroughputMeter } from './throughput.ts';

export interface LaneEvents {
  status: [FolderStatus];
  file: [FileOutcome];
  conflict: [ConflictRecord];
  /** The lane became idle with nothing queued, failed or halted. */
  synced: [FolderStatus];
  pass: [PassReport];
  hook: [HookReport];
}

export interface LaneSetup {
  /** The folder as this target sees it (folder-config.ts laneConfig). */
  config: FolderConfig;
  local: LocalView;
  /** The folder's watcher generation (shared-scans.ts). */
  generation: () => number;
  openTransports: TransportOpener;
  /** A canary rollout: this lane is the canary, or a follower of it. */
  canary?: { gate: CanaryGate; role: 'canary' | 'follower' };
}

/** What a lane's `--once` run did: its passes' summary and its commands after sync. */
export interface LaneOnceResult {
  summary: PassSummary;
  hooks: HookReport[];
}

export class TargetLane extends EventEmitter<LaneEvents> {
  readonly config: FolderConfig;
  readonly files: FolderStateFiles;
  readonly setup: LaneSetup;
  readonly st: FolderStatus;
  ancestor = new Map<string, Entry>();
  journal: PendingJournal = { maybeLanded: new Map(), maybeMoved: [], maybeCreated: new Map() };
  readonly retries = new RetryBook();
  readonly changedSends = new Map<string, number>();
  readonly approvals: DeleteApprovals = { shown: [], approved: undefined, keepCopies: false, lastRetrySoon: 0 };
  readonly connection: TargetConnection;
  readonly loop: LaneLoop;
  #lock: FolderLock | undefined;
  /** Paths changed on the server since the commands after sync last ran. */
  readonly #changed = new Set<string>();
  /** The watcher generation this pass's work was taken at (canary.ts). */
  #passGeneration = 0;
  readonly #throughput = new ThroughputMeter();
  #lastPublish = 0;

  constructor(setup: LaneSetup) {
    super();
    this.setup = setup;
    this.config = setup.config;
    this.files = folderStateFiles(setup.config.stateDir);
    this.st = newFolderStatus({
      id: setup.config.id,
      localRoot: setup.config.localRoot,
      remote: endpointDisplay(setup.config.endpoint),
      mode: setup.config.mode,
    });
    this.connection = new TargetConnection(setup.config, setup.openTransports, (err) => {
      this.st.lastError = `Lost the connection to ${this.st.remote}: ${err?.message ?? 'closed'}. Reconnecting.`;
      this.st.lastErrorKind = 'connection';
      this.loop.wake();
    });
    this.loop = new LaneLoop(this);
  }

  get name(): string {
    return this.st.remote;
  }

  get hooksConfigured(): boolean {
    const h = this.config.hooks;
    return h?.afterSync !== undefined || h?.remoteAfterSync !== undefined;
  }

  status(): FolderStatus {
    return structuredClone(this.st);
  }

  async prepare(): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true });
    this.#lock ??= await lockFolderState(this.config.stateDir, `${this.config.localRoot} -> ${this.st.remote}`);
    this.ancestor = (await loadIndex(this.files.index)) ?? new Map();
    // Ferry stopped (killed, crashed) in the middle of a pass: see journal.ts.
    const records = await readJournal(this.files.journal);
    if (records.length) {
      const { added, pending } = recoverJournal(records, this.ancestor);
      this.journal = pending;
      if (added)
        await saveIndex(this.files.index, this.ancestor, { localRoot: this.config.localRoot, remote: this.st.remote });
    }
    // What is still pending stays journaled until a pass decides it (see matchJournaled): a
    // kill before that must find it again.
    await journalPending(this.files.journal, this.journal);
    this.st.conflictCount = (await readConflicts(this.files.conflicts)).records.length;
    await this.setup.local.reloadIgnores();
  }

  async releaseLock(): Promise<void> {
    const l = this.#lock;
    this.#lock = undefined;
    await l?.release();
  }

  /** One full reconcile pass and its follow-ups (`--once`): connect, sync, run the commands, disconnect. */
  async runOnce(): Promise<LaneOnceResult> {
    await this.prepare();
    try {
      await this.connect();
      this.#passGeneration = this.setup.generation();
      let summary = await this.pass(['']);
      // Files that changed mid-upload or were moved aside: a bounded number of follow-ups.
      for (let i = 0; i < 3 && this.loop.dirty.length && !summary.halted; i++) {
        const next = await this.pass(this.loop.takeDirty());
        summary = {
          ...next,
          uploaded: summary.uploaded + next.uploaded,
          removed: summary.removed + next.removed,
          conflicts: summary.conflicts + next.conflicts,
        };
      }
      const hooks = await this.afterPass(summary);
      return { summary, hooks };
    } finally {
      await this.connection.close();
      await this.releaseLock();
    }
  }

  async connect(): Promise<void> {
    this.setState('starting');
    const t = await this.connection.open();
    this.retries.retrySoon(Date.now());
    this.st.transport = t.main.kind;
    delete this.st.lastError;
    delete this.st.lastErrorKind;
    this.loop.needFullPass = true;
  }

  /** Notes the watcher generation the next pass's work is taken at. */
  beginWork(): void {
    this.#passGeneration = this.setup.generation();
  }

  /** One pass over `scopes` (see pass.ts). Throws when the transport died, or HeldBack. */
  async pass(scopes: string[]): Promise<PassSummary> {
    const transports = this.connection.current;
    if (!transports) throw new Error('not connected');
    const started = Date.now();
    const { summary, changedDuringUpload } = await runPass(this.#passLane(transports), scopes);
    this.connection.succeeded();
    this.emit('pass', passReport(summary, this.st, scopes, Date.now() - started));
    if (summary.halted) {
      this.loop.dirty = [];
      return { ...summary, inSync: false };
    }
    this.loop.dirty.push(...changedDuringUpload);
    return { ...summary, inSync: summary.failed === 0 && this.loop.dirty.length === 0 };
  }

  /**
   * After a pass: once converged with changes since the last run, the commands after sync;
   * then, for a canary, release the followers or hold them.
   */
  async afterPass(summary: PassSummary): Promise<HookReport[]> {
    let hooks: HookReport[] = [];
    if (summary.inSync && this.#changed.size && this.hooksConfigured && this.config.hooks) {
      const changed = [...this.#changed];
      this.#changed.clear();
      hooks = await runAfterSync({
        hooks: this.config.hooks,
        localRoot: this.config.localRoot,
        endpoint: this.config.endpoint,
        target: this.name,
        changed,
        timeoutMs: this.config.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
        exec: this.connection.current?.exec,
      });
      for (const h of hooks) this.emit('hook', h);
      // A failure stays shown until the commands run again (a pass with nothing to do, say
      // for a second watcher event about the same save, does not clear it).
      const failed = hooks.find((h) => !h.ok);
      if (failed) this.st.hookFailed = failed;
      else delete this.st.hookFailed;
    }
    if (this.setup.canary?.role === 'canary') this.#judgeCanary(summary);
    return hooks;
  }

  #judgeCanary(summary: PassSummary): void {
    const gate = this.setup.canary?.gate;
    if (!gate) return;
    const failed = this.st.hookFailed;
    if (summary.halted) gate.fail({ message: `${this.name} (the canary) halted: ${this.st.halt?.message ?? ''}` });
    else if (failed)
      gate.fail({
        message: `The ${failed.where} command after sync on ${this.name} (the canary) failed (${hookOutcome(failed)}); the other targets wait for the next change.`,
        output: failed.output,
      });
    else if (summary.inSync) gate.release(this.#passGeneration);
    else if (summary.failed)
      gate.fail({
        message: `${this.name} (the canary) has ${summary.failed} item(s) failing; the other targets wait.`,
      });
  }

  #passLane(transports: OpenTransports): PassLane {
    const role = this.setup.canary?.role;
    const local: LocalView =
      role === 'follower'
        ? {
            ...this.setup.local,
            ignores: this.setup.local.ignores,
            scan: async (scopes) => {
              const scan = await this.setup.local.scan(scopes);
              if (this.setup.generation() !== this.#passGeneration || !this.setup.canary?.gate.open())
                throw new HeldBack('the folder changed since the canary synced it');
              return scan;
            },
          }
        : this.setup.local;
    return {
      config: this.config,
      files: this.files,
      local,
      transports,
      ancestor: this.ancestor,
      journal: this.journal,
      retries: this.retries,
      changedSends: this.changedSends,
      status: this.st,
      approvals: this.approvals,
      shouldStop: () => this.loop.paused || this.loop.stopping,
      setState: (state) => this.setState(state),
      progress: () => this.#publishThrottled(),
      bytesSent: (bytes) => (this.st.throughputBps = this.#throughput.note(bytes)),
      file: (o) => {
        if (o.ok && this.hooksConfigured && CHANGES.has(o.op)) this.#changed.add(o.path);
        this.emit('file', o);
      },
      conflict: (r) => this.emit('conflict', r),
    };
  }

  markIdle(): void {
    const wasIdle = this.st.state === 'idle';
    this.st.queued = 0;
    this.st.throughputBps = 0;
    delete this.st.held;
    const inSync = this.st.failedItems.length === 0 && this.st.hookFailed === undefined;
    if (inSync) this.st.lastSyncAt = new Date().toISOString();
    this.st.inSync = inSync;
    this.setState('idle');
    if (!wasIdle && inSync) this.emit('synced', this.status());
  }

  setState(state: FolderState): void {
    this.st.state = state;
    if (state !== 'idle') this.st.inSync = false;
    if (state !== 'held') delete this.st.held;
    this.st.queued = this.loop.dirty.length;
    this.publish();
  }

  #publishThrottled(): void {
    if (Date.now() - this.#lastPublish >= 200) this.publish();
  }

  publish(): void {
    this.#lastPublish = Date.now();
    this.emit('status', this.status());
  }
}

/** The outcomes a command after sync is told about: uploaded (files, links), removed, renamed to. */
const CHANGES: ReadonlySet<string> = new Set(['upload', 'symlink', 'remove', 'rename']);

export function hookOutcome(h: HookReport): string {
  if (h.timedOut) return `timed out after ${Math.round(h.durationMs / 1000)} s`;
  if (h.error) return h.error;
  if (h.exitCode === null) return `ended by ${h.signal ?? 'a signal'}`;
  return `exit status ${h.exitCode}`;
}
