/**
 * Workload 7: 1 MiB rewritten in the middle of a big file already on the server. Ferry
 * (`ferry sync --once` with its index; `auto` sends modified files of 48 MiB and more through
 * rsync's delta transfer) vs `rsync -a -e ssh` (delta transfer by default over ssh).
 */
import { join } from 'node:path';
import { FERRY, type BenchContext, type Series, type WorkloadResult } from '../context.ts';
import { makeBigFile, rewriteMiddle, sameFileSampled } from '../data.ts';
import { ferryOnce, rsyncPush } from '../peers.ts';
import { summarizeProfile } from '../profile.ts';
import { timeCommand } from '../proc.ts';
import { measure, profileFerry, pushMeasured, remove, scratchDir } from '../runner.ts';
import { fmtMs, median } from '../stats.ts';
import { ferryRatio, ratioTarget, timeTable } from '../table.ts';

const RSYNC = '`rsync -a -e ssh` (delta)';
const MiB = 1 << 20;

export async function deltaRewrite(ctx: BenchContext, mib: number): Promise<WorkloadResult> {
  const local = scratchDir(ctx, 'w7-src');
  const state = scratchDir(ctx, 'w7-state');
  const file = join(local, 'big.bin');
  const ferryDest = join(ctx.sshd.remoteRoot, 'w7-ferry');
  const rsyncDest = join(ctx.sshd.remoteRoot, 'w7-rsync');
  makeBigFile(file, mib * MiB);
  const ferry = ferryOnce(ctx, local, ferryDest, state);
  const rsync = rsyncPush(ctx, local, rsyncDest);
  ctx.log(`workload 7: first copy of the ${mib} MiB file to both destinations`);
  timeCommand(ferry.cmd, ferry.argv);
  timeCommand(rsync.cmd, rsync.argv);
  const series: Series[] = [
    { tool: FERRY, samples: [] },
    { tool: RSYNC, samples: [] },
  ];
  const region = { offset: Math.floor(mib / 2) * MiB, length: MiB };
  for (let rep = 0; rep < ctx.reps; rep++) {
    rewriteMiddle(file, region.offset, region.length);
    for (const i of rep % 2 ? [1, 0] : [0, 1]) {
      const m = measure(ctx, i === 0 ? ferry : rsync);
      const dest = i === 0 ? ferryDest : rsyncDest;
      if (!sameFileSampled(file, join(dest, 'big.bin'), region))
        throw new Error(`${(series[i] as Series).tool} did not bring ${dest}/big.bin up to date`);
      pushMeasured(series[i] as Series, m);
      ctx.log(`workload 7 rep ${rep + 1}/${ctx.reps}: ${(series[i] as Series).tool} ${fmtMs(m.ms)}`);
    }
  }
  const r = ferryRatio(series, RSYNC);
  const target = {
    workload: 7,
    goal: "at most 1.2x rsync's delta time",
    figure: `Ferry ${fmtMs(median((series[0] as Series).samples))} vs rsync ${fmtMs(median((series[1] as Series).samples))} = ${r.toFixed(2)}x`,
    ...ratioTarget(r, 1.2),
  };
  let profile: WorkloadResult['profile'];
  if (ctx.profile && target.met === false) {
    ctx.log('workload 7: profiling one Ferry run');
    rewriteMiddle(file, region.offset, region.length);
    const path = profileFerry(ctx, ferry);
    if (path) profile = { what: 'one `ferry sync --once` after a 1 MiB rewrite', summary: summarizeProfile(path) };
  }
  remove(local, state, ferryDest, rsyncDest);
  return {
    id: 7,
    title: `1 MiB rewritten in the middle of a ${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`} file`,
    method: `A ${mib} MiB file of random bytes is on the server (copied by each tool to its own directory first). Each repetition overwrites 1 MiB in its middle with new random bytes, then runs \`ferry sync --once\` (with the index of its earlier runs; the default \`auto\` transport hands modified files of 48 MiB or more to rsync's delta transfer) and \`rsync -a -e ssh\` (delta transfer is rsync's default over ssh), alternating which goes first. Both rebuild the file beside the old one and rename it into place. ${ctx.reps} repetitions.`,
    body: timeTable(series, { cpu: true }),
    targets: [target],
    chart: {
      label: '7. delta',
      values: [
        { tool: FERRY, value: median((series[0] as Series).samples) },
        { tool: '`rsync -a -e ssh`', value: median((series[1] as Series).samples) },
      ],
    },
    ...(profile ? { profile } : {}),
  };
}
