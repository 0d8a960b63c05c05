/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, top first.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  wallMs: number;
  /** Sampled time not idle (JS, GC, native, program), in ms. */
  busyMs: number;
  idleMs: number;
  gcMs: number;
  top: { fn: string; where: string; selfMs: number; share: number }[];
  /** Busy time by kind of code, largest first. */
  categories: { name: string; selfMs: number; share: number }[];
}

const FS_CALLS = new Set([
  'lstat',
  'stat',
  'fstat',
  'open',
  'openFileHandle',
  'read',
  'readFileUtf8',
  'close',
  'readdir',
  'write',
  'writev',
  'writeString',
  'writeBuffer',
  'utimes',
  'mkdir',
  'rename',
  'unlink',
  'fsync',
  'realpath',
]);

/** Which kind of code a profile node is: what a reader needs to tell start-up from crypto from scanning. */
function categoryOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8/native, unattributed';
  if (
    url.startsWith('wasm://') ||
    url.includes('internal/modules') ||
    url.includes('internal/deps/amaro') ||
    url.includes('internal/bootstrap') ||
    fn === 'compileForInternalLoader' ||
    fn === 'compileSourceTextModule'
  )
    return 'loading modules and stripping TypeScript types (start-up)';
  if (url.includes('node_modules/ssh2')) return 'ssh2 (SSH protocol, crypto, SFTP)';
  if (url.includes('node_modules/chokidar') || url.includes('node_modules/readdirp')) return 'chokidar (file watching)';
  if (url.includes('/main/')) return "Ferry's own code (main/)";
  if (!url && FS_CALLS.has(fn)) return 'file-system calls (native)';
  if (!url) return 'other native code (crypto, sockets, zlib)';
  if (url.includes('node_modules')) return 'other dependencies';
  return 'Node internals (streams, events, paths, buffers)';
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function where(url: string, line: number): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const rel = path.startsWith(repoRoot) ? relative(repoRoot, path) : path;
  return `${rel}:${line + 1}`;
}

/** The newest `.cpuprofile` in `dir`, or undefined. */
export function newestProfile(dir: string): string | undefined {
  let best: { path: string; t: number } | undefined;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.cpuprofile')) continue;
    const p = join(dir, name);
    const t = statSync(p).mtimeMs;
    if (!best || t > best.t) best = { path: p, t };
  }
  return best?.path;
}

export function summarizeProfile(path: string, topN = 12): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
  const perFn = new Map<string, { fn: string; where: string; selfMs: number }>();
  const perCategory = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    total += ms;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (name === '(garbage collector)') gcMs += ms;
    const cat = categoryOf(name, n.callFrame.url);
    perCategory.set(cat, (perCategory.get(cat) ?? 0) + ms);
    const w = where(n.callFrame.url, n.callFrame.lineNumber);
    const key = `${name} ${w}`;
    const entry = perFn.get(key) ?? { fn: name, where: w, selfMs: 0 };
    entry.selfMs += ms;
    perFn.set(key, entry);
  }
  const busyMs = total - idleMs;
  const top = [...perFn.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN)
    .map((e) => ({ ...e, share: busyMs > 0 ? e.selfMs / busyMs : 0 }));
  const categories = [...perCategory]
    .sort((a, b) => b[1] - a[1])
    .map(([name, selfMs]) => ({ name, selfMs, share: busyMs > 0 ? selfMs / busyMs : 0 }));
  return { wallMs: (prof.endTime - prof.startTime) / 1000, busyMs, idleMs, gcMs, top, categories };
}

/** A Markdown table of a summary. */
export function profileMarkdown(s: ProfileSummary): string {
  const lines = [
    `Profiled run: ${(s.wallMs / 1000).toFixed(2)} s wall, Ferry's main thread busy ${(s.busyMs / 1000).toFixed(2)} s (GC ${(s.gcMs / 1000).toFixed(2)} s), idle (waiting on the network, children or disk) ${(s.idleMs / 1000).toFixed(2)} s.`,
    '',
    `By kind of code: ${s.categories.map((c) => `${c.name} ${c.selfMs.toFixed(0)} ms (${(c.share * 100).toFixed(0)}%)`).join(', ')}.`,
    '',
    '| self time | share of busy | function | where |',
    '|---|---|---|---|',
    ...s.top.map((t) => `| ${t.selfMs.toFixed(0)} ms | ${(t.share * 100).toFixed(1)}% | \`${t.fn}\` | ${t.where} |`),
  ];
  return lines.join('\n');
}
