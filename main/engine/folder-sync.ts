/**
 * One synced folder: a single serialized loop with a named state (Syncthing's folder.Serve,
 * Mutagen's Scanning -> Reconciling -> Transitioning -> Saving).
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
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyPlan, type FileOutcome } from './apply-plan.ts';
import { moveSubtree } from './ancestor-edits.ts';
import { plannedCreations, plannedRenames, plannedReplacements } from './journal.ts';
import { RetryBook, nextDelayMs } from './backoff.ts';
import { DirtyPathCoalescer } from './coalescer.ts';
import { appendConflict, readConflicts, type ConflictRecord } from './conflict-log.ts';
import { createIgnoreMatcher, loadFerryignore } from './ignore.ts';
import { keepServerCopies } from './keep-server-copies.ts';
import { lockFolderState, type FolderLock } from './folder-lock.ts';
import { loadIndex, saveIndex } from './index-store.ts';
import { hashFile } from '../core/hash-file.ts';
import { localPathOf, scanLocal } from './local-scan.ts';
import { openTransports, type OpenTransports, type TransportChoice } from '../transport/open-transport.ts';
import type { HaltReason, Plan, SyncMode } from '../core/plan.ts';
import { reconcile, renameCandidates } from './reconcile.ts';
import { checkSafety, describeHalt } from './safety.ts';
import { newFolderStatus, type FolderState, type FolderStatus } from './status.ts';
import { isWithin, outermost, parentOf, pathsBelowNonDirectories, sameContent, type Entry } from '../core/tree.ts';
import { watchFolder, type LocalWatcher } from './watcher.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { endpointDisplay } from '../ssh/display.ts';
import { SshConnectError } from '../ssh/connect.ts';
import { HostKeyError } from '../ssh/host-key.ts';

export interface FolderConfig {
  /** Stable id; names the folder's state directory. */
  id: string;
  localRoot: string;
  endpoint: SshEndpoint;
  mode: SyncMode;
  ignore: string[];
  transport: TransportChoice;
  /** Directory holding this folder's index and conflict log. */
  stateDir: string;
  allowMassDelete: boolean;
  /** Modified files at least this large go through rsync's delta transfer when available. */
  deltaThreshold: number;
  /** A pass with at least this many uploads sends them through one rsync run when rsync is available. */
  bulkThreshold: number;
  /** A pass whose small uploads add up to this many bytes does too (upload-route.ts). */
  bulkBytes: number;
  /** Full rescan interval while the watcher is down. */
  pollIntervalMs: number;
  /** Full rescan interval while the watcher is live (Syncthing's rescanIntervalS); 0: never. */
  rescanIntervalMs: number;
}

export interface FolderEvents {
  status: [FolderStatus];
  file: [FileOutcome];
  conflict: [ConflictRecord];
  /** The folder became idle with nothing queued, failed or halted. */
  synced: [FolderStatus];
}

export interface PassSummary {
  inSync: boolean;
  uploaded: number;
  removed: number;
  failed: number;
  conflicts: number;
  halted?: HaltReason;
}

export class FolderSync extends EventEmitter<FolderEvents> {
  readonly config: FolderConfig;
  private readonly indexFile: string;
  /** Creations under way (see plannedCreations), for a crash before the index is saved. */
  private readonly journalFile: string;
  readonly conflictFile: string;
  private ancestor = new Map<string, Entry>();
  private transports: OpenTransports | undefined;
  private watcher: LocalWatcher | undefined;
  private readonly coalescer: DirtyPathCoalescer;
  private readonly retries = new RetryBook();
  private dirty: string[] = [];
  private needFullPass = true;
  private confirmDeletes = false;
  private keepCopies = false;
  private stopping = false;
  private paused = false;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private connectAttempts = 0;
  private waitingToReconnect = false;
  /** Cancels a connect in progress when the folder stops (a handshake can take 20 s). */
  private connecting: AbortController | undefined;
  private nextPollAt = 0;
  /** When the next periodic full pass is due while the watcher is live (see rescanIntervalMs). */
  private nextRescanAt = Infinity;
  private readonly throughput: { t: number; bytes: number }[] = [];
  private readonly st: FolderStatus;

  constructor(config: FolderConfig) {
    super();
    this.config = config;
    this.indexFile = join(config.stateDir, 'index.json');
    this.journalFile = join(config.stateDir, 'pending.json');
    this.conflictFile = join(config.stateDir, 'conflicts.jsonl');
    this.st = newFolderStatus({
      id: config.id,
      localRoot: config.localRoot,
      remote: endpointDisplay(config.endpoint),
      mode: config.mode,
    });
    this.coalescer = new DirtyPathCoalescer({
      onFlush: (paths) => {
        this.dirty.push(...paths);
        // A local edit cannot bring the server back: waking a reconnect backoff for it would
        // hammer a down server on every save, and count every such try as another failed
        // attempt, so the backoff grew to its cap while edits went on (the soak found a folder
        // idle in "error" for a minute after the server was back).
        if (!this.waitingToReconnect) this.wake();
      },
    });
  }

  status(): FolderStatus {
    return structuredClone(this.st);
  }

  /** Loads state, starts watching and runs the loop until {@link stop}. */
  async start(): Promise<void> {
    await this.prepare();
    this.watcher = watchFolder(this.config.localRoot, {
      onDirty: (rel) => {
        if (rel === '.ferryignore') this.needFullPass = true;
        this.coalescer.mark(rel);
      },
      onError: (err) => {
        this.st.watcher = 'polling';
        this.st.watcherMessage = err.fix ? `${err.message} Fix: ${err.fix}` : err.message;
        this.nextPollAt = Date.now() + this.config.pollIntervalMs;
        this.publish();
      },
      ignores: (rel, isDir) => this.ignores(rel, isDir),
    });
    try {
      await this.watcher.start();
      if (this.st.watcher === 'off') this.st.watcher = 'live';
    } catch (err) {
      this.st.watcher = 'polling';
      this.st.watcherMessage = `File watching is unavailable (${(err as Error).message}); Ferry rescans the folder every ${Math.round(this.config.pollIntervalMs / 1000)} s instead.`;
    }
    this.loopDone = this.loop();
  }

  /** One full reconcile pass (for `ferry sync --once`): connect, sync, disconnect. */
  async runOnce(): Promise<PassSummary> {
    await this.prepare();
    try {
      await this.connect();
      let summary = await this.pass(['']);
      // Files that changed mid-upload or were moved aside: a bounded number of follow-ups.
      for (let i = 0; i < 3 && this.dirty.length && !summary.halted; i++) {
        const scopes = this.takeDirty();
        const next = await this.pass(scopes);
        summary = {
          ...next,
          uploaded: summary.uploaded + next.uploaded,
          removed: summary.removed + next.removed,
          conflicts: summary.conflicts + next.conflicts,
        };
      }
      return summary;
    } finally {
      await this.disconnect();
      await this.releaseLock();
    }
  }

  pause(): void {
    this.paused = true;
    this.setState('paused');
    this.wake();
  }

  resume(): void {
    const wasHalted = this.st.state === 'halted';
    this.paused = false;
    this.needFullPass = true;
    if (wasHalted) delete this.st.halt;
    this.setState('scanning');
    this.wake();
  }

  /** The user confirmed the pending mass delete (or an emptied root): run it once. */
  confirmMassDelete(): void {
    this.confirmDeletes = true;
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
    const reason = this.st.state === 'halted' ? this.st.halt?.reason : undefined;
    if (reason !== 'mass-delete' && reason !== 'root-emptied')
      throw new Error(
        reason === 'root-missing'
          ? `${this.config.localRoot} is missing: there are no pending deletes to cancel. Restore the folder, then resume.`
          : `${this.config.localRoot} has no pending deletes to cancel (it is not halted on a mass delete).`,
      );
    this.keepCopies = true;
    this.resume();
  }

  /** Retry every failed item now instead of at its backoff time. */
  retryFailed(): void {
    for (const f of this.retries.list()) this.dirty.push(f.path);
    this.retries.clearAll();
    this.wake();
  }

  /** Finish what is in flight, save state, close connections and the watcher. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.coalescer.dispose();
    this.connecting?.abort(new Error('the folder is stopping'));
    this.wake();
    await this.watcher?.close(); // bounded: see LocalWatcher.close
    await this.loopDone;
    await this.disconnect();
    await this.releaseLock();
  }

  private lock: FolderLock | undefined;
  private async releaseLock(): Promise<void> {
    const l = this.lock;
    this.lock = undefined;
    await l?.release();
  }

  private async prepare(): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true });
    this.lock ??= await lockFolderState(this.config.stateDir, `${this.config.localRoot} -> ${this.st.remote}`);
    this.ancestor = (await loadIndex(this.indexFile)) ?? new Map();
    await this.recoverJournal();
    this.st.conflictCount = (await readConflicts(this.conflictFile)).records.length;
    await this.reloadIgnores();
  }

  /**
   * Ferry stopped (killed, crashed) in the middle of a pass: what it was creating on the
   * server joins the ancestor, as it would have had the pass finished (see plannedCreations:
   * safe whether or not each creation happened). Entries whose parent is unknown are left out.
   */
  private async recoverJournal(): Promise<void> {
    let pending: unknown;
    try {
      pending = JSON.parse(await readFile(this.journalFile, 'utf8'));
    } catch {
      return; // none (the usual case), or torn: the previous pass never started its operations
    }
    let added = 0;
    for (const item of Array.isArray(pending) ? pending : []) {
      const [path, second, kind] = Array.isArray(item) ? (item as [unknown, unknown, unknown]) : [];
      if (kind === 'rename') {
        // [from, to, 'rename']: accepted by the first pass only if the server shows it done.
        if (typeof path === 'string' && path !== '' && typeof second === 'string' && second !== '')
          this.maybeMoved.push([path, second]);
        continue;
      }
      const entry = typeof second === 'object' && second !== null ? (second as Entry) : undefined;
      if (kind === 'replace') {
        // Accepted by the first pass only if the server shows exactly this (see matchJournaled).
        if (
          typeof path === 'string' &&
          path !== '' &&
          entry &&
          (entry.kind === 'file' || entry.kind === 'dir' || entry.kind === 'symlink')
        )
          this.maybeLanded.set(path, entry);
        continue;
      }
      if (typeof path !== 'string' || path === '' || this.ancestor.has(path)) continue;
      if (parentOf(path) !== '' && this.ancestor.get(parentOf(path))?.kind !== 'dir') continue;
      if (!entry || (entry.kind !== 'dir' && entry.kind !== 'file' && entry.kind !== 'symlink')) continue;
      this.ancestor.set(path, entry);
      added++;
    }
    if (added)
      await saveIndex(this.indexFile, this.ancestor, { localRoot: this.config.localRoot, remote: this.st.remote });
    await rm(this.journalFile, { force: true });
  }

  /** Overwrites a killed Ferry had under way (journal 'replace' items), path -> what would have landed. */
  private readonly maybeLanded = new Map<string, Entry>();
  /** Renames a killed Ferry had under way (journal 'rename' items), [from, to]. */
  private maybeMoved: [string, string][] = [];

  /**
   * An overwrite from before a crash that the server shows exactly (same content, same mode)
   * landed: the ancestor takes it, so Ferry's own write is not taken for a server change.
   * Decided once per path, at the first pass that scans it.
   */
  private matchJournaled(remote: ReadonlyMap<string, Entry>, scopes: readonly string[]): void {
    // A rename the server shows done (the old path gone, the new one there, of the same kind,
    // and unknown to the ancestor) moves in the ancestor too. Left out, the moved tree passed
    // for the server's own and stayed there after a local delete (a short soak).
    this.maybeMoved = this.maybeMoved.filter(([from, to]) => {
      if (!scopes.some((s) => isWithin(from, s)) || !scopes.some((s) => isWithin(to, s))) return true;
      const a = this.ancestor.get(from);
      const r = remote.get(to);
      if (a && r && a.kind === r.kind && !remote.has(from) && !this.ancestor.has(to))
        moveSubtree(this.ancestor, from, to);
      return false;
    });
    for (const [p, cand] of this.maybeLanded) {
      if (!scopes.some((s) => isWithin(p, s))) continue;
      this.maybeLanded.delete(p);
      const r = remote.get(p);
      const a = this.ancestor.get(p);
      if (!r || !a || !sameContent(cand, r)) continue;
      if (cand.kind !== 'symlink' && r.kind !== 'symlink' && cand.mode !== r.mode) continue;
      // A mode change keeps the content hash the ancestor had.
      this.ancestor.set(
        p,
        cand.kind === 'file' && cand.hash === undefined && a.kind === 'file' && a.hash && sameContent(a, cand)
          ? { ...cand, hash: a.hash }
          : cand,
      );
    }
  }

  private matcher = createIgnoreMatcher({});
  private async reloadIgnores(): Promise<void> {
    this.matcher = createIgnoreMatcher({
      patterns: this.config.ignore,
      ferryignoreText: await loadFerryignore(this.config.localRoot),
    });
  }
  private ignores(rel: string, isDir: boolean): boolean {
    return rel !== '' && this.matcher.ignores(rel, isDir);
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private takeDirty(): string[] {
    const scopes = [...new Set(this.dirty)];
    this.dirty = [];
    // Rescan a path's parent as well: a deleted or renamed entry is only visible from its directory.
    return outermost(scopes.map((p) => (p === '' ? '' : parentOf(p))).concat(scopes));
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.paused) {
        await this.sleep(60_000);
        continue;
      }
      if (this.st.state === 'halted') {
        // Re-check on any local change or every poll interval: a remounted disk or restored
        // files clear the halt by themselves; a pending mass delete still needs confirmation.
        await this.sleep(this.config.pollIntervalMs);
        if (this.stopping || this.paused) continue;
        this.needFullPass = true;
        this.setState('scanning');
      }
      try {
        if (!this.transports) await this.connect();
      } catch (err) {
        this.st.lastError = (err as Error).message;
        this.st.lastErrorKind = errorKindOf(err);
        this.setState('error');
        if (this.stopping) continue;
        const permanent = this.st.lastErrorKind === 'host-key-changed' || this.st.lastErrorKind === 'host-key-revoked';
        this.waitingToReconnect = true;
        try {
          await this.sleep(
            permanent ? 10 * 60_000 : nextDelayMs(this.connectAttempts++, { baseMs: 1000, maxMs: 60_000 }),
          );
        } finally {
          this.waitingToReconnect = false;
        }
        continue;
      }
      const now = Date.now();
      if (this.st.watcher === 'polling' && now >= this.nextPollAt) {
        this.needFullPass = true;
        this.nextPollAt = now + this.config.pollIntervalMs;
      }
      if (this.st.watcher === 'live' && now >= this.nextRescanAt) this.needFullPass = true;
      for (const p of this.retries.due(now)) this.dirty.push(p);
      let scopes: string[] | undefined;
      if (this.needFullPass) {
        this.needFullPass = false;
        this.dirty = [];
        scopes = [''];
        if (this.config.rescanIntervalMs > 0) this.nextRescanAt = now + this.config.rescanIntervalMs;
      } else if (this.dirty.length) scopes = this.takeDirty();
      if (!scopes) {
        this.markIdle();
        const nextRetry = this.retries.nextDueAt();
        const until = Math.min(
          nextRetry ?? Infinity,
          this.st.watcher === 'polling' ? this.nextPollAt : Infinity,
          this.st.watcher === 'live' ? this.nextRescanAt : Infinity,
          now + 60_000,
        );
        await this.sleep(Math.max(10, until - now));
        continue;
      }
      try {
        await this.pass(scopes);
      } catch (err) {
        // The transport is dead (connection lost, server gone): reconnect and rescan everything.
        this.st.lastError = (err as Error).message;
        this.st.lastErrorKind = 'connection';
        this.needFullPass = true;
        await this.disconnect();
        this.setState('error');
      }
    }
  }

  private async connect(): Promise<void> {
    this.setState('starting');
    const connecting = new AbortController();
    this.connecting = connecting;
    let t: OpenTransports;
    try {
      t = await openTransports(this.config.endpoint, this.config.localRoot, this.config.transport, {
        signal: connecting.signal,
      });
    } finally {
      this.connecting = undefined;
    }
    this.transports = t;
    this.connectAttempts = 0;
    this.retries.retrySoon(Date.now());
    this.st.transport = t.main.kind;
    delete this.st.lastError;
    delete this.st.lastErrorKind;
    this.needFullPass = true;
    void t.closed.then((err) => {
      if (this.transports !== t) return;
      this.st.lastError = `Lost the connection to ${this.st.remote}: ${err?.message ?? 'closed'}. Reconnecting.`;
      this.st.lastErrorKind = 'connection';
      this.transports = undefined;
      this.wake();
    });
  }

  private async disconnect(): Promise<void> {
    const t = this.transports;
    this.transports = undefined;
    await t?.close().catch(() => undefined);
  }

  /** One reconcile pass over `scopes`. Throws only when the transport died. */
  private async pass(scopes: string[]): Promise<PassSummary> {
    const t = this.transports;
    if (!t) throw new Error('not connected');
    const full = scopes.includes('');
    if (full) await this.reloadIgnores();
    this.setState('scanning');
    const ig = (rel: string, isDir: boolean) => this.ignores(rel, isDir);
    // A scope below a symlink (or a file) on either side is widened to that entry and both
    // sides scanned again: otherwise one side would list `link/x` and the other nothing, and
    // the plan would write or delete through the link (outside the target on the server).
    let localScan;
    let remoteScan;
    for (let attempt = 1; ; attempt++) {
      localScan = await scanLocal(this.config.localRoot, scopes, ig);
      remoteScan = await t.main.scan(scopes);
      const blocked = [...localScan.blocked, ...(remoteScan.blocked ?? [])];
      if (!blocked.length) break;
      if (attempt === 3)
        throw new Error(
          `The folder kept changing between files and links while Ferry scanned ${JSON.stringify(blocked[0])}; scanning again.`,
        );
      scopes = outermost([...scopes, ...blocked]);
    }
    const local = localScan.entries;
    const remote = new Map<string, Entry>();
    for (const [p, e] of remoteScan.entries) if (!isIgnoredPath(p, e, ig)) remote.set(p, e);
    // The scanners refuse to go through symlinks; this is the second lock on that door.
    for (const snapshot of [local, remote]) for (const p of pathsBelowNonDirectories(snapshot)) snapshot.delete(p);
    if (remoteScan.tempFiles.length)
      await t.main.remove(remoteScan.tempFiles.map((p) => ({ path: p, kind: 'file' as const })));
    for (const [p, e] of [...this.ancestor]) if (isIgnoredPath(p, e, ig)) this.ancestor.delete(p);
    if (this.maybeLanded.size || this.maybeMoved.length) this.matchJournaled(remote, scopes);

    for (const p of renameCandidates({ ancestor: this.ancestor, local, remote, scopes })) {
      const e = local.get(p);
      if (e?.kind !== 'file') continue;
      try {
        local.set(p, { ...e, hash: await hashFile(localPathOf(this.config.localRoot, p)) });
      } catch {
        // vanished since the scan; the watcher will mark it again
      }
    }
    const planned = reconcile({
      ancestor: this.ancestor,
      local,
      remote,
      mode: this.config.mode,
      scopes,
      detectRenames: t.main.canRename,
    });
    const plan = this.keepCopies ? keepServerCopies(planned) : planned;
    this.st.drift = mergeDrift(this.st.drift, plan.drift, scopes);
    const halt =
      local.get('')?.kind !== 'dir'
        ? ({ kind: 'root-missing' } as const)
        : checkSafety({
            ancestor: this.ancestor,
            local,
            plan,
            fullScan: full,
            allowMassDelete: this.config.allowMassDelete || this.confirmDeletes || this.keepCopies,
          });
    if (halt) {
      this.st.halt = { reason: halt.kind, message: describeHalt(halt, this.config.localRoot) };
      this.setState('halted');
      this.dirty = [];
      return { inSync: false, uploaded: 0, removed: 0, failed: 0, conflicts: 0, halted: halt };
    }
    this.confirmDeletes = false;
    this.keepCopies = false;
    delete this.st.halt;
    const failedNow = new Set<string>();
    const summary = await this.execute(plan, remote, t, failedNow);
    for (const p of localScan.problems) {
      this.retries.recordFailure(p.path, p.error, 'local-read-failed', Date.now());
      failedNow.add(p.path);
    }
    // Both sides of every path in scope were just looked at: what did not fail again is done
    // (synced, gone, or nothing to do), so it leaves the retry book instead of staying due.
    if (!this.paused && !this.stopping) this.retries.settle(scopes, failedNow);
    // The server took a write: whatever failed earlier (full disk, read-only directory) may
    // well work now, so retry it at once instead of waiting out its backoff. At most every
    // few seconds, so items that keep failing are not retried after every single edit.
    const now = Date.now();
    if (summary.wrote && this.retries.size > failedNow.size && now - this.lastRetrySoon >= 5000) {
      this.lastRetrySoon = now;
      this.retries.retrySoon(now);
    }
    this.st.failedItems = this.retries.list().map((f) => ({
      path: f.path,
      error: f.error,
      attempts: f.attempts,
      nextRetryAt: new Date(f.nextAttemptAt).toISOString(),
    }));
    const { wrote: _wrote, ...counts } = summary;
    return {
      ...counts,
      failed: this.st.failedItems.length,
      inSync: this.st.failedItems.length === 0 && this.dirty.length === 0,
    };
  }

  private lastRetrySoon = 0;

  private async execute(
    plan: Plan,
    remote: Map<string, Entry>,
    t: OpenTransports,
    failedNow: Set<string>,
  ): Promise<Omit<PassSummary, 'inSync' | 'failed'> & { wrote: boolean }> {
    const serverOps = plan.ops.filter((o) => o.op !== 'adopt' && o.op !== 'forget');
    this.st.filesTotal = serverOps.length;
    this.st.bytesTotal = plan.ops.reduce((n, o) => n + (o.op === 'upload' ? o.entry.size : 0), 0);
    this.st.filesDone = 0;
    this.st.bytesDone = 0;
    this.st.inFlight = serverOps.length;
    if (serverOps.length) this.setState('syncing');
    let uploaded = 0;
    let removed = 0;
    let wrote = false;
    const creations = plannedCreations(plan, this.ancestor);
    const replacements = plannedReplacements(plan, this.ancestor);
    const renames = plannedRenames(plan);
    const journaled = creations.length > 0 || replacements.length > 0 || renames.length > 0;
    if (journaled) {
      // No fsync: this is for a killed process (the page cache survives it), not a power cut.
      await writeFile(
        this.journalFile,
        JSON.stringify([
          ...creations,
          ...replacements.map(([p, e]) => [p, e, 'replace']),
          ...renames.map(([from, to]) => [from, to, 'rename']),
        ]),
      );
      for (const [p, e] of creations) this.ancestor.set(p, e);
    }
    const result = await applyPlan({
      plan,
      transport: t.main,
      ...(t.delta
        ? {
            deltaTransport: t.delta,
            deltaThreshold: this.config.deltaThreshold,
            bulkThreshold: this.config.bulkThreshold,
            bulkBytes: this.config.bulkBytes,
          }
        : {}),
      localRoot: this.config.localRoot,
      ancestor: this.ancestor,
      remote,
      now: () => new Date(),
      // Pause and shutdown take effect between phases; what was not done is planned again.
      shouldStop: () => this.paused || this.stopping,
      onProgress: (bytes) => {
        this.st.bytesDone += bytes;
        this.noteThroughput(bytes);
      },
      onOutcome: (o) => {
        this.st.filesDone++;
        this.st.inFlight = Math.max(0, this.st.inFlight - 1);
        // A rename involves two paths, and its retry must look at both: retried for the new
        // one only, the old one stayed on the server while Ferry reported in sync (soak).
        const paths = o.op === 'rename' && o.from !== undefined ? [o.path, o.from] : [o.path];
        if (o.ok) {
          for (const p of paths) this.retries.clear(p);
          wrote = true;
          if (o.op === 'upload') uploaded++;
          if (o.op === 'remove') removed++;
        } else {
          for (const p of paths) {
            this.retries.recordFailure(p, o.error ?? 'failed', o.errorCode ?? 'other', Date.now());
            failedNow.add(p);
          }
        }
        this.emit('file', o);
        this.publishThrottled();
      },
    });
    this.st.inFlight = 0;
    // A creation the server refused did not happen: the entry recorded for it before acting
    // goes (the journal is for outcomes Ferry never learns). Left in place, it claimed the
    // local mode for a path that something else then created with another one (rsync's
    // implied directories, 0755), and the difference passed for a server-side change for
    // ever (found by the 30-minute soak).
    const recordedBefore = new Map(creations);
    for (const o of result.outcomes) {
      if (o.ok || (o.op !== 'mkdir' && o.op !== 'upload' && o.op !== 'symlink')) continue;
      const recorded = recordedBefore.get(o.path);
      if (recorded !== undefined && this.ancestor.get(o.path) === recorded) this.ancestor.delete(o.path);
    }
    for (const c of result.conflicts) {
      const record: ConflictRecord = {
        time: new Date().toISOString(),
        path: c.path,
        local: summarize(c.local),
        remote: summarize(c.remote),
        action: c.resolution,
        ...(c.conflictCopyPath ? { conflictCopyPath: c.conflictCopyPath } : {}),
        ...(c.error ? { note: `could not keep the server's copy: ${c.error}` } : {}),
      };
      await appendConflict(this.conflictFile, record);
      this.st.conflictCount++;
      this.emit('conflict', record);
    }
    this.dirty.push(...result.changedDuringUpload);
    // An empty plan changed nothing: leave the index file (and the disk) alone.
    if (plan.ops.length > 0)
      await saveIndex(this.indexFile, this.ancestor, {
        localRoot: this.config.localRoot,
        remote: this.st.remote,
      });
    if (journaled) await rm(this.journalFile, { force: true });
    return { uploaded, removed, conflicts: result.conflicts.length, wrote };
  }

  /** Throughput over the last ~5 s, kept in one-second buckets (O(1) per call). */
  private noteThroughput(bytes: number): void {
    const second = Math.floor(Date.now() / 1000);
    const last = this.throughput[this.throughput.length - 1];
    if (last && last.t === second) last.bytes += bytes;
    else this.throughput.push({ t: second, bytes });
    while (this.throughput.length && (this.throughput[0] as { t: number }).t <= second - 5) this.throughput.shift();
    const total = this.throughput.reduce((n, b) => n + b.bytes, 0);
    this.st.throughputBps = Math.round(total / Math.max(1, second - (this.throughput[0] as { t: number }).t + 1));
  }

  private markIdle(): void {
    const wasIdle = this.st.state === 'idle';
    this.st.queued = 0;
    this.st.throughputBps = 0;
    const inSync = this.st.failedItems.length === 0;
    if (inSync) this.st.lastSyncAt = new Date().toISOString();
    this.st.inSync = inSync;
    this.setState('idle');
    if (!wasIdle && inSync) this.emit('synced', this.status());
  }

  private setState(state: FolderState): void {
    this.st.state = state;
    if (state !== 'idle') this.st.inSync = false;
    this.st.queued = this.dirty.length;
    this.publish();
  }

  private lastPublish = 0;
  private publishThrottled(): void {
    const now = Date.now();
    if (now - this.lastPublish >= 200) this.publish();
  }
  private publish(): void {
    this.lastPublish = Date.now();
    this.emit('status', this.status());
  }
}

/** Classify a connect failure (HostKeyError and SshConnectError carry a `kind`). */
function errorKindOf(err: unknown): NonNullable<FolderStatus['lastErrorKind']> {
  if (err instanceof HostKeyError)
    return err.kind === 'changed'
      ? 'host-key-changed'
      : err.kind === 'revoked'
        ? 'host-key-revoked'
        : 'host-key-unknown';
  if (err instanceof SshConnectError) return err.kind === 'auth' ? 'auth' : 'connection';
  return 'other';
}

/** A conflict side for the log. Directories and symlinks too: a kind clash (a server link where a local directory goes) used to fail the log's validation and with it the whole pass. */
function summarize(e: Entry | undefined): ConflictRecord['local'] {
  if (!e) return null;
  if (e.kind === 'file') return { size: e.size, mtimeMs: e.mtimeMs, ...(e.hash ? { hash: e.hash } : {}) };
  if (e.kind === 'symlink') return { kind: 'symlink', target: e.target };
  return { kind: 'dir' };
}

function isIgnoredPath(path: string, entry: Entry, ignores: (rel: string, isDir: boolean) => boolean): boolean {
  return path !== '' && ignores(path, entry.kind === 'dir');
}

function mergeDrift(previous: string[], found: string[], scopes: string[]): string[] {
  const kept = previous.filter((p) => !scopes.some((s) => isWithin(p, s)));
  return [...kept, ...found].slice(0, 1000);
}
