/**
 * One synced folder: its local side (local-side.ts: watcher, coalescer, ignore rules, scans)
 * and one target lane per server (target-lane.ts, lane-loop.ts). Each lane runs its own
 * loop, so a slow or unreachable server never holds the others back; every lane gets the
 * same watcher batches, and lanes asking for the same scopes share one local scan
 * (shared-scans.ts). With `canary`, the first target is the canary and the others follow
 * it (canary.ts).
 *
 * Invariants:
 * - Each target has its own ancestor index, journal and conflict log in its own state
 *   directory; the first target's is the folder's (`config.stateDir`, the one a folder
 *   synced to that one server always had), so adding targets keeps its index.
 * - With one target, the folder's status and events are that target's, unchanged; with
 *   several, `status()` sums them up and lists each one in `targets`.
 */
import { EventEmitter } from 'node:events';
import { ConnectionPool } from '../transport/connection-pool.ts';
import type { TransportOpener } from '../transport/open-transport.ts';
import type { PromptAnswerer } from '../ssh/connect.ts';
import type { FileOutcome } from './apply-plan.ts';
import { CanaryGate } from './canary.ts';
import type { ConflictRecord } from './conflict-log.ts';
import { laneConfig, targetsOf, type FolderConfig } from './folder-config.ts';
import { LocalSide, type WatchFolder } from './local-side.ts';
import type { PassSummary } from './pass.ts';
import type { PassReport } from './pass-report.ts';
import { SharedScans } from './shared-scans.ts';
import { combinedStatus } from './folder-status.ts';
import type { FolderStatus, HookReport } from './status.ts';
import { TargetLane } from './target-lane.ts';

export type { FolderConfig } from './folder-config.ts';
export type { PassSummary } from './pass.ts';

export interface FolderEvents {
  /** The folder's status (with several targets: all of them summed up, see combinedStatus). */
  status: [FolderStatus];
  /** A server operation's outcome, and the target (its `remote`) it was for. */
  file: [FileOutcome, string];
  conflict: [ConflictRecord, string];
  /** The folder became idle with nothing queued, failed or halted (every target). */
  synced: [FolderStatus];
  /** A pass of one target ended (halted ones too): what it did and how long it took. */
  pass: [PassReport, string];
  /** A command after sync ended. */
  hook: [HookReport];
  /** One target's status changed (its `remote` names it); with one target, the folder's. */
  target: [FolderStatus];
  /** One target became idle and in sync. */
  targetSynced: [FolderStatus];
}

/** What the loop is given rather than builds: the transport opener and the watcher (a test passes fakes). */
export interface FolderDeps {
  openTransports?: TransportOpener;
  watchFolder?: WatchFolder;
  /**
   * Asks a person the login prompts that are not for the stored password (a one-time code),
   * for every connection the folder's targets open. Without it such a login fails with a
   * PromptUnansweredError, and the lane waits for the user instead of retrying soon.
   */
  answerPrompts?: PromptAnswerer;
}

/** A `--once` run of every target. */
export interface FolderOnceSummary extends PassSummary {
  /** Canary rollout: the canary failed, the other targets were not synced. */
  held?: boolean;
  /** A command after sync failed on some target (the sync itself stands). */
  hookFailed?: boolean;
  /** The commands after sync that ran (absent when none did). */
  hooks?: HookReport[];
  /** With several targets, per target (its `remote`): what its run did; absent for a held one. */
  targets?: { target: string; summary?: PassSummary }[];
}

export class FolderSync extends EventEmitter<FolderEvents> {
  readonly config: FolderConfig;
  readonly #local: LocalSide;
  readonly #scans: SharedScans;
  readonly #lanes: TargetLane[];
  readonly #gate: CanaryGate | undefined;

  constructor(config: FolderConfig, deps: FolderDeps = {}) {
    super();
    this.config = config;
    this.#local = new LocalSide(config.localRoot, config.ignore, {
      watchFolder: deps.watchFolder,
      onDirty: (paths) => {
        this.#scans.noteChange();
        for (const l of this.#lanes) l.loop.markDirty(paths);
      },
      onIgnoreFileChanged: () => {
        this.#scans.noteChange();
        for (const l of this.#lanes) l.loop.needFullPass = true;
      },
      onWatcherFailed: (message) => {
        for (const l of this.#lanes) l.loop.watcherFailed(message);
      },
    });
    this.#scans = new SharedScans(this.#local);
    const targets = targetsOf(config);
    const generation = () => this.#scans.generation;
    // Targets on one server share its connection (connection-pool.ts).
    const open = withAnswerer(deps.openTransports ?? new ConnectionPool().open, deps.answerPrompts);
    this.#lanes = targets.map(
      (t) =>
        new TargetLane({ config: laneConfig(config, t), local: this.#scans.view(), generation, openTransports: open }),
    );
    if (config.canary && this.#lanes.length > 1) {
      const gate = new CanaryGate(this.#lanes[0]!.name, generation);
      this.#gate = gate;
      this.#lanes.forEach((l, i) => (l.setup.canary = { gate, role: i === 0 ? 'canary' : 'follower' }));
    }
    for (const lane of this.#lanes) this.#wire(lane);
  }

  #wire(lane: TargetLane): void {
    const single = this.#lanes.length === 1;
    lane.on('status', (s) => {
      this.emit('target', s);
      this.emit('status', single ? this.#withTotals(s) : this.status());
    });
    lane.on('synced', (s) => {
      this.emit('targetSynced', s);
      if (single) this.emit('synced', s);
      else if (this.#lanes.every((l) => l.st.state === 'idle' && l.st.inSync)) this.emit('synced', this.status());
    });
    lane.on('file', (o) => this.emit('file', o, lane.name));
    lane.on('conflict', (r) => this.emit('conflict', r, lane.name));
    lane.on('pass', (r) =>
      this.emit('pass', this.#lanes.length > 1 ? { ...r, localScans: this.#scans.scans } : r, lane.name),
    );
    lane.on('hook', (h) => this.emit('hook', h));
  }

  /** The first target's conflict log (each target has its own: {@link conflictFiles}). */
  get conflictFile(): string {
    return this.#lanes[0]!.files.conflicts;
  }

  conflictFiles(): { target: string; file: string }[] {
    return this.#lanes.map((l) => ({ target: l.name, file: l.files.conflicts }));
  }

  /** The targets' names (their `remote`), the canary first. */
  get targets(): string[] {
    return this.#lanes.map((l) => l.name);
  }

  /** Local scans made so far (one per pass however many targets; see shared-scans.ts). */
  get localScans(): number {
    return this.#scans.scans;
  }

  /** The folder's status, with the local side's file count and size (see {@link FolderStatus.localFiles}). */
  status(): FolderStatus {
    if (this.#lanes.length === 1) return this.#withTotals(this.#lanes[0]!.status());
    return this.#withTotals(combinedStatus(this.#lanes.map((l) => l.status())));
  }

  #withTotals(s: FolderStatus): FolderStatus {
    const totals = this.#local.totals();
    return totals ? { ...s, localFiles: totals.files, localBytes: totals.bytes } : s;
  }

  /** Loads state, starts watching and runs every target's loop until {@link stop}. */
  async start(): Promise<void> {
    for (const l of this.#lanes) await l.prepare();
    const watching = await this.#local.watch();
    for (const l of this.#lanes) {
      if (watching.live) {
        if (l.st.watcher === 'off') l.st.watcher = 'live';
      } else {
        l.st.watcher = 'polling';
        l.st.watcherMessage = `File watching is unavailable (${watching.message}); Ferry rescans the folder every ${Math.round(this.config.pollIntervalMs / 1000)} s instead.`;
      }
      l.loop.start();
    }
  }

  /**
   * One full reconcile of every target (`ferry sync --once`): connect, sync, run the
   * commands after sync, disconnect. The targets run at the same time; with `canary`, the
   * first runs alone and the others only when it converged and its commands exited 0.
   */
  async runOnce(): Promise<FolderOnceSummary> {
    const [first, ...rest] = this.#lanes as [TargetLane, ...TargetLane[]];
    const results: ({ summary: PassSummary; hooks: HookReport[] } | undefined)[] = [];
    // One scan of the folder feeds every target, however long the first one's run took
    // (the canary's commands, a slow server): a `--once` run syncs one snapshot.
    this.#scans.pinned = true;
    try {
      if (this.#gate) {
        const canary = await first.runOnce();
        results.push(canary);
        const ok = canary.summary.inSync && canary.hooks.every((h) => h.ok);
        if (ok) results.push(...(await Promise.all(rest.map((l) => l.runOnce()))));
        else
          for (const l of rest) {
            const hold = this.#gate.hold();
            l.st.held = { canary: this.#gate.canary, ...hold };
            l.setState('held');
            results.push(undefined);
          }
      } else results.push(...(await Promise.all(this.#lanes.map((l) => l.runOnce()))));
    } finally {
      this.#scans.pinned = false;
    }
    return combineOnce(this.#lanes, results);
  }

  #chosen(target: string | undefined): TargetLane[] {
    if (target === undefined) return this.#lanes;
    const lanes = this.#lanes.filter((l) => l.name === target);
    if (!lanes.length) throw new Error(`${this.config.localRoot} has no target ${target}.`);
    return lanes;
  }

  /** Pauses every target, or the one named (its `remote`). */
  pause(target?: string): void {
    for (const l of this.#chosen(target)) l.loop.pause();
  }

  resume(target?: string): void {
    for (const l of this.#chosen(target)) l.loop.resume();
  }

  /**
   * The user confirmed the deletes a halt showed (a mass delete, an emptied root, a first
   * mirror sync): the next pass may delete exactly those server files. A plan that deletes
   * anything else (more files vanished since) halts again and shows the new set.
   */
  confirmMassDelete(target?: string): void {
    for (const l of this.#halted(target)) {
      l.approvals.approved = new Set(l.approvals.shown);
      l.loop.resume();
    }
  }

  /**
   * The user cancelled the pending mass delete (or an emptied root's deletes): the next pass
   * keeps the server's copies and stops tracking them (see keep-server-copies.ts). Push mode
   * only: a mirror would plan the same deletes again on the pass after.
   */
  cancelMassDelete(target?: string): void {
    if (this.config.mode === 'mirror')
      throw new Error(
        `${this.config.localRoot} syncs in mirror mode, which makes the server an exact copy of this folder: its deletes cannot be cancelled. Restore the files locally, or confirm the deletes.`,
      );
    const lanes = this.#halted(target);
    for (const l of lanes) {
      const reason = l.st.state === 'halted' ? l.st.halt?.reason : undefined;
      if (reason !== 'mass-delete' && reason !== 'root-emptied')
        throw new Error(
          reason === 'root-missing'
            ? `${this.config.localRoot} is missing: there are no pending deletes to cancel. Restore the folder, then resume.`
            : `${this.config.localRoot} has no pending deletes to cancel (it is not halted on a mass delete).`,
        );
    }
    for (const l of lanes) {
      l.approvals.keepCopies = true;
      l.loop.resume();
    }
  }

  /** The targets a halt answer is for: the one named, else the halted ones (else all, to say why not). */
  #halted(target: string | undefined): TargetLane[] {
    const chosen = this.#chosen(target);
    const halted = chosen.filter((l) => l.st.state === 'halted');
    return halted.length ? halted : chosen;
  }

  /** Retry every failed item now instead of at its backoff time. */
  retryFailed(): void {
    for (const l of this.#lanes) l.loop.retryFailed();
  }

  /** Retry one failed path (relative to the folder) now, on every target. */
  retryPath(path: string): void {
    for (const l of this.#lanes) l.loop.retryPath(path);
  }

  /** Finish what is in flight, save state, close connections and the watcher. */
  async stop(): Promise<void> {
    for (const l of this.#lanes) {
      l.loop.stopping = true;
      l.connection.abort(new Error('the folder is stopping'));
      l.loop.wake();
    }
    await this.#local.close();
    await Promise.all(this.#lanes.map((l) => l.loop.stop()));
  }
}

/** `open`, with `answerPrompts` given to every connection it opens. */
function withAnswerer(open: TransportOpener, answerPrompts: PromptAnswerer | undefined): TransportOpener {
  if (!answerPrompts) return open;
  return (endpoint, localRoot, choice, opts = {}) => open(endpoint, localRoot, choice, { ...opts, answerPrompts });
}

function combineOnce(
  lanes: TargetLane[],
  results: ({ summary: PassSummary; hooks: HookReport[] } | undefined)[],
): FolderOnceSummary {
  const done = results.filter((r) => r !== undefined);
  const hooks = done.flatMap((r) => r.hooks);
  const halted = done.find((r) => r.summary.halted)?.summary.halted;
  const held = results.some((r) => r === undefined);
  const hookFailed = hooks.some((h) => !h.ok);
  return {
    inSync: !held && done.every((r) => r.summary.inSync),
    uploaded: done.reduce((n, r) => n + r.summary.uploaded, 0),
    removed: done.reduce((n, r) => n + r.summary.removed, 0),
    failed: done.reduce((n, r) => n + r.summary.failed, 0),
    conflicts: done.reduce((n, r) => n + r.summary.conflicts, 0),
    ...(halted ? { halted } : {}),
    ...(held ? { held } : {}),
    ...(hookFailed ? { hookFailed } : {}),
    ...(hooks.length ? { hooks } : {}),
    ...(lanes.length > 1
      ? { targets: lanes.map((l, i) => ({ target: l.name, ...(results[i] ? { summary: results[i].summary } : {}) })) }
      : {}),
  };
}
