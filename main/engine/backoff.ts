/**
 * Retry timing for paths that failed to sync.
 *
 * Jitter: "full jitter" (as described in AWS's "Exponential Backoff And Jitter"): the delay
 * is uniform in [0, min(maxMs, baseMs * 2^(attempt-1))). It spreads retries of many paths
 * that failed together (say, the server's disk filled up) instead of retrying them in lock
 * step; a short delay now and then is the accepted cost.
 */
import { comparePaths, isWithin } from '../core/tree.ts';
import type { TransferErrorCode } from '../transport/transport.ts';

export interface BackoffOptions {
  /** Cap of the first retry's delay. Default 1000. */
  baseMs?: number;
  /** Largest delay ever returned. Default 5 minutes. */
  maxMs?: number;
  /** Uniform in [0, 1). Default Math.random. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1 = after the first failure; values below 1 count
 * as 1). Always an integer in [0, maxMs).
 */
export function nextDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? 1000;
  const maxMs = options.maxMs ?? 5 * 60_000;
  const random = options.random ?? Math.random;
  const n = Math.max(1, Math.floor(attempt));
  const cap = Math.min(maxMs, baseMs * 2 ** (n - 1)); // 2 ** large = Infinity, capped
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(Math.floor(r * cap), Math.max(0, Math.ceil(cap) - 1));
}

export interface RetryState {
  readonly path: string;
  /** The latest failure's message, for the user. */
  readonly error: string;
  readonly errorCode: TransferErrorCode;
  /** Failures so far, 1 after the first. */
  readonly attempts: number;
  /** Earliest time (same clock as the `now` passed in) the path should be tried again. */
  readonly nextAttemptAt: number;
}

/** Per-path failure book-keeping; time is whatever clock the caller passes as `now`. */
export class RetryBook {
  readonly #options: BackoffOptions;
  readonly #states = new Map<string, RetryState>();

  constructor(options: BackoffOptions = {}) {
    this.#options = options;
  }

  /** Records another failure of `path` and schedules its next attempt. */
  recordFailure(path: string, error: string, errorCode: TransferErrorCode, now: number): RetryState {
    const attempts = (this.#states.get(path)?.attempts ?? 0) + 1;
    const state: RetryState = {
      path,
      error,
      errorCode,
      attempts,
      nextAttemptAt: now + nextDelayMs(attempts, this.#options),
    };
    this.#states.set(path, state);
    return state;
  }

  /** Forgets `path` (it synced, or no longer exists). */
  clear(path: string): void {
    this.#states.delete(path);
  }

  /** Forgets every path (e.g. the user asked to retry all failures now). */
  clearAll(): void {
    this.#states.clear();
  }

  /**
   * Forgets every path below one of `scopes` ("" = all) that is not in `keep`: a pass that
   * rescanned those paths on both sides and did not fail them again has nothing left to
   * retry there (they synced, vanished, or needed nothing). Without this, a due path that
   * no longer needs an operation would stay due forever and wake the loop on every turn.
   */
  settle(scopes: readonly string[], keep: ReadonlySet<string>): void {
    for (const p of [...this.#states.keys()])
      if (!keep.has(p) && scopes.some((s) => isWithin(p, s))) this.#states.delete(p);
  }

  /**
   * Makes every pending retry due at `now` (attempt counts are kept): the server just showed
   * it works again (a reconnect, or a write it accepted), so waiting out the backoff earned
   * while it was down or full would only delay the failed items for nothing.
   */
  retrySoon(now: number): void {
    for (const [p, s] of this.#states) if (s.nextAttemptAt > now) this.#states.set(p, { ...s, nextAttemptAt: now });
  }

  get(path: string): RetryState | undefined {
    return this.#states.get(path);
  }

  get size(): number {
    return this.#states.size;
  }

  /** Paths whose next attempt is at or before `now`, parents first. They stay in the book until cleared or failed again. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const s of this.#states.values()) if (s.nextAttemptAt <= now) out.push(s.path);
    return out.sort(comparePaths);
  }

  /** When the earliest pending retry is due, or undefined when nothing is pending. */
  nextDueAt(): number | undefined {
    let min: number | undefined;
    for (const s of this.#states.values()) if (min === undefined || s.nextAttemptAt < min) min = s.nextAttemptAt;
    return min;
  }

  /** All failing paths, parents first. */
  list(): RetryState[] {
    return [...this.#states.values()].sort((a, b) => comparePaths(a.path, b.path));
  }
}
