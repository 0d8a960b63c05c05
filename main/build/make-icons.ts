/**
 * Draws Ferry's icons as PNG (and .ico) files into assets/, so they are reproducible without
 * an image editor: `npm run icons`. Per overall tray state: `<state>.png` (16 px) and
 * `<state>@2x.png` (32 px) for Linux, `<state>Template.png` / `<state>Template@2x.png`
 * (black + alpha) for macOS, `<state>.ico` (16 + 32 px) for Windows; plus `icon.png`
 * (512 px) for packaging. Shapes are drawn with 4x4 supersampling.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

type State = 'in-sync' | 'syncing' | 'paused' | 'error' | 'conflict';
type Rgb = [number, number, number];

const COLORS: Record<State, Rgb> = {
  'in-sync': [30, 127, 67],
  syncing: [37, 99, 201],
  paused: [107, 114, 128],
  error: [180, 35, 24],
  conflict: [196, 120, 0],
};

function segDist(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Whether (u, v) in [-1, 1]^2 (v down) is part of the state's white glyph. */
function glyph(state: State, u: number, v: number): boolean {
  const w = 0.14;
  switch (state) {
    case 'in-sync':
      return segDist(u, v, -0.45, 0.0, -0.12, 0.33) < w || segDist(u, v, -0.12, 0.33, 0.45, -0.3) < w;
    case 'syncing': {
      const r = Math.hypot(u, v);
      const a = Math.atan2(v, u);
      const ring = r > 0.3 && r < 0.52 && !(a > -0.5 && a < 0.35) && !(a > 2.6 || a < -2.8);
      const head1 = segDist(u, v, 0.41, -0.1, 0.62, -0.35) < 0.09 || segDist(u, v, 0.41, -0.1, 0.18, -0.3) < 0.09;
      return ring || head1;
    }
    case 'paused':
      return Math.abs(v) < 0.42 && ((u > -0.36 && u < -0.1) || (u > 0.1 && u < 0.36));
    case 'error':
      return (Math.abs(u) < 0.12 && v > -0.5 && v < 0.15) || Math.hypot(u, v - 0.38) < 0.13;
    case 'conflict':
      return Math.abs(v + 0.17) < 0.09 || Math.abs(v - 0.17) < 0.09
        ? Math.abs(u) < 0.45
        : segDist(u, v, 0.28, -0.5, -0.28, 0.5) < 0.09;
  }
}

function draw(size: number, state: State, template: boolean): Buffer {
  const px = Buffer.alloc(size * size * 4);
  const [r, g, b] = template ? [0, 0, 0] : COLORS[state];
  const n = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let disc = 0;
      let mark = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const u = ((x + (sx + 0.5) / n) / size) * 2 - 1;
          const v = ((y + (sy + 0.5) / n) / size) * 2 - 1;
          if (Math.hypot(u, v) <= 0.94) {
            disc++;
            if (glyph(state, u / 0.94, v / 0.94)) mark++;
          }
        }
      }
      const i = (y * size + x) * 4;
      const cover = disc / (n * n);
      const glyphShare = disc ? mark / disc : 0;
      if (template) {
        // macOS template: shape in black, glyph cut out (transparent).
        px[i] = 0;
        px[i + 1] = 0;
        px[i + 2] = 0;
        px[i + 3] = Math.round(255 * cover * (1 - glyphShare));
      } else {
        px[i] = Math.round(r + (255 - r) * glyphShare);
        px[i + 1] = Math.round(g + (255 - g) * glyphShare);
        px[i + 2] = Math.round(b + (255 - b) * glyphShare);
        px[i + 3] = Math.round(255 * cover);
      }
    }
  }
  return px;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function encodePng(size: number, rgba: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An .ico holding PNG images (Windows Vista and later read these). */
export function encodeIco(images: { size: number; png: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, png }) => {
    const e = Buffer.alloc(16);
    e[0] = size >= 256 ? 0 : size;
    e[1] = size >= 256 ? 0 : size;
    e.writeUInt16LE(1, 4);
    e.writeUInt16LE(32, 6);
    e.writeUInt32LE(png.length, 8);
    e.writeUInt32LE(offset, 12);
    offset += png.length;
    return e;
  });
  return Buffer.concat([header, ...entries, ...images.map((i) => i.png)]);
}

export function makeIcons(assetsDir: string): string[] {
  const written: string[] = [];
  const out = (rel: string, data: Buffer) => {
    const file = join(assetsDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    written.push(rel);
  };
  for (const state of Object.keys(COLORS) as State[]) {
    const png16 = encodePng(16, draw(16, state, false));
    const png32 = encodePng(32, draw(32, state, false));
    out(`tray/${state}.png`, png16);
    out(`tray/${state}@2x.png`, png32);
    out(`tray/${state}Template.png`, encodePng(16, draw(16, state, true)));
    out(`tray/${state}Template@2x.png`, encodePng(32, draw(32, state, true)));
    out(
      `tray/${state}.ico`,
      encodeIco([
        { size: 16, png: png16 },
        { size: 32, png: png32 },
      ]),
    );
  }
  out('icon.png', encodePng(512, draw(512, 'syncing', false)));
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const assets = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets');
  console.log(makeIcons(assets).join('\n'));
}
