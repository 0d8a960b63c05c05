/**
 * The benchmark suite (issue 4): Ferry against rsync, scp, sftp, lsyncd and cp on a loopback
 * sshd, eight workloads, every figure repeated and interleaved. Writes docs/BENCHMARKS.md and
 * its charts (a `--quick` run writes to a temp directory unless `--out` is given).
 *
 *   node bench/run.ts [--quick] [--reps N] [--only 1,2,5] [--no-profile] [--out FILE]
 *                     [--fanout-rtt 0,20,60]
 *
 * Progress goes to stderr. Never run by the tests.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshd } from '../test/harness/sshd.ts';
import type { BarChart } from './chart-types.ts';
import { writeChartPng } from './chart.ts';
import { FERRY, type BenchContext, type WorkloadResult } from './context.ts';
import { makeBigFile, makeManyFiles, makeSmallTree } from './data.ts';
import { ensureTools, loadAverages, machineInfo } from './machine.ts';
import { descendants, killTracked, procStat, sleepSync } from './proc.ts';
import { renderReport } from './report.ts';
import { burstSync } from './workloads/burst.ts';
import { deltaRewrite } from './workloads/delta.ts';
import { fanoutWorkload } from './workloads/fanout.ts';
import { idleCost } from './workloads/idle.ts';
import { initialSync } from './workloads/initial.ts';
import { largeTree } from './workloads/large-tree.ts';
import { saveLatency } from './workloads/latency.ts';
import { noopVerify } from './workloads/noop.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));

// Trees and the server's copy live on tmpfs when the machine has one: disk write-back after
// each run's cleanup otherwise swings later runs by 3-5x (see ../shared/PERF_NOTES.md).
if (!process.env.TMPDIR && existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = new Set(['--quick', '--reps', '--only', '--no-profile', '--out', '--fanout-rtt']);
  for (const a of argv)
    if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a}; options: ${[...known].join(' ')}`);
  const quick = argv.includes('--quick');
  const reps = Math.max(3, Number(value('--reps')) || 3);
  const only = value('--only')?.split(',').map(Number) ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 11];
  // Workload 11 at these round-trip times (ms; 0 = the sshd directly), e.g. 0,20,60.
  const fanoutRtts = value('--fanout-rtt')?.split(',').map(Number) ?? [0];
  if (!fanoutRtts.every((x) => Number.isFinite(x) && x >= 0))
    throw new Error(`--fanout-rtt takes round-trip times in ms, e.g. 0,20,60`);
  const out =
    value('--out') ??
    (quick ? join(tmpdir(), 'ferry-bench-quick', 'BENCHMARKS.md') : join(repo, 'docs', 'BENCHMARKS.md'));
  // A quick run skips the profiled runs: they exist to explain a full run's misses.
  return { quick, reps, only, fanoutRtts, profile: !quick && !argv.includes('--no-profile'), out: resolve(out) };
}

const opts = parseArgs(process.argv.slice(2));
const t0 = Date.now();
const log = (m: string) =>
  process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
const onSignal = () => {
  killTracked();
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', killTracked);

const loadStart = loadAverages();
log(`load average at start: ${loadStart}${opts.quick ? ' (quick run)' : ''}`);
const { tools, skipped } = ensureTools(log);
const machine = machineInfo(tools);
const sshd = await startSshd();
const sshdPid = Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());
const work = join(sshd.dir, 'work');
mkdirSync(work, { recursive: true });
const ctx: BenchContext = {
  sshd,
  quick: opts.quick,
  reps: opts.reps,
  work,
  tools,
  skipped,
  profile: opts.profile,
  log,
  serverCpuMs: () => {
    // A session's CPU reaches the listener's counters once sshd has reaped it: wait for the
    // sessions of the command just timed to go (at most 2 s; watchers in the background stay).
    const until = performance.now() + 2000;
    while (descendants(sshdPid).length && performance.now() < until) sleepSync(10);
    const st = procStat(sshdPid);
    return st ? st.cpuMs + st.childrenCpuMs : 0;
  },
};

const q = opts.quick;
const MiB = 1 << 20;
const plan: { id: number; run: () => Promise<WorkloadResult> }[] = [
  {
    id: 1,
    run: () => {
      const [files, dirs] = q ? [1000, 10] : [10000, 100];
      return initialSync(ctx, {
        id: 1,
        title: `Initial sync of ${files.toLocaleString('en-US')} files of 4 KiB in ${dirs} directories`,
        method: `${files.toLocaleString('en-US')} files of 4 KiB of random bytes in ${dirs} directories, into an empty server directory. Ferry is \`ferry sync --once\` with its default transport (auto) and a fresh state directory each run. ${ctx.reps} repetitions, the tools in rotating order. Client CPU is the tool and its children (ssh), server CPU the sshd session and what it ran (sftp-server, rsync --server).`,
        make: (r) => makeSmallTree(r, files, dirs, 4096),
        bytes: files * 4096,
      });
    },
  },
  {
    id: 2,
    run: () => {
      const n = q ? 50 : 1000;
      return initialSync(ctx, {
        id: 2,
        title: `Initial sync of ${n.toLocaleString('en-US')} files of 1 MiB`,
        method: `${n.toLocaleString('en-US')} files of 1 MiB (random bytes) in one directory, into an empty server directory; otherwise as workload 1.`,
        make: (r) => makeManyFiles(r, n, MiB),
        bytes: n * MiB,
      });
    },
  },
  {
    id: 3,
    run: () => {
      const mib = q ? 64 : 1024;
      return initialSync(ctx, {
        id: 3,
        title: `Initial sync of one ${mib >= 1024 ? '1 GiB' : `${mib} MiB`} file`,
        method: `One file of ${mib} MiB of random bytes into an empty server directory; otherwise as workload 1. Throughput is MB/s (10^6 bytes) of file data.`,
        make: (r) => makeBigFile(join(r, 'big.bin'), mib * MiB),
        bytes: mib * MiB,
        singleFile: 'big.bin',
      });
    },
  },
  { id: 4, run: () => (q ? noopVerify(ctx, 1000, 10) : noopVerify(ctx, 10000, 100)) },
  { id: 5, run: () => saveLatency(ctx) },
  { id: 6, run: () => (q ? burstSync(ctx, 2000, 20, 1000) : burstSync(ctx, 10000, 100, 5000)) },
  { id: 7, run: () => deltaRewrite(ctx, q ? 64 : 1024) },
  { id: 8, run: () => (q ? idleCost(ctx, 5000, 250, 3000) : idleCost(ctx, 100000, 5000, 45000)) },
  {
    id: 9,
    run: () =>
      largeTree(ctx, {
        id: 9,
        ...(q ? { files: 10_000, dirs: 100 } : { files: 100_000, dirs: 1_000 }),
        reps: ctx.reps,
        noopLimit: 1.0,
        initialLimit: 1.0,
        rssLimitMB: 150,
      }),
  },
  // Fan-out (issue 12): one change set to ten targets against one target; no peer.
  { id: 11, run: () => fanoutWorkload(ctx, opts.fanoutRtts) },
  // Only with --only 10: a million files take a long while to make, sync and remove.
  {
    id: 10,
    run: () => largeTree(ctx, { id: 10, files: 1_000_000, dirs: 10_000, reps: 1, noopLimit: 1.5, rssLimitMB: 1000 }),
  },
];

const results: WorkloadResult[] = [];
const failures: { id: number; error: string }[] = [];
try {
  for (const w of plan.filter((p) => opts.only.includes(p.id))) {
    log(`workload ${w.id}: start (load ${loadAverages()})`);
    try {
      results.push(await w.run());
    } catch (err) {
      const e = err as Error;
      log(`workload ${w.id} FAILED: ${e.stack ?? e.message}`);
      failures.push({ id: w.id, error: e.message });
      killTracked();
    }
  }
} finally {
  killTracked();
  await sshd.dispose();
}

const loadEnd = loadAverages();
log(`load average at end: ${loadEnd}`);
const outDir = dirname(opts.out);
mkdirSync(outDir, { recursive: true });

// Chart 1: every timed workload's medians relative to rsync's.
const relative: BarChart = {
  title: 'Time relative to rsync -a -e ssh (median; lower is better)',
  unit: "tool's median time / rsync's median time in the same run",
  file: 'bench-relative',
  groups: results
    .filter((r) => r.chart)
    .map((r) => {
      const c = r.chart as NonNullable<WorkloadResult['chart']>;
      const rsync = c.values.find((v) => v.tool.includes('rsync'))?.value;
      return {
        label: c.label.replace(/ of .*| \(.*/, ''),
        bars: rsync
          ? c.values.map((v) => ({
              tool: v.tool === FERRY ? FERRY : v.tool.replace(/ \(.*\)$/, ''),
              value: v.value / rsync,
            }))
          : [],
      };
    })
    .filter((g) => g.bars.length),
};
const charts: { title: string; png?: string; why?: string }[] = [];
for (const [chart, ref] of [
  [relative, 1],
  ...results.filter((r) => r.ownChart).map((r) => [r.ownChart as BarChart, undefined] as const),
] as const) {
  if (!chart.groups.length) continue;
  const r = writeChartPng(chart, outDir, tools.get('rsvg-convert'), ref);
  charts.push({ title: chart.title, ...r });
}

const report = renderReport(
  {
    quick: opts.quick,
    reps: opts.reps,
    startedAt: new Date(t0),
    durationMs: Date.now() - t0,
    loadStart,
    loadEnd,
    scratch: existsSync('/dev/shm') && tmpdir().startsWith('/dev/shm') ? 'tmpfs (/dev/shm)' : tmpdir(),
    machine,
    skipped,
    charts,
    ...(opts.quick ? {} : { analysisPath: join(repo, 'bench', 'ANALYSIS.md') }),
    failures,
  },
  results,
);
writeFileSync(opts.out, report);
rmSync(work, { recursive: true, force: true });
log(`wrote ${opts.out}${charts.some((c) => c.png) ? ` and ${charts.filter((c) => c.png).length} chart(s)` : ''}`);
if (opts.quick) process.stdout.write(report);
if (failures.length) process.exitCode = 1;
