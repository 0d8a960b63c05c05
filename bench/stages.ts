/**
 * Where a pass over a large tree spends its time and memory, stage by stage (issue 17):
 * index load, local scan, remote scan, reconcile, apply, index save, each run in this process
 * with the engine's own functions against the loopback sshd, plus the CLI's start-up. Then
 * the whole `ferry sync --once` (initial and no-op) next to `rsync -a -e ssh`, interleaved,
 * with each run's peak RSS (GNU time).
 *
 *   node --expose-gc bench/stages.ts [--files 100000] [--dirs 1000] [--reps 3] [--no-cli] [--no-stages] [--profile]
 *
 * Prints a Markdown table per part. Never run by the tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshd, type TestSshd } from '../test/harness/sshd.ts';
import { FERRY_BIN, sshFlags, targetOf } from '../test/harness/trees.ts';
import { makeSmallTree } from './data.ts';
import { sshCommandLine, remoteSpec } from './peers.ts';
import { median } from './stats.ts';
import { newestProfile, summarizeProfile } from './profile.ts';
import { loadIndex, saveIndex } from '../main/engine/index-store.ts';
import { scanLocal } from '../main/engine/local-scan.ts';
import { createIgnoreMatcher } from '../main/engine/ignore.ts';
import { reconcile } from '../main/engine/reconcile.ts';
import { applyPlan } from '../main/engine/apply-plan.ts';
import { openTransports } from '../main/transport/open-transport.ts';
import type { SshEndpoint } from '../main/ssh/endpoint.ts';
import type { Entry } from '../main/core/tree.ts';

if (!process.env.TMPDIR && existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

const argv = process.argv.slice(2);
const num = (flag: string, dflt: number) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const files = num('--files', 100_000);
const dirs = num('--dirs', Math.max(1, Math.round(files / 100)));
const reps = num('--reps', 3);
const BIN_FERRY = fileURLToPath(new URL('../bin/ferry', import.meta.url));
const log = (m: string) => process.stderr.write(`[stages] ${m}\n`);
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const ms = (t: number) => (t >= 1000 ? `${(t / 1000).toFixed(2)} s` : `${t.toFixed(0)} ms`);

const sshd = await startSshd();
const work = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'ferry-stages-'));
const src = join(work, 'src');
log(`making ${files} x 1 KiB in ${dirs} dirs under ${src}`);
makeSmallTree(src, files, dirs, 1024);

const endpoint = (remoteRoot: string): SshEndpoint => ({
  host: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  displayName: '127.0.0.1',
  remoteRoot,
  identityFiles: [sshd.clientKeyPath],
  agentSocket: null,
  knownHostsPath: sshd.knownHostsPath,
  hostKeyPolicy: 'strict',
});

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Row {
  stage: string;
  ms: number;
  heapAfter: number;
  rssAfter: number;
}

async function stage<T>(rows: Row[], name: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  const t = performance.now() - t0;
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  rows.push({ stage: name, ms: t, heapAfter: m.heapUsed, rssAfter: m.rss });
  return out;
}

/** One pass by hand: the engine's stages one after the other, as pass.ts runs them. */
async function stagedPass(remoteDir: string, indexFile: string, initial: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const matcher = createIgnoreMatcher({});
  const ignores = (rel: string, isDir: boolean) => rel !== '' && matcher.ignores(rel, isDir);
  const ancestor = (await stage(rows, 'index load', () => loadIndex(indexFile))) ?? new Map<string, Entry>();
  const t = await stage(rows, 'connect', () => openTransports(endpoint(remoteDir), src, 'auto'));
  const [local, remote] = [
    await stage(rows, 'local scan', () => scanLocal(src, [''], ignores)),
    await stage(rows, 'remote scan', () => t.main.scan([''])),
  ];
  // What pass.ts would save by running the two scans at once (the remote listing runs on the server).
  if (!initial)
    await stage(rows, 'both scans at once (not what pass.ts does yet)', () =>
      Promise.all([scanLocal(src, [''], ignores), t.main.scan([''])]),
    );
  const plan = await stage(rows, 'reconcile', () =>
    reconcile({
      ancestor,
      local: local.entries,
      remote: remote.entries,
      mode: 'push',
      scopes: [''],
      detectRenames: true,
    }),
  );
  await stage(rows, `apply (${plan.ops.length} ops)`, () =>
    applyPlan({
      plan,
      transport: t.main,
      ...(t.delta ? { deltaTransport: t.delta, deltaThreshold: 16 << 20, bulkThreshold: 1000 } : {}),
      localRoot: src,
      ancestor,
      remote: remote.entries,
      now: () => new Date(),
    }),
  );
  if (plan.ops.length || initial)
    await stage(rows, 'index save', () => saveIndex(indexFile, ancestor, { localRoot: src, remote: remoteDir }));
  await t.close();
  rows.push({ stage: 'peak RSS (VmHWM)', ms: Number.NaN, heapAfter: Number.NaN, rssAfter: vmHwm() });
  return rows;
}

function stageTable(title: string, rows: Row[]): string {
  const lines = [`### ${title}`, '', '| stage | time | heap after (after GC) | RSS after |', '|---|---:|---:|---:|'];
  for (const r of rows)
    lines.push(
      `| ${r.stage} | ${Number.isNaN(r.ms) ? '' : ms(r.ms)} | ${Number.isNaN(r.heapAfter) ? '' : mb(r.heapAfter)} | ${mb(r.rssAfter)} |`,
    );
  return lines.join('\n');
}

/** `cmd argv` under GNU time: wall ms and peak RSS bytes. */
function timed(cmd: string, args: string[]): { ms: number; rss: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SSH_AUTH_SOCK: '' },
    maxBuffer: 64 << 20,
  });
  const t = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const kb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms: t, rss: kb * 1024 };
}

function freshRemote(s: TestSshd, name: string): string {
  const d = join(s.remoteRoot, name);
  rmSync(d, { recursive: true, force: true });
  return d;
}

const out: string[] = [];
if (!argv.includes('--no-stages')) {
  const state = join(work, 'stage-state');
  mkdirSync(state, { recursive: true });
  const indexFile = join(state, 'index');
  const dest = freshRemote(sshd, 'stages');
  log('staged initial pass');
  out.push(stageTable(`Initial pass, stage by stage (${files} files)`, await stagedPass(dest, indexFile, true)));
  log('staged no-op pass');
  out.push(stageTable(`No-op pass, stage by stage (${files} files)`, await stagedPass(dest, indexFile, false)));
  rmSync(dest, { recursive: true, force: true });
}

if (!argv.includes('--no-cli')) {
  const node = process.execPath;
  const ferryArgs = (state: string, dest: string) => [
    FERRY_BIN,
    'sync',
    '--once',
    ...sshFlags(sshd, state),
    src,
    targetOf(sshd, dest),
  ];
  const rsyncArgs = (dest: string) => ['-a', '-e', sshCommandLine(sshd), `${src}/`, `${remoteSpec(sshd, dest)}/`];
  const res: Record<string, { ms: number[]; rss: number[] }> = {};
  const push = (k: string, r: { ms: number; rss: number }) => {
    const s = (res[k] ??= { ms: [], rss: [] });
    s.ms.push(r.ms);
    s.rss.push(r.rss);
    log(`${k}: ${ms(r.ms)}, ${mb(r.rss)}`);
  };
  const ferryState = join(work, 'cli-state');
  for (let i = 0; i < reps; i++) {
    const order = i % 2 ? ['rsync', 'ferry'] : ['ferry', 'rsync'];
    for (const who of order) {
      if (who === 'ferry') {
        rmSync(ferryState, { recursive: true, force: true });
        push('ferry initial', timed(node, ferryArgs(ferryState, freshRemote(sshd, 'cli-ferry'))));
      } else push('rsync initial', timed('rsync', rsyncArgs(freshRemote(sshd, 'cli-rsync'))));
    }
  }
  for (let i = 0; i < Math.max(reps, 5); i++) {
    const order = i % 2 ? ['rsync', 'ferry'] : ['ferry', 'rsync'];
    for (const who of order) {
      if (who === 'ferry') {
        const args = ferryArgs(ferryState, join(sshd.remoteRoot, 'cli-ferry'));
        push('ferry no-op', timed(node, args));
        // The installed command (bin/ferry: the bundle when it is fresh, V8 flags).
        push('ferry no-op (bin/ferry)', timed(BIN_FERRY, args.slice(1)));
      } else push('rsync no-op', timed('rsync', rsyncArgs(join(sshd.remoteRoot, 'cli-rsync'))));
    }
  }
  for (let i = 0; i < reps; i++) push('ferry --help', timed(node, [FERRY_BIN, 'sync', '--help']));
  if (argv.includes('--profile')) {
    const dir = join(work, 'cpuprof');
    mkdirSync(dir);
    timed(node, ['--cpu-prof', '--cpu-prof-dir', dir, ...ferryArgs(ferryState, join(sshd.remoteRoot, 'cli-ferry'))]);
    const path = newestProfile(dir);
    if (path) {
      const p = summarizeProfile(path, 25);
      out.push(
        [
          `### One no-op under --cpu-prof: ${ms(p.wallMs)} wall, busy ${ms(p.busyMs)}, GC ${ms(p.gcMs)}`,
          '',
          ...p.categories.map((c) => `- ${c.name}: ${ms(c.selfMs)}`),
          '',
          '| self | function | where |',
          '|---:|---|---|',
          ...p.top.slice(0, 25).map((f) => `| ${ms(f.selfMs)} | \`${f.fn}\` | ${f.where} |`),
        ].join('\n'),
      );
    }
  }
  const lines = [
    `### Whole runs (${files} files), medians of interleaved runs`,
    '',
    '| run | time: median (min - max) | peak RSS (median) |',
    '|---|---:|---:|',
  ];
  for (const [k, v] of Object.entries(res))
    lines.push(
      `| ${k} | ${ms(median(v.ms))} (${ms(Math.min(...v.ms))} - ${ms(Math.max(...v.ms))}) | ${mb(median(v.rss))} |`,
    );
  out.push(lines.join('\n'));
}

process.stdout.write(`${out.join('\n\n')}\n`);
await sshd.dispose();
rmSync(work, { recursive: true, force: true });
