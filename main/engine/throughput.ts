/** Bytes per second over the last few seconds, kept in one-second buckets (O(1) per call). */
export class ThroughputMeter {
  readonly #windowS: number;
  #buckets: { t: number; bytes: number }[] = [];

  constructor(windowS = 5) {
    this.#windowS = windowS;
  }

  /** Counts `bytes` sent at `nowMs` and returns the rate over the window ending then. */
  note(bytes: number, nowMs = Date.now()): number {
    const second = Math.floor(nowMs / 1000);
    const last = this.#buckets[this.#buckets.length - 1];
    if (last && last.t === second) last.bytes += bytes;
    else this.#buckets.push({ t: second, bytes });
    while (this.#buckets.length && (this.#buckets[0] as { t: number }).t <= second - this.#windowS)
      this.#buckets.shift();
    const total = this.#buckets.reduce((n, b) => n + b.bytes, 0);
    const first = (this.#buckets[0] as { t: number }).t;
    return Math.round(total / Math.max(1, second - first + 1));
  }
}
