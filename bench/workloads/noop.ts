/**
 * Workload 4: no-op verify. Workload 1's tree is already on the server; Ferry starts again
 * (`ferry sync --once` with its index from the first sync) and rsync re-runs; nothing changed.
 */
import { join } from 'node:path';
import { FERRY_BIN } from '../../test/harness/trees.ts';
import { FERRY, type BenchContext, type Series, type WorkloadResult } from '../context.ts';
import { makeSmallTree } from '../data.ts';
import { ferryOnce, rsyncPush } from '../peers.ts';
import { summarizeProfile } from '../profile.ts';
import { measure, profileFerry, pushMeasured, remove, scratchDir } from '../runner.ts';
import { timeCommand } from '../proc.ts';
import { fmtMs, fmtInt, median } from '../stats.ts';
import { ferryRatio, ratioTarget, timeTable } from '../table.ts';

export async function noopVerify(ctx: BenchContext, files: number, dirs: number): Promise<WorkloadResult> {
  const src = scratchDir(ctx, 'w4-src');
  makeSmallTree(src, files, dirs, 4096);
  const state = scratchDir(ctx, 'w4-state');
  const ferryDest = join(ctx.sshd.remoteRoot, 'w4-ferry');
  const rsyncDest = join(ctx.sshd.remoteRoot, 'w4-rsync');
  const ferry = ferryOnce(ctx, src, ferryDest, state);
  const rsync = rsyncPush(ctx, src, rsyncDest);
  timeCommand(ferry.cmd, ferry.argv);
  timeCommand(rsync.cmd, rsync.argv);
  const series: Series[] = [
    { tool: FERRY, samples: [] },
    { tool: '`rsync -a -e ssh` (re-run)', samples: [] },
  ];
  const reps = Math.max(ctx.reps, 5);
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 ? [1, 0] : [0, 1];
    for (const i of order) {
      const m = measure(ctx, i === 0 ? ferry : rsync);
      pushMeasured(series[i] as Series, m);
      ctx.log(`workload 4 rep ${rep + 1}/${reps}: ${(series[i] as Series).tool} ${fmtMs(m.ms)}`);
    }
  }
  // Ferry's fixed cost: node start, loading and type-stripping its modules, nothing else.
  const startup: Series = { tool: 'Ferry start-up alone (`ferry sync --help`)', samples: [] };
  for (let rep = 0; rep < reps; rep++)
    pushMeasured(startup, measure(ctx, { cmd: process.execPath, argv: [FERRY_BIN, 'sync', '--help'] }));
  series.push(startup);
  const r = ferryRatio(series, '`rsync -a -e ssh` (re-run)');
  const target = {
    workload: 4,
    goal: "at most 1.0x rsync's no-op re-run",
    figure: `Ferry ${fmtMs(median((series[0] as Series).samples))} vs rsync ${fmtMs(median((series[1] as Series).samples))} = ${r.toFixed(2)}x`,
    ...ratioTarget(r, 1.0),
  };
  let profile: WorkloadResult['profile'];
  if (ctx.profile && target.met === false) {
    ctx.log('workload 4: profiling one Ferry run');
    const path = profileFerry(ctx, ferry);
    if (path) profile = { what: 'one no-op `ferry sync --once`', summary: summarizeProfile(path) };
  }
  remove(src, state, ferryDest, rsyncDest);
  return {
    id: 4,
    title: `No-op verify (${fmtInt(files)} x 4 KiB, nothing changed)`,
    method: `Workload 1's kind of tree (${fmtInt(files)} files of 4 KiB in ${dirs} directories) is already on the server. Ferry starts again with the index it saved (\`ferry sync --once\`: connect, scan both sides, compare, exit); rsync re-runs \`rsync -a -e ssh\`. ${reps} interleaved runs each.`,
    body: timeTable(series, { cpu: true }),
    targets: [target],
    chart: {
      label: '4. no-op verify',
      values: series.slice(0, 2).map((s) => ({ tool: s.tool.replace(' (re-run)', ''), value: median(s.samples) })),
    },
    ...(profile ? { profile } : {}),
  };
}
