/**
 * Workload 6: a burst of changes at once (edits, creates, deletes, renames, like a
 * `git checkout` of another branch) on a tree already in sync. Ferry watches and is timed from
 * the end of the burst until the server tree equals the local one; rsync pushes the same end
 * state once (`rsync -a --delete`, timed as one run).
 */
import { join } from 'node:path';
import { diffTrees, readTree } from '../../test/harness/trees.ts';
import { FERRY, type BenchContext, type Series, type WorkloadResult } from '../context.ts';
import { applyBurst, burstCounts, fingerprint, fingerprintDiff, makeSmallTree } from '../data.ts';
import { isInSync, startWatchingFerry } from '../ferry-process.ts';
import { cpCopy, ferryWatchArgs, rsyncPush } from '../peers.ts';
import { summarizeProfile, newestProfile } from '../profile.ts';
import { sleep, timeCommand, track, untrack } from '../proc.ts';
import { measure, pushMeasured, remove, scratchDir } from '../runner.ts';
import { fmtInt, fmtMs, median } from '../stats.ts';
import { ferryRatio, ratioTarget, timeTable } from '../table.ts';

const RSYNC = '`rsync -a --delete -e ssh`, once';

interface FerryBurst {
  convergedMs: number;
  applyMs: number;
  passes: number;
  lost: string[];
}

/** One Ferry rep: fresh copy of `base`, watch until in sync, burst, wait for the same tree. */
async function ferryBurst(
  ctx: BenchContext,
  base: string,
  seed: number,
  total: number,
  nodeArgs: string[] = [],
): Promise<FerryBurst> {
  const local = join(scratchDir(ctx, 'w6-ferry'), 'tree');
  const state = scratchDir(ctx, 'w6-state');
  const remote = join(ctx.sshd.remoteRoot, `w6-ferry-${seed}`);
  timeCommand(cpCopy(base, local).cmd, cpCopy(base, local).argv);
  const ferry = startWatchingFerry(ferryWatchArgs(ctx, local, remote, state), nodeArgs);
  track(ferry.pid);
  try {
    await ferry.waitFor(isInSync, { what: 'the first in-sync', timeoutMs: 180_000 });
    await sleep(500);
    const a0 = performance.now();
    applyBurst(local, burstCounts(total), seed);
    const t0 = performance.now();
    const deadline = t0 + 300_000;
    let lastDiff: string[] = [];
    for (let after = t0; ;) {
      // Check when Ferry says it is in sync, and every 2 s regardless (a claim is not proof).
      await Promise.race([ferry.waitFor(isInSync, { after, timeoutMs: 300_000 }).catch(() => undefined), sleep(2000)]);
      const tCheck = performance.now();
      after = tCheck;
      try {
        lastDiff = fingerprintDiff(fingerprint(local), fingerprint(remote));
      } catch (err) {
        lastDiff = [`tree changed while read: ${(err as Error).message}`];
      }
      if (lastDiff.length === 0) {
        const passes = ferry.events.filter((e) => e.t >= t0 && e.t <= tCheck && isInSync(e.e)).length;
        const lost = diffTrees(readTree(local), readTree(remote));
        return { convergedMs: tCheck - t0, applyMs: t0 - a0, passes, lost };
      }
      if (tCheck > deadline)
        throw new Error(`Ferry did not converge within 300 s after the burst; still different: ${lastDiff.join('; ')}`);
    }
  } finally {
    await ferry.stop();
    untrack(ferry.pid);
    remove(join(local, '..'), state, remote);
  }
}

export async function burstSync(
  ctx: BenchContext,
  files: number,
  dirs: number,
  total: number,
): Promise<WorkloadResult> {
  const base = join(scratchDir(ctx, 'w6-base'), 'tree');
  makeSmallTree(base, files, dirs, 4096);
  const series: Series[] = [
    { tool: FERRY, note: 'watching', samples: [] },
    { tool: RSYNC, samples: [] },
  ];
  const ferrySeries = series[0] as Series;
  const applied: number[] = [];
  const passes: number[] = [];
  const lost: string[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    const seed = rep + 1;
    for (const which of rep % 2 ? ['rsync', 'ferry'] : ['ferry', 'rsync']) {
      if (which === 'ferry') {
        const r = await ferryBurst(ctx, base, seed, total);
        ferrySeries.samples.push(r.convergedMs);
        applied.push(r.applyMs);
        passes.push(r.passes);
        lost.push(...r.lost.slice(0, 5));
        ctx.log(
          `workload 6 rep ${rep + 1}/${ctx.reps}: Ferry converged ${fmtMs(r.convergedMs)} after the burst (applied in ${fmtMs(r.applyMs)}, ${r.passes} in-sync passes, ${r.lost.length} differences)`,
        );
      } else {
        const local = join(scratchDir(ctx, 'w6-rsync'), 'tree');
        const remote = join(ctx.sshd.remoteRoot, `w6-rsync-${seed}`);
        timeCommand(cpCopy(base, local).cmd, cpCopy(base, local).argv);
        const push = rsyncPush(ctx, local, remote, ['--delete']);
        timeCommand(push.cmd, push.argv);
        applyBurst(local, burstCounts(total), seed);
        const m = measure(ctx, push);
        pushMeasured(series[1] as Series, m);
        const diff = diffTrees(readTree(local), readTree(remote));
        if (diff.length)
          throw new Error(`rsync left ${remote} different from ${local}: ${diff.slice(0, 3).join('; ')}`);
        ctx.log(`workload 6 rep ${rep + 1}/${ctx.reps}: rsync ${fmtMs(m.ms)}`);
        remove(join(local, '..'), remote);
      }
    }
  }
  const r = ferryRatio(series, RSYNC);
  const nothingLost = lost.length === 0;
  const ratio = ratioTarget(r, 1.2);
  const target = {
    workload: 6,
    goal: "converged, nothing lost, in at most 1.2x rsync's time to push the same end state",
    figure: `Ferry ${fmtMs(median(ferrySeries.samples))} vs rsync ${fmtMs(median((series[1] as Series).samples))} = ${r.toFixed(2)}x; ${nothingLost ? 'nothing lost' : `${lost.length} differences left`}`,
    met: ratio.met === undefined ? undefined : ratio.met && nothingLost,
    ...(ratio.miss || !nothingLost
      ? {
          miss: [ratio.miss, nothingLost ? '' : `differences: ${lost.slice(0, 3).join('; ')}`]
            .filter(Boolean)
            .join('; '),
        }
      : {}),
  };
  let profile: WorkloadResult['profile'];
  if (ctx.profile && target.met === false) {
    ctx.log('workload 6: profiling one Ferry burst');
    const dir = scratchDir(ctx, 'cpuprof');
    await ferryBurst(ctx, base, 99, total, ['--cpu-prof', '--cpu-prof-dir', dir]);
    const path = newestProfile(dir);
    if (path)
      profile = {
        what: 'one watching Ferry from start to stop: initial sync, the burst, convergence',
        summary: summarizeProfile(path),
      };
  }
  remove(join(base, '..'));
  const c = burstCounts(total);
  return {
    id: 6,
    title: `Burst of ${fmtInt(total)} changes (a branch switch)`,
    method: [
      `A tree of ${fmtInt(files)} files of 4 KiB in ${dirs} directories is in sync on the server. Then, as fast as the file system takes them, ${fmtInt(c.edits)} files get new content of another size, ${fmtInt(c.deletes)} are deleted, ${fmtInt(c.renames)} are renamed into other directories and ${fmtInt(c.creates)} are created (a tenth of them in new directories); the same seeded set for both tools (applying it took ${fmtMs(median(applied))} here, not counted).`,
      `Ferry watches (\`ferry sync\`, default transport) and is timed from the end of the burst until the server tree equals the local one: the suite compares both trees (paths, sizes, modes, mtimes) whenever Ferry reports "in sync" and every 2 s regardless, and afterwards checks every file's content. rsync is timed as one \`rsync -a --delete -e ssh\` run pushing the same end state to a copy already in sync. ${ctx.reps} repetitions each, alternating which tool goes first; a fresh tree per repetition.`,
    ].join('\n\n'),
    body:
      timeTable(series, { cpu: true }) +
      `\n\nFerry reported "in sync" ${passes.join(', ')} time(s) between the end of the burst and convergence; content check after convergence: ${nothingLost ? 'every file identical in every repetition' : `differences: ${lost.slice(0, 5).join('; ')}`}. Ferry's CPU is not in the table (a watching process); the profile below shows where it goes when the target is missed.`,
    targets: [target],
    chart: {
      label: '6. burst',
      values: [
        { tool: FERRY, value: median(ferrySeries.samples) },
        { tool: '`rsync -a -e ssh`', value: median((series[1] as Series).samples) },
      ],
    },
    ...(profile ? { profile } : {}),
  };
}
