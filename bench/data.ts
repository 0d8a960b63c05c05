/**
 * Test data for the workloads: trees of small files, many mid-size files, one big file, and
 * a deterministic "git checkout" burst of creates, edits, deletes and renames.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** `files` files of `size` random bytes spread evenly over `dirs` directories d0..d{dirs-1}. */
export function makeSmallTree(root: string, files: number, dirs: number, size: number): void {
  const perDir = Math.ceil(files / dirs);
  let made = 0;
  for (let d = 0; d < dirs && made < files; d++) {
    mkdirSync(join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < perDir && made < files; f++, made++)
      writeFileSync(join(root, `d${d}`, `f${f}.bin`), randomBytes(size));
  }
}

/**
 * `count` files of `size` bytes in one directory: one random block, each file's first 16
 * bytes made unique (no tool here deduplicates across files, so this costs them the same).
 */
export function makeManyFiles(root: string, count: number, size: number): void {
  const block = randomBytes(size);
  mkdirSync(root, { recursive: true });
  for (let i = 0; i < count; i++) {
    randomFillSync(block, 0, 16);
    writeFileSync(join(root, `file-${String(i).padStart(4, '0')}.bin`), block);
  }
}

/** One file of `bytes` random bytes. */
export function makeBigFile(path: string, bytes: number): void {
  const chunk = Buffer.alloc(8 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
    }
  } finally {
    closeSync(fd);
  }
}

/** Rewrites `bytes` bytes of `path` at `offset` in place with random data. */
export function rewriteMiddle(path: string, offset: number, bytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(bytes), 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
}

/** Small deterministic PRNG (mulberry32), so every tool's copy gets the same burst. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BurstCounts {
  edits: number;
  creates: number;
  deletes: number;
  renames: number;
}

/** The 5,000-change burst split like a branch switch: 30% edits, 30% creates, 20% deletes, 20% renames. */
export function burstCounts(total: number): BurstCounts {
  return {
    edits: Math.round(total * 0.3),
    creates: Math.round(total * 0.3),
    deletes: Math.round(total * 0.2),
    renames: Math.round(total * 0.2),
  };
}

/**
 * Applies a "git checkout"-like burst to a tree made by {@link makeSmallTree}: edits (new
 * content of a different size), deletes, renames across directories, and creates (a tenth of
 * them in new directories), all as fast as the file system takes them. The same seed and
 * tree give the same set of paths touched.
 */
export function applyBurst(root: string, counts: BurstCounts, seed: number): void {
  const rnd = prng(seed);
  const files: string[] = [];
  for (const d of readdirSync(root).sort()) for (const f of readdirSync(join(root, d)).sort()) files.push(`${d}/${f}`);
  const dirs = [...new Set(files.map((f) => f.slice(0, f.indexOf('/'))))];
  // Pick distinct victims for edits, deletes and renames.
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [files[i], files[j]] = [files[j] as string, files[i] as string];
  }
  const take = (n: number) => files.splice(0, n);
  const edits = take(counts.edits);
  const deletes = take(counts.deletes);
  const renames = take(counts.renames);
  for (const f of edits) writeFileSync(join(root, f), randomBytes(1024 + Math.floor(rnd() * 7168)));
  for (const f of deletes) unlinkSync(join(root, f));
  renames.forEach((f, i) => {
    const toDir = dirs[Math.floor(rnd() * dirs.length)] as string;
    renameSync(join(root, f), join(root, toDir, `moved-${seed}-${i}.bin`));
  });
  const newDirs = Math.max(1, Math.round(counts.creates / 10 / 50));
  for (let i = 0; i < counts.creates; i++) {
    const inNew = i < counts.creates / 10;
    const dir = inNew ? `new-${seed}-${i % newDirs}` : (dirs[Math.floor(rnd() * dirs.length)] as string);
    if (inNew) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, `created-${seed}-${i}.bin`), randomBytes(1024 + Math.floor(rnd() * 7168)));
  }
}

/**
 * A cheap fingerprint of a tree: every path with its kind, and for files size, mode and
 * whole-second mtime. Equal fingerprints are then confirmed by content with the harness's
 * readTree; this one is quick enough to poll. Temp names (`.ferry-tmp-*`, rsync's `.name.XXXXXX`)
 * count, so a tree with a transfer in flight never matches.
 */
export function fingerprint(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(root, rel) : root)) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) {
        out.set(r, 'dir');
        walk(r);
      } else
        out.set(r, `${st.isFile() ? 'file' : 'other'}:${st.size}:${st.mode & 0o7777}:${Math.floor(st.mtimeMs / 1000)}`);
    }
  };
  walk('');
  return out;
}

/** Paths whose fingerprint differs (at most `limit`), empty when the trees match. */
export function fingerprintDiff(a: Map<string, string>, b: Map<string, string>, limit = 5): string[] {
  const out: string[] = [];
  for (const [p, v] of a) {
    if (out.length >= limit) return out;
    if (b.get(p) !== v) out.push(`${p}: local ${v}, remote ${b.get(p) ?? 'missing'}`);
  }
  for (const p of b.keys()) {
    if (out.length >= limit) return out;
    if (!a.has(p)) out.push(`${p}: only remote`);
  }
  return out;
}

/**
 * True when two files have the same size and the same bytes in 64 evenly spread 64 KiB
 * windows plus the window at `mustCover` (a rewritten region). Cheap enough for 1 GiB files;
 * a check that the transfer happened, not a proof of equality.
 */
export function sameFileSampled(a: string, b: string, mustCover?: { offset: number; length: number }): boolean {
  const size = lstatSync(a).size;
  if (lstatSync(b).size !== size) return false;
  const windows: { offset: number; length: number }[] = [];
  for (let i = 0; i < 64; i++) windows.push({ offset: Math.floor((size / 64) * i), length: 65536 });
  if (mustCover) windows.push(mustCover);
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  try {
    for (const w of windows) {
      const len = Math.max(0, Math.min(w.length, size - w.offset));
      const ba = Buffer.alloc(len);
      const bb = Buffer.alloc(len);
      readSync(fa, ba, 0, len, w.offset);
      readSync(fb, bb, 0, len, w.offset);
      if (!ba.equals(bb)) return false;
    }
    return true;
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/** A fingerprint reduced to paths, kinds and sizes (for tools that keep neither mode nor mtime). */
export function shapeOnly(fp: Map<string, string>): Map<string, string> {
  return new Map([...fp].map(([p, v]) => [p, v.split(':').slice(0, 2).join(':')]));
}
