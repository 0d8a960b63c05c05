/**
 * Markdown tables of timing series: median (min-max), optional throughput and CPU, and the
 * ratio of Ferry's median to each peer's.
 */
import { FERRY, type Series } from './context.ts';
import { fmtMBps, fmtMs, fmtRatio, fmtSpread, median } from './stats.ts';

export function ferryOf(series: readonly Series[]): Series | undefined {
  return series.find((s) => s.tool === FERRY);
}

export function seriesOf(series: readonly Series[], tool: string): Series | undefined {
  return series.find((s) => s.tool === tool);
}

/** Ferry's median time divided by `tool`'s (below 1: Ferry is faster). */
export function ferryRatio(series: readonly Series[], tool: string): number {
  const f = ferryOf(series);
  const p = seriesOf(series, tool);
  if (!f || !p || !f.samples.length || !p.samples.length) return Number.NaN;
  return median(f.samples) / median(p.samples);
}

export function timeTable(series: readonly Series[], opts: { bytes?: number; cpu?: boolean } = {}): string {
  const f = ferryOf(series);
  const head = ['tool', 'time: median (min - max)'];
  if (opts.bytes) head.push('throughput (median)');
  if (opts.cpu) head.push('client CPU', 'server CPU');
  head.push("Ferry's time ÷ this");
  const rows = series.map((s) => {
    const cells = [s.tool + (s.note ? ` (${s.note})` : ''), fmtSpread(s.samples)];
    if (opts.bytes) cells.push(s.samples.length ? fmtMBps(opts.bytes, median(s.samples)) : 'n/a');
    if (opts.cpu)
      cells.push(
        s.clientCpuMs?.length ? fmtMs(median(s.clientCpuMs)) : 'n/a',
        s.serverCpuMs?.length ? fmtMs(median(s.serverCpuMs)) : 'n/a',
      );
    cells.push(s === f ? '1' : f ? fmtRatio(median(f.samples) / median(s.samples)) : 'n/a');
    return `| ${cells.join(' | ')} |`;
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows].join('\n');
}

/** "at most 1.0x rsync" style verdict: met when `ratio` <= `limit`; the miss in percent. */
export function ratioTarget(ratio: number, limit: number): { met: boolean | undefined; miss?: string } {
  if (!Number.isFinite(ratio)) return { met: undefined };
  if (ratio <= limit) return { met: true };
  return {
    met: false,
    miss: `${fmtRatio(ratio)} against at most ${fmtRatio(limit)}: ${((ratio / limit - 1) * 100).toFixed(0)}% over`,
  };
}
