/**
 * Canary rollout across a folder's targets: each change set goes to the first target (the
 * canary); the others get it only once the canary has converged on it and its commands
 * after sync exited 0.
 *
 * A change set is the local folder as of one generation of {@link SharedScans}: every
 * watcher batch makes a new one. The canary lane releases the generation it took its work
 * at, once a pass converged (nothing failed, nothing left to rescan) and its commands
 * succeeded. A follower lane runs a pass only while the released generation is the current
 * one, and checks again after its local scan: a change that arrived in between makes it
 * wait for the canary again before anything is sent. A failing canary (a command that
 * failed, failed items, a halt, no connection) holds the followers; the next change set
 * (or retry) that converges with commands exiting 0 releases them.
 *
 * Without a live watcher (a folder that fell back to polling) no batch moves the
 * generation on; a change the canary has not seen may then reach a follower whose own
 * periodic full pass finds it first. See README, "Deploying with Ferry".
 */

/** A follower's local scan saw a change the canary has not released: it waits for it instead. */
export class HeldBack extends Error {}

export interface CanaryHold {
  /** A sentence: what the canary is doing or why it failed. */
  message: string;
  /** The failed command's last output lines. */
  output?: string[];
  /** The canary failed (a command, its sync, its connection); absent while it is still at work. */
  failed?: boolean;
}

export class CanaryGate {
  /** The canary target's name (its `remote`). */
  readonly canary: string;
  readonly #generation: () => number;
  #released = -1;
  #failure: CanaryHold | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(canary: string, generation: () => number) {
    this.canary = canary;
    this.#generation = generation;
  }

  /** May a follower send the local folder as it is now? */
  open(): boolean {
    return this.#released >= this.#generation();
  }

  /** Why followers wait: the canary's failure, or that it has not converged yet. */
  hold(): CanaryHold {
    if (this.#failure) return { ...this.#failure, failed: true };
    return { message: `Waiting for ${this.canary} (the canary) to sync this change and pass its checks first.` };
  }

  /** The canary's failure, if it failed on the latest change set it tried. */
  get failure(): CanaryHold | undefined {
    return this.#failure;
  }

  /** The canary converged on `generation` and its commands exited 0. */
  release(generation: number): void {
    this.#released = Math.max(this.#released, generation);
    this.#failure = undefined;
    this.#notify();
  }

  /** The canary failed on its latest change set: followers stay held, showing why. */
  fail(hold: CanaryHold): void {
    this.#failure = hold;
    this.#notify();
  }

  /** Calls `listener` on every release or failure; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }
}
