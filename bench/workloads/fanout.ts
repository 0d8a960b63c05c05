/**
 * Fan-out (issue 12): one change set to 10 targets vs the same change set to 1 target.
 * Ten directories on the loopback sshd, each its own target of one folder; `ferry sync
 * --once` with all ten (one watcher-less run: one local scan, ten lanes at once) against
 * `ferry sync --once` with one. Each rep rewrites 100 of the tree's 1,000 files of 4 KiB
 * and adds 10, then times the two runs in alternating order (both targets' sets start
 * from the same synced state). Run alone: `node bench/workloads/fanout.ts [reps] [baseline]`,
 * where `baseline` is another checkout's `main/cli/ferry.ts` whose ten-target run is timed
 * in the same rotation (a before/after figure taken side by side). In `bench/run.ts` it is
 * workload 11.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../../test/harness/sshd.ts';
import { FERRY_BIN, sshFlags, targetOf, tempDir } from '../../test/harness/trees.ts';
import { makeSmallTree } from '../data.ts';
import { timeCommand } from '../proc.ts';
import { FERRY, type BenchContext, type WorkloadResult } from '../context.ts';
import { fmtMs, fmtRatio, median } from '../stats.ts';
import { ratioTarget, timeTable } from '../table.ts';

export interface FanoutResult {
  one: number[];
  ten: number[];
  /** Ten targets with the baseline checkout's ferry, when one was given. */
  baseline: number[];
}

export interface FanoutOptions {
  log?: (s: string) => void;
  /** The server to use (bench/run.ts's); by default one of its own. */
  sshd?: TestSshd;
  /** Another checkout's `main/cli/ferry.ts`, timed with ten targets in the same rotation. */
  baselineBin?: string;
}

export async function fanout(reps: number, opts: FanoutOptions = {}): Promise<FanoutResult> {
  const log = opts.log ?? console.log;
  const sshd = opts.sshd ?? (await startSshd());
  const src = tempDir('fanout-src');
  const states = [tempDir('fanout-state-1'), tempDir('fanout-state-10'), tempDir('fanout-state-base')];
  try {
    makeSmallTree(src, 1000, 20, 4096);
    const one = [join(sshd.remoteRoot, 'one')];
    const ten = Array.from({ length: 10 }, (_, i) => join(sshd.remoteRoot, `ten-${i}`));
    const base = Array.from({ length: 10 }, (_, i) => join(sshd.remoteRoot, `base-${i}`));
    const run = (remotes: string[], state: string, bin = FERRY_BIN) => {
      return timeCommand(process.execPath, [
        bin,
        'sync',
        '--once',
        ...sshFlags(sshd, state),
        src,
        ...remotes.map((d) => targetOf(sshd, d)),
      ]).ms;
    };
    // The initial syncs, not timed.
    run(one, states[0]!);
    run(ten, states[1]!);
    if (opts.baselineBin) run(base, states[2]!, opts.baselineBin);
    const result: FanoutResult = { one: [], ten: [], baseline: [] };
    for (let rep = 0; rep < reps; rep++) {
      for (let i = 0; i < 100; i++)
        writeFileSync(join(src, `d${i % 20}`, `f${Math.floor(i / 20)}.bin`), `rep ${rep} ${i}\n`.repeat(300));
      for (let i = 0; i < 10; i++) writeFileSync(join(src, `new-${rep}-${i}.txt`), `new ${rep} ${i}`);
      const kinds = opts.baselineBin ? (['one', 'ten', 'baseline'] as const) : (['one', 'ten'] as const);
      for (const which of rotate(kinds, rep)) {
        const ms =
          which === 'one'
            ? run(one, states[0]!)
            : which === 'ten'
              ? run(ten, states[1]!)
              : run(base, states[2]!, opts.baselineBin);
        result[which].push(ms);
        log(`fan-out rep ${rep + 1}/${reps}: ${LABEL[which]} ${fmtMs(ms)}`);
      }
    }
    return result;
  } finally {
    for (const d of [src, ...states]) rmSync(d, { recursive: true, force: true });
    if (!opts.sshd) await sshd.dispose();
    else for (const d of ['one', 'ten-', 'base-']) removeRemote(sshd.remoteRoot, d);
  }
}

const LABEL = { one: '1 target', ten: '10 targets', baseline: '10 targets (baseline)' } as const;

/** `items` rotated left by `n`: each rep starts with another one. */
function rotate<T>(items: readonly T[], n: number): T[] {
  const k = n % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function removeRemote(root: string, prefix: string): void {
  for (const name of readdirSync(root))
    if (name.startsWith(prefix)) rmSync(join(root, name), { recursive: true, force: true });
}

/** Workload 11 of bench/run.ts: the fan-out ratio against issue 12's 1.3x. */
export async function fanoutWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const reps = Math.max(ctx.reps, 5);
  const r = await fanout(reps, { sshd: ctx.sshd, log: (m) => ctx.log(`workload 11 ${m}`) });
  const ratio = median(r.ten) / median(r.one);
  const series = [
    { tool: `${FERRY}, 10 targets`, samples: r.ten },
    { tool: FERRY, samples: r.one, note: '1 target' },
  ];
  return {
    id: 11,
    title: 'Fan-out: one change set to 10 targets',
    method: `A folder of 1,000 files of 4 KiB in 20 directories, already synced to one target and to ten (ten directories on the loopback sshd, each its own target). Each rep rewrites 100 files and adds 10, then times \`ferry sync --once\` to the one target and to the ten, in alternating order. ${reps} reps. Every "server" is a process on this machine's cores too.`,
    body: timeTable(series),
    targets: [
      {
        workload: 11,
        goal: "10 targets in at most 1.3x one target's time",
        figure: `10 targets ${fmtMs(median(r.ten))} vs 1 target ${fmtMs(median(r.one))} = ${fmtRatio(ratio)}`,
        ...ratioTarget(ratio, 1.3),
      },
    ],
  };
}

if (import.meta.main) {
  const reps = Number(process.argv[2] ?? 7);
  const baselineBin = process.argv[3];
  const r = await fanout(reps, baselineBin ? { baselineBin } : {});
  const line = (label: string, xs: number[]) =>
    `${label}: median ${fmtMs(median(xs))} [${xs.map(fmtMs).join(', ')}] = ${(median(xs) / median(r.one)).toFixed(2)}x`;
  console.log(line('1 target', r.one));
  console.log(line('10 targets', r.ten));
  if (baselineBin) console.log(line(`10 targets, ${baselineBin}`, r.baseline));
}
