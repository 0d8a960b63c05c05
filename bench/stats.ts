/**
 * Order statistics and number formatting for the benchmark report. Every function takes the
 * raw samples; none of them mutates its input.
 */

/** The q-quantile (0..1) by linear interpolation between closest ranks; NaN for no samples. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
export const min = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : Number.NaN);
export const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : Number.NaN);

/** Milliseconds as "834 ms" or "2.73 s" (or "15.3 s"). */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(0)} s`;
}

/** "median (min-max)" of millisecond samples. */
export function fmtSpread(xs: readonly number[], fmt: (n: number) => string = fmtMs): string {
  if (xs.length === 0) return 'n/a';
  if (xs.length === 1) return fmt(xs[0] as number);
  return `${fmt(median(xs))} (${fmt(min(xs))} - ${fmt(max(xs))})`;
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(2)}x`;
}

/** Bytes per millisecond as MB/s (10^6 bytes, like scp and rsync print). */
export function fmtMBps(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
