/**
 * Upload bandwidth limits (`--bwlimit 500K`): the rate parser, rsync's form of it, and the
 * token bucket the SFTP upload path awaits before each WRITE.
 *
 * The bucket holds at most a tenth of a second of tokens, so a burst after an idle spell is
 * small; a take larger than what is in the bucket goes into debt and waits it off, so chunks
 * bigger than the burst still pass, and over any stretch of time the bytes let through stay
 * within rate x time + one burst. Takes are served in order (uploads in flight share it
 * fairly). Time comes from an injected clock, so tests need no wall clock.
 */

export interface RateLimiter {
  /** Resolves when `bytes` more may be sent. */
  take(bytes: number): Promise<void>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class TokenBucket implements RateLimiter {
  /** Bytes per second. */
  readonly rate: number;
  /** Most tokens the bucket holds. */
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(bytesPerSecond: number, opts: { clock?: Clock; burst?: number } = {}) {
    if (!(bytesPerSecond > 0)) throw new RangeError('the rate must be more than 0 bytes per second');
    this.rate = bytesPerSecond;
    this.burst = opts.burst ?? Math.max(1, bytesPerSecond / 10);
    this.#clock = opts.clock ?? realClock;
    this.#tokens = this.burst;
    this.#last = this.#clock.now();
  }

  take(bytes: number): Promise<void> {
    const turn = this.#queue.then(() => this.#take(bytes));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #take(bytes: number): Promise<void> {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
    this.#tokens -= bytes;
    if (this.#tokens < 0) await this.#clock.sleep(Math.ceil((-this.#tokens * 1000) / this.rate));
  }
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * Parses a rate: a number of bytes per second with an optional K, M or G suffix (powers of
 * 1024; `KB`, `KiB`, `K/s` spell the same). Throws a sentence for anything else, or for less
 * than 1 KiB/s (rsync's smallest limit).
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:\/s)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a rate: give bytes per second like 500K or 5M (K = 1024 bytes).`);
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] ?? 1));
  if (bytes < 1024) throw new Error(`"${text}" is below the smallest rate Ferry can keep, 1K (1024 bytes per second).`);
  return bytes;
}

/** rsync's `--bwlimit` for a rate: whole KiB per second, rounded down so rsync stays at or below it. */
export function rsyncBwlimitArg(bytesPerSecond: number): string {
  return `--bwlimit=${Math.max(1, Math.floor(bytesPerSecond / 1024))}`;
}

/** A rate for people: `500 KiB/s`, `5.0 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1024 ** 2) return `${(bytesPerSecond / 1024 ** 2).toFixed(1)} MiB/s`;
  return `${Math.round(bytesPerSecond / 1024)} KiB/s`;
}
