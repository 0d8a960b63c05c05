/**
 * Grouped bar charts as SVG, turned into PNG with `rsvg-convert` (Debian's librsvg2-bin).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BarChart } from './chart-types.ts';

const PALETTE = ['#1f6feb', '#8250df', '#bf8700', '#1a7f37', '#6e7781', '#cf222e', '#0a7e8c'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const plain = (s: string) => s.replace(/`/g, '');

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function label(v: number, unit: string): string {
  if (unit.startsWith('ms')) return v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${v.toFixed(0)} ms`;
  return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
}

/** The chart as an SVG document. `refLine` draws a dashed line at that value (e.g. 1.0). */
export function renderSvg(chart: BarChart, refLine?: number): string {
  const tools = [...new Set(chart.groups.flatMap((g) => g.bars.map((b) => b.tool)))];
  const W = 960;
  const H = 480;
  const left = 70;
  const right = 20;
  const top = 70 + Math.ceil(tools.length / 3) * 20;
  const bottom = 60;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const values = chart.groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v) && v > 0);
  const vmax = Math.max(...values, refLine ?? 0);
  const vmin = Math.min(...values);
  let y: (v: number) => number;
  const ticks: number[] = [];
  if (chart.log) {
    const lo = 10 ** Math.floor(Math.log10(vmin));
    const hi = 10 ** Math.ceil(Math.log10(vmax));
    y = (v) =>
      top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    const hi = niceMax(vmax * 1.05);
    y = (v) => top + plotH - (v / hi) * plotH;
    for (let i = 0; i <= 5; i++) ticks.push((hi / 5) * i);
  }
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="26" font-size="17" text-anchor="middle" font-weight="bold">${esc(plain(chart.title))}</text>`,
  ];
  tools.forEach((t, i) => {
    const lx = left + (i % 3) * 290;
    const ly = 50 + Math.floor(i / 3) * 20;
    out.push(`<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${lx + 20}" y="${ly}" font-size="13">${esc(plain(t))}</text>`);
  });
  for (const t of ticks) {
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y(t)}" y2="${y(t)}" stroke="#d0d7de" stroke-width="1"/>`);
    out.push(
      `<text x="${left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end">${esc(label(t, chart.unit))}</text>`,
    );
  }
  if (refLine !== undefined)
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(refLine)}" y2="${y(refLine)}" stroke="#24292f" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  const gw = plotW / chart.groups.length;
  chart.groups.forEach((g, gi) => {
    const bw = Math.min(36, (gw * 0.8) / Math.max(1, g.bars.length));
    const x0 = left + gi * gw + (gw - bw * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      if (!Number.isFinite(b.value) || b.value <= 0) return;
      const x = x0 + bi * bw;
      const yt = y(b.value);
      const color = PALETTE[tools.indexOf(b.tool) % PALETTE.length];
      out.push(
        `<rect x="${x + 1}" y="${yt}" width="${bw - 2}" height="${Math.max(1, top + plotH - yt)}" fill="${color}"/>`,
      );
      out.push(
        `<text x="${x + bw / 2}" y="${yt - 4}" font-size="10" text-anchor="middle">${esc(label(b.value, chart.unit))}</text>`,
      );
    });
    out.push(
      `<text x="${left + gi * gw + gw / 2}" y="${top + plotH + 20}" font-size="12" text-anchor="middle">${esc(plain(g.label))}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#57606a"/>`);
  out.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#57606a"/>`);
  out.push(
    `<text x="${W / 2}" y="${H - 14}" font-size="12" text-anchor="middle" fill="#57606a">${esc(plain(chart.unit))}</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Writes `<dir>/<file>.png` (via rsvg-convert at `rsvgPath`); returns the PNG's file name, or
 * a sentence saying why there is none.
 */
export function writeChartPng(
  chart: BarChart,
  dir: string,
  rsvgPath: string | undefined,
  refLine?: number,
): { png?: string; why?: string } {
  if (!rsvgPath) return { why: 'rsvg-convert (Debian package librsvg2-bin) is not installed' };
  const svgPath = join(dir, `${chart.file}.svg`);
  const pngPath = join(dir, `${chart.file}.png`);
  writeFileSync(svgPath, renderSvg(chart, refLine));
  const r = spawnSync(rsvgPath, ['-o', pngPath, svgPath], { encoding: 'utf8' });
  rmSync(svgPath, { force: true });
  if (r.status !== 0) return { why: `rsvg-convert failed: ${(r.stderr || String(r.error)).trim()}` };
  return { png: `${chart.file}.png` };
}
