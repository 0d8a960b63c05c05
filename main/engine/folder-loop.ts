/**
 * One synced folder: a single serialized loop with a named state (Syncthing's folder.Serve,
 * Mutagen's Scanning -> Reconciling -> Transitioning -> Saving). It owns the folder's local
 * side (local-side.ts) and its target lane: the connection, the ancestor, the crash journal,
 * the retry book and the status; each pass is runPass (pass.ts).
 *
 * Invariants:
 * - Only the loop touches the ancestor, the transports and the index file; everything else
 *   (watcher, pause, stop) only sets flags, marks paths dirty and wakes the loop.
 * - Watcher events are hints: they mark paths dirty; each pass rescans those paths on both
 *   sides and reconciles. A full pass (scope "") runs at start, after every reconnect, after
 *   a resume, every poll interval while the watcher is down, and every rescan interval while
 *   it is live (a watcher can miss an event: a chmod, a change made while a directory's watch
 *   was being set up), so nothing missed stays missed.
 * - The ancestor on disk is saved after every pass that changed it, validated first.
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { outermost, parentOf, type Entry } from '../core/tree.ts';
import { endpointDisplay } from '../ssh/display.ts';
import { openTransports, type OpenTransports, type TransportOpener } from '../transport/open-transport.ts';
import type { FileOutcome } from './apply-plan.ts';
import { RetryBook } from './backoff.ts';
import { readConflicts, type ConflictRecord } from './conflict-log.ts';
import { folderStateFiles, type FolderConfig, type FolderStateFiles } from './folder-config.ts';
import { lockFolderState, type FolderLock } from './folder-lock.ts';
import { loadIndex, saveIndex } from './index-store.ts';
import { readJournal, recoverJournal, removeJournal, type PendingJournal } from './journal.ts';
import { LocalSide, type WatchFolder } from './local-side.ts';
import { runPass, type DeleteApprovals, type PassLane, type PassSummary } from './pass.ts';
import { passReport, type PassReport } from './pass-report.ts';
import { newFolderStatus, type FolderState, type FolderStatus } from './status.ts';
import { RemoteRootError, TargetConnection, errorKindOf } from './target-connection.ts';
import { ThroughputMeter } from './throughput.ts';

export type { FolderConfig } from './folder-config.ts';
export type { PassSummary } from './pass.ts';

export interface FolderEvents {
  status: [FolderStatus];
  file: [FileOutcome];
  conflict: [ConflictRecord];
  /** The folder became idle with nothing queued, failed or halted. */
  synced: [FolderStatus];
  /** A pass ended (halted ones too): what it did and how long it took. */
  pass: [PassReport];
}

/** What the loop is given rather than builds: the transport opener and the watcher (a test passes fakes). */
export interface FolderDeps {
  openTransports?: TransportOpener;
  watchFolder?: WatchFolder;
}

export class FolderSync extends EventEmitter<FolderEvents> {
  readonly config: FolderConfig;
  readonly #files: FolderStateFiles;
  readonly #local: LocalSide;
  readonly #st: FolderStatus;
  // The target lane.
  #ancestor = new Map<string, Entry>();
  #journal: PendingJournal = { maybeLanded: new Map(), maybeMoved: [] };
  readonly #retries = new RetryBook();
  readonly #approvals: DeleteApprovals = { shown: [], approved: undefined, keepCopies: false, lastRetrySoon: 0 };
  readonly #connection: TargetConnection;
  #waitingToReconnect = false;
  #lock: FolderLock | undefined;
  // The loop.
  #dirty: string[] = [];
  #needFullPass = true;
  #stopping = false;
  #paused = false;
  #wakeUp: (() => void) | undefined;
  #loopDone: Promise<void> | undefined;
  #nextPollAt = 0;
  /** When the next periodic full pass is due while the watcher is live (see rescanIntervalMs). */
  #nextRescanAt = Infinity;
  // Publishing.
  readonly #throughput = new ThroughputMeter();
  #lastPublish = 0;

  constructor(config: FolderConfig, deps: FolderDeps = {}) {
    super();
    this.config = config;
    this.#files = folderStateFiles(config.stateDir);
    this.#connection = new TargetConnection(config, deps.openTransports ?? openTransports, (err) => {
      this.#st.lastError = `Lost the connection to ${this.#st.remote}: ${err?.message ?? 'closed'}. Reconnecting.`;
      this.#st.lastErrorKind = 'connection';
      this.#wake();
    });
    this.#st = newFolderStatus({
      id: config.id,
      localRoot: config.localRoot,
      remote: endpointDisplay(config.endpoint),
      mode: config.mode,
    });
    this.#local = new LocalSide(config.localRoot, config.ignore, {
      watchFolder: deps.watchFolder,
      onDirty: (paths) => {
        this.#dirty.push(...paths);
        // A local edit cannot bring the server back: waking a reconnect backoff for it would
        // hammer a down server on every save and count each try as another failed attempt,
        // growing the backoff to its cap while edits go on.
        if (!this.#waitingToReconnect) this.#wake();
      },
      onIgnoreFileChanged: () => (this.#needFullPass = true),
      onWatcherFailed: (message) => {
        this.#st.watcher = 'polling';
        this.#st.watcherMessage = message;
        this.#nextPollAt = Date.now() + this.config.pollIntervalMs;
        this.#publish();
        // An idle loop sleeps until its next rescan (up to a minute): wake it to poll instead.
        if (!this.#waitingToReconnect) this.#wake();
      },
    });
  }

  get conflictFile(): string {
    return this.#files.conflicts;
  }

  status(): FolderStatus {
    return structuredClone(this.#st);
  }

  /** Loads state, starts watching and runs the loop until {@link stop}. */
  async start(): Promise<void> {
    await this.#prepare();
    const watching = await this.#local.watch();
    if (watching.live) {
      if (this.#st.watcher === 'off') this.#st.watcher = 'live';
    } else {
      this.#st.watcher = 'polling';
      this.#st.watcherMessage = `File watching is unavailable (${watching.message}); Ferry rescans the folder every ${Math.round(this.config.pollIntervalMs / 1000)} s instead.`;
    }
    this.#loopDone = this.#loop();
  }

  /** One full reconcile pass (for `ferry sync --once`): connect, sync, disconnect. */
  async runOnce(): Promise<PassSummary> {
    await this.#prepare();
    try {
      await this.#connect();
      let summary = await this.#pass(['']);
      // Files that changed mid-upload or were moved aside: a bounded number of follow-ups.
      for (let i = 0; i < 3 && this.#dirty.length && !summary.halted; i++) {
        const next = await this.#pass(this.#takeDirty());
        summary = {
          ...next,
          uploaded: summary.uploaded + next.uploaded,
          removed: summary.removed + next.removed,
          conflicts: summary.conflicts + next.conflicts,
        };
      }
      return summary;
    } finally {
      await this.#disconnect();
      await this.#releaseLock();
    }
  }

  pause(): void {
    this.#paused = true;
    this.#setState('paused');
    this.#wake();
  }

  resume(): void {
    const wasHalted = this.#st.state === 'halted';
    this.#paused = false;
    this.#needFullPass = true;
    if (wasHalted) delete this.#st.halt;
    this.#setState('scanning');
    this.#wake();
  }

  /**
   * The user confirmed the deletes a halt showed (a mass delete, an emptied root, a first
   * mirror sync): the next pass may delete exactly those server files. A plan that deletes
   * anything else (more files vanished since) halts again and shows the new set.
   */
  confirmMassDelete(): void {
    this.#approvals.approved = new Set(this.#approvals.shown);
    this.resume();
  }

  /**
   * The user cancelled the pending mass delete (or an emptied root's deletes): the next pass
   * keeps the server's copies and stops tracking them (see keep-server-copies.ts). Push mode
   * only: a mirror would plan the same deletes again on the pass after.
   */
  cancelMassDelete(): void {
    if (this.config.mode === 'mirror')
      throw new Error(
        `${this.config.localRoot} syncs in mirror mode, which makes the server an exact copy of this folder: its deletes cannot be cancelled. Restore the files locally, or confirm the deletes.`,
      );
    const reason = this.#st.state === 'halted' ? this.#st.halt?.reason : undefined;
    if (reason !== 'mass-delete' && reason !== 'root-emptied')
      throw new Error(
        reason === 'root-missing'
          ? `${this.config.localRoot} is missing: there are no pending deletes to cancel. Restore the folder, then resume.`
          : `${this.config.localRoot} has no pending deletes to cancel (it is not halted on a mass delete).`,
      );
    this.#approvals.keepCopies = true;
    this.resume();
  }

  /** Retry every failed item now instead of at its backoff time. */
  retryFailed(): void {
    for (const f of this.#retries.list()) this.#dirty.push(f.path);
    this.#retries.clearAll();
    this.#wake();
  }

  /** Finish what is in flight, save state, close connections and the watcher. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#connection.abort(new Error('the folder is stopping'));
    this.#wake();
    await this.#local.close();
    await this.#loopDone;
    await this.#disconnect();
    await this.#releaseLock();
  }

  async #releaseLock(): Promise<void> {
    const l = this.#lock;
    this.#lock = undefined;
    await l?.release();
  }

  async #prepare(): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true });
    this.#lock ??= await lockFolderState(this.config.stateDir, `${this.config.localRoot} -> ${this.#st.remote}`);
    this.#ancestor = (await loadIndex(this.#files.index)) ?? new Map();
    // Ferry stopped (killed, crashed) in the middle of a pass: see journal.ts.
    const records = await readJournal(this.#files.journal);
    if (records.length) {
      const { added, pending } = recoverJournal(records, this.#ancestor);
      this.#journal = pending;
      if (added)
        await saveIndex(this.#files.index, this.#ancestor, {
          localRoot: this.config.localRoot,
          remote: this.#st.remote,
        });
    }
    await removeJournal(this.#files.journal);
    this.#st.conflictCount = (await readConflicts(this.#files.conflicts)).records.length;
    await this.#local.reloadIgnores();
  }

  #wake(): void {
    const w = this.#wakeUp;
    this.#wakeUp = undefined;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeUp = undefined;
        resolve();
      }, ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #takeDirty(): string[] {
    const scopes = [...new Set(this.#dirty)];
    this.#dirty = [];
    // Rescan a path's parent as well: a deleted or renamed entry is only visible from its directory.
    return outermost(scopes.map((p) => (p === '' ? '' : parentOf(p))).concat(scopes));
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      if (this.#paused) {
        await this.#sleep(60_000);
        continue;
      }
      if (this.#st.state === 'halted') {
        // Re-check on any local change or every poll interval: a remounted disk or restored
        // files clear the halt by themselves; a pending mass delete still needs confirmation.
        await this.#sleep(this.config.pollIntervalMs);
        if (this.#stopping || this.#paused) continue;
        this.#needFullPass = true;
        this.#setState('scanning');
      }
      try {
        if (!this.#connection.current) await this.#connect();
      } catch (err) {
        await this.#backOff(err);
        continue;
      }
      const scopes = this.#nextScopes(Date.now());
      if (!scopes) {
        this.#markIdle();
        await this.#sleep(this.#idleDelay(Date.now()));
        continue;
      }
      try {
        await this.#pass(scopes);
      } catch (err) {
        this.#needFullPass = true;
        await this.#disconnect();
        if (err instanceof RemoteRootError) {
          this.#connection.failed();
          await this.#backOff(err);
          continue;
        }
        // The transport is dead (connection lost, server gone): reconnect and rescan everything.
        this.#st.lastError = (err as Error).message;
        this.#st.lastErrorKind = 'connection';
        this.#setState('error');
      }
    }
  }

  /** Shows `err` as the folder's error and waits out the backoff (a local edit does not cut it short). */
  async #backOff(err: unknown): Promise<void> {
    this.#st.lastError = (err as Error).message;
    this.#st.lastErrorKind = errorKindOf(err);
    this.#setState('error');
    if (this.#stopping) return;
    this.#waitingToReconnect = true;
    try {
      await this.#sleep(this.#connection.retryDelay(this.#st.lastErrorKind));
    } finally {
      this.#waitingToReconnect = false;
    }
  }

  /** The scopes of the next pass, or undefined when there is nothing to do now. */
  #nextScopes(now: number): string[] | undefined {
    if (this.#st.watcher === 'polling' && now >= this.#nextPollAt) {
      this.#needFullPass = true;
      this.#nextPollAt = now + this.config.pollIntervalMs;
    }
    if (this.#st.watcher === 'live' && now >= this.#nextRescanAt) this.#needFullPass = true;
    for (const p of this.#retries.due(now)) this.#dirty.push(p);
    if (this.#needFullPass) {
      this.#needFullPass = false;
      this.#dirty = [];
      if (this.config.rescanIntervalMs > 0) this.#nextRescanAt = now + this.config.rescanIntervalMs;
      return [''];
    }
    return this.#dirty.length ? this.#takeDirty() : undefined;
  }

  /** How long an idle loop sleeps: until the next retry, poll or rescan, at most a minute. */
  #idleDelay(now: number): number {
    const until = Math.min(
      this.#retries.nextDueAt() ?? Infinity,
      this.#st.watcher === 'polling' ? this.#nextPollAt : Infinity,
      this.#st.watcher === 'live' ? this.#nextRescanAt : Infinity,
      now + 60_000,
    );
    return Math.max(10, until - now);
  }

  async #connect(): Promise<void> {
    this.#setState('starting');
    const t = await this.#connection.open();
    this.#retries.retrySoon(Date.now());
    this.#st.transport = t.main.kind;
    delete this.#st.lastError;
    delete this.#st.lastErrorKind;
    this.#needFullPass = true;
  }

  async #disconnect(): Promise<void> {
    await this.#connection.close();
  }

  /** One pass over `scopes` (see pass.ts). Throws only when the transport died. */
  async #pass(scopes: string[]): Promise<PassSummary> {
    const transports = this.#connection.current;
    if (!transports) throw new Error('not connected');
    const started = Date.now();
    const { summary, changedDuringUpload } = await runPass(this.#lane(transports), scopes);
    this.#connection.succeeded();
    this.emit('pass', passReport(summary, this.#st, scopes, Date.now() - started));
    if (summary.halted) {
      this.#dirty = [];
      return { ...summary, inSync: false };
    }
    this.#dirty.push(...changedDuringUpload);
    return { ...summary, inSync: summary.failed === 0 && this.#dirty.length === 0 };
  }

  #lane(transports: OpenTransports): PassLane {
    return {
      config: this.config,
      files: this.#files,
      local: this.#local,
      transports,
      ancestor: this.#ancestor,
      journal: this.#journal,
      retries: this.#retries,
      status: this.#st,
      approvals: this.#approvals,
      shouldStop: () => this.#paused || this.#stopping,
      setState: (state) => this.#setState(state),
      progress: () => this.#publishThrottled(),
      bytesSent: (bytes) => (this.#st.throughputBps = this.#throughput.note(bytes)),
      file: (o) => this.emit('file', o),
      conflict: (r) => this.emit('conflict', r),
    };
  }

  #markIdle(): void {
    const wasIdle = this.#st.state === 'idle';
    this.#st.queued = 0;
    this.#st.throughputBps = 0;
    const inSync = this.#st.failedItems.length === 0;
    if (inSync) this.#st.lastSyncAt = new Date().toISOString();
    this.#st.inSync = inSync;
    this.#setState('idle');
    if (!wasIdle && inSync) this.emit('synced', this.status());
  }

  #setState(state: FolderState): void {
    this.#st.state = state;
    if (state !== 'idle') this.#st.inSync = false;
    this.#st.queued = this.#dirty.length;
    this.#publish();
  }

  #publishThrottled(): void {
    if (Date.now() - this.#lastPublish >= 200) this.#publish();
  }

  #publish(): void {
    this.#lastPublish = Date.now();
    this.emit('status', this.status());
  }
}
