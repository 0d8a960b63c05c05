/**
 * The activity panel's throughput chart data: bytes that landed on servers in each of the
 * last `seconds` seconds, from the uploads the engine reports. Counting finished uploads
 * (rather than sampling the folders' live rate once a second) keeps syncs shorter than a
 * second visible. Pure: the page calls `add` per upload and `tick` once a second.
 */
export class ThroughputSeries {
  /** Oldest first; always `seconds` long. */
  private readonly perSecond: number[];
  private pending = 0;

  readonly seconds: number;

  constructor(seconds = 60) {
    this.seconds = seconds;
    this.perSecond = new Array<number>(seconds).fill(0);
  }

  add(bytes: number): void {
    if (Number.isFinite(bytes) && bytes > 0) this.pending += bytes;
  }

  /** Closes the current second. */
  tick(): void {
    this.perSecond.push(this.pending);
    this.perSecond.shift();
    this.pending = 0;
  }

  /** Bytes per second in the last closed second. */
  last(): number {
    return this.perSecond[this.perSecond.length - 1] ?? 0;
  }

  peak(): number {
    return Math.max(0, ...this.perSecond);
  }

  /**
   * SVG points of the filled area under the curve, in a `width` x `height` box (y grows
   * down); the curve is scaled to the peak, a flat line on the bottom when nothing moved.
   */
  areaPoints(width = 100, height = 30): string {
    const max = Math.max(1, this.peak());
    const step = width / Math.max(1, this.seconds - 1);
    const y = (v: number) => round(height - (v / max) * (height - 2));
    const curve = this.perSecond.map((v, i) => `${round(i * step)},${y(v)}`);
    return [`0,${height}`, ...curve, `${width},${height}`].join(' ');
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
