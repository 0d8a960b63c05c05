/**
 * The loop of one target lane (target-lane.ts): what to do next (reconnect, a full pass,
 * the dirty paths, nothing), when (backoff, poll and rescan intervals, retries), and the
 * user's controls (pause, resume, a halt's answers). A follower of a canary rollout waits
 * here, state 'held', until the canary released the current change set (canary.ts).
 */
import { outermost, parentOf } from '../core/tree.ts';
import { RemoteRootError, errorKindOf } from './target-connection.ts';
import { HeldBack } from './canary.ts';
import type { TargetLane } from './target-lane.ts';

export class LaneLoop {
  readonly #lane: TargetLane;
  dirty: string[] = [];
  /** The dirty paths the current pass took, as marked (a held-back follower puts them back). */
  #taken: string[] = [];
  needFullPass = true;
  stopping = false;
  paused = false;
  #wakeUp: (() => void) | undefined;
  #done: Promise<void> | undefined;
  #waitingToReconnect = false;
  nextPollAt = 0;
  /** When the next periodic full pass is due while the watcher is live (see rescanIntervalMs). */
  nextRescanAt = Infinity;

  constructor(lane: TargetLane) {
    this.#lane = lane;
  }

  get #st() {
    return this.#lane.st;
  }

  start(): void {
    this.#done = this.#run();
  }

  /** A watcher batch: paths at or below which something changed. */
  markDirty(paths: readonly string[]): void {
    this.dirty.push(...paths);
    // A local edit cannot bring the server back: waking a reconnect backoff for it would
    // hammer a down server on every save and count each try as another failed attempt,
    // growing the backoff to its cap while edits go on.
    if (!this.#waitingToReconnect) this.wake();
  }

  /** The watcher failed: periodic full passes from now on. */
  watcherFailed(message: string): void {
    this.#st.watcher = 'polling';
    this.#st.watcherMessage = message;
    this.nextPollAt = Date.now() + this.#lane.config.pollIntervalMs;
    this.#lane.publish();
    // An idle loop sleeps until its next rescan (up to a minute): wake it so polling starts on
    // time, except in a reconnect backoff, which local events never cut short.
    if (!this.#waitingToReconnect) this.wake();
  }

  pause(): void {
    this.paused = true;
    this.#lane.setState('paused');
    this.wake();
  }

  resume(): void {
    const wasHalted = this.#st.state === 'halted';
    this.paused = false;
    this.needFullPass = true;
    if (wasHalted) delete this.#st.halt;
    this.#lane.setState('scanning');
    this.wake();
  }

  retryFailed(): void {
    for (const f of this.#lane.retries.list()) this.dirty.push(f.path);
    this.#lane.retries.clearAll();
    this.wake();
  }

  /** Retry one failed path now: out of the retry book, into the next pass's dirty paths. */
  retryPath(path: string): void {
    this.#lane.retries.clear(path);
    this.dirty.push(path);
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.#lane.connection.abort(new Error('the folder is stopping'));
    this.wake();
    await this.#done;
    await this.#lane.connection.close();
    await this.#lane.releaseLock();
  }

  wake(): void {
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

  takeDirty(): string[] {
    this.#taken = this.dirty;
    const scopes = [...new Set(this.dirty)];
    this.dirty = [];
    // Rescan a path's parent as well: a deleted or renamed entry is only visible from its directory.
    return outermost(scopes.map((p) => (p === '' ? '' : parentOf(p))).concat(scopes));
  }

  async #run(): Promise<void> {
    const lane = this.#lane;
    while (!this.stopping) {
      if (this.paused) {
        await this.#sleep(60_000);
        continue;
      }
      if (this.#st.state === 'halted') {
        // Re-check on any local change or every poll interval: a remounted disk or restored
        // files clear the halt by themselves; a pending mass delete still needs confirmation.
        // The state stays 'halted' while the re-check scans (runPass leaves it once the
        // cause is gone): the halt and its buttons do not blink away on every local change.
        await this.#sleep(lane.config.pollIntervalMs);
        if (this.stopping || this.paused) continue;
        this.needFullPass = true;
      }
      if (await this.#heldByCanary()) continue;
      try {
        if (!lane.connection.current) await lane.connect();
      } catch (err) {
        await this.#backOff(err);
        continue;
      }
      lane.beginWork();
      this.#taken = [];
      const scopes = this.#nextScopes(Date.now());
      if (!scopes) {
        lane.markIdle();
        await this.#sleep(this.#idleDelay(Date.now()));
        continue;
      }
      try {
        const summary = await lane.pass(scopes);
        await lane.afterPass(summary);
      } catch (err) {
        if (err instanceof HeldBack) {
          if (scopes.includes('')) this.needFullPass = true;
          this.dirty.push(...this.#taken);
          continue;
        }
        this.needFullPass = true;
        await lane.connection.close({ failed: true });
        if (err instanceof RemoteRootError) {
          lane.connection.failed();
          await this.#backOff(err);
          continue;
        }
        // The transport is dead (connection lost, server gone): reconnect and rescan everything.
        this.#st.lastError = (err as Error).message;
        this.#st.lastErrorKind = 'connection';
        this.#failCanary();
        lane.setState('error');
      }
    }
  }

  /** A follower with work the canary has not released: shows 'held' and waits; true when it waited. */
  async #heldByCanary(): Promise<boolean> {
    const canary = this.#lane.setup.canary;
    if (canary?.role !== 'follower' || canary.gate.open()) return false;
    if (!this.needFullPass && !this.dirty.length && !this.#lane.retries.due(Date.now()).length) return false;
    const hold = canary.gate.hold();
    this.#st.held = { canary: canary.gate.canary, ...hold };
    this.#lane.setState('held');
    const off = canary.gate.onChange(() => this.wake());
    try {
      await this.#sleep(60_000);
    } finally {
      off();
    }
    return true;
  }

  #failCanary(): void {
    const canary = this.#lane.setup.canary;
    if (canary?.role === 'canary')
      canary.gate.fail({ message: `${this.#lane.name} (the canary) is not reachable: ${this.#st.lastError ?? ''}` });
  }

  /** Shows `err` as the lane's error and waits out the backoff (a local edit does not cut it short). */
  async #backOff(err: unknown): Promise<void> {
    this.#st.lastError = (err as Error).message;
    this.#st.lastErrorKind = errorKindOf(err);
    this.#failCanary();
    this.#lane.setState('error');
    if (this.stopping) return;
    this.#waitingToReconnect = true;
    try {
      await this.#sleep(this.#lane.connection.retryDelay(this.#st.lastErrorKind));
    } finally {
      this.#waitingToReconnect = false;
    }
  }

  /** The scopes of the next pass, or undefined when there is nothing to do now. */
  #nextScopes(now: number): string[] | undefined {
    const config = this.#lane.config;
    if (this.#st.watcher === 'polling' && now >= this.nextPollAt) {
      this.needFullPass = true;
      this.nextPollAt = now + config.pollIntervalMs;
    }
    if (this.#st.watcher === 'live' && now >= this.nextRescanAt) this.needFullPass = true;
    for (const p of this.#lane.retries.due(now)) this.dirty.push(p);
    if (this.needFullPass) {
      this.needFullPass = false;
      this.#taken = this.dirty;
      this.dirty = [];
      if (config.rescanIntervalMs > 0) this.nextRescanAt = now + config.rescanIntervalMs;
      return [''];
    }
    return this.dirty.length ? this.takeDirty() : undefined;
  }

  /** How long an idle loop sleeps: until the next retry, poll or rescan, at most a minute. */
  #idleDelay(now: number): number {
    const until = Math.min(
      this.#lane.retries.nextDueAt() ?? Infinity,
      this.#st.watcher === 'polling' ? this.nextPollAt : Infinity,
      this.#st.watcher === 'live' ? this.nextRescanAt : Infinity,
      now + 60_000,
    );
    return Math.max(10, until - now);
  }
}
