/**
 * Workloads 9 and 10 (issue 17): a large tree of 1 KiB files, initial sync and no-op
 * `ferry sync --once` next to `rsync -a -e ssh`, interleaved, with each run's peak RSS (GNU
 * time's maximum resident set size). 9 is 100,000 files in 1,000 directories (in a full run);
 * 10 is 1,000,000 in 10,000 (only with `--only 10`: it takes a long while, and about 14 GB of
 * free space for three copies of the tree; it refuses to start with less).
 */
import { spawnSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { FERRY, type BenchContext, type Series, type Target, type WorkloadResult } from '../context.ts';
import { makeSmallTree } from '../data.ts';
import { ferryOnce, rsyncPush, type Command } from '../peers.ts';
import { remove, scratchDir } from '../runner.ts';
import { fmtInt, fmtMs, median } from '../stats.ts';
import { ferryRatio, ratioTarget, timeTable } from '../table.ts';

/** Runs `c` under GNU time: wall ms and peak RSS in bytes. */
function timedWithRss(c: Command): { ms: number; rss: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', c.cmd, ...c.argv], {
    encoding: 'utf8',
    env: { ...process.env, SSH_AUTH_SOCK: '' },
    maxBuffer: 64 << 20,
    timeout: 3_600_000,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${c.cmd} ${c.argv.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return { ms, rss: Number(r.stderr.trim().split('\n').at(-1)) * 1024 };
}

export interface LargeTreeSpec {
  id: number;
  files: number;
  dirs: number;
  reps: number;
  noopLimit: number;
  initialLimit?: number;
  rssLimitMB: number;
}

export async function largeTree(ctx: BenchContext, spec: LargeTreeSpec): Promise<WorkloadResult> {
  const { id, files, dirs, reps } = spec;
  // Three copies of the tree at once (the source, Ferry's and rsync's server copies), each
  // file a page and an inode on tmpfs: about 4.7 GB per copy of a million files.
  const need = files * 3 * 4.7 * 1024;
  const fs = statfsSync(ctx.work);
  if (fs.bavail * fs.bsize < need)
    throw new Error(
      `workload ${id} needs about ${(need / 1e9).toFixed(1)} GB free in ${ctx.work} for three copies of its tree; ${((fs.bavail * fs.bsize) / 1e9).toFixed(1)} GB are`,
    );
  const src = scratchDir(ctx, `w${id}-src`);
  ctx.log(`workload ${id}: making ${fmtInt(files)} files`);
  makeSmallTree(src, files, dirs, 1024);
  const ferryDest = join(ctx.sshd.remoteRoot, `w${id}-ferry`);
  const rsyncDest = join(ctx.sshd.remoteRoot, `w${id}-rsync`);
  const state = join(ctx.work, `w${id}-state`);
  const ferry = ferryOnce(ctx, src, ferryDest, state);
  const rsync = rsyncPush(ctx, src, rsyncDest);
  const rsyncTool = '`rsync -a -e ssh`';
  const initial: Series[] = [
    { tool: FERRY, samples: [] },
    { tool: rsyncTool, samples: [] },
  ];
  const noop: Series[] = [
    { tool: FERRY, samples: [] },
    { tool: rsyncTool, samples: [] },
  ];
  const rss: number[] = [];
  const run = (series: Series[], i: number, fresh: boolean) => {
    if (fresh) remove(i === 0 ? ferryDest : rsyncDest, ...(i === 0 ? [state] : []));
    const m = timedWithRss(i === 0 ? ferry : rsync);
    (series[i] as Series).samples.push(m.ms);
    if (i === 0) rss.push(m.rss);
    ctx.log(
      `workload ${id}: ${fresh ? 'initial' : 'no-op'} ${(series[i] as Series).tool} ${fmtMs(m.ms)}, ${(m.rss / 1e6).toFixed(0)} MB`,
    );
  };
  for (let rep = 0; rep < reps; rep++) for (const i of rep % 2 ? [1, 0] : [0, 1]) run(initial, i, true);
  for (let rep = 0; rep < Math.max(reps, 5); rep++) for (const i of rep % 2 ? [1, 0] : [0, 1]) run(noop, i, false);
  remove(src, state, ferryDest, rsyncDest);

  const targets: Target[] = [];
  const ratio = (s: Series[], limit: number, what: string) => {
    const r = ferryRatio(s, rsyncTool);
    targets.push({
      workload: id,
      goal: `${what}: at most ${limit.toFixed(1)}x rsync's time`,
      figure: `Ferry ${fmtMs(median((s[0] as Series).samples))} vs rsync ${fmtMs(median((s[1] as Series).samples))} = ${r.toFixed(2)}x`,
      ...ratioTarget(r, limit),
    });
  };
  if (spec.initialLimit !== undefined) ratio(initial, spec.initialLimit, 'initial');
  ratio(noop, spec.noopLimit, 'no-op');
  const peak = Math.max(...rss) / 1e6;
  targets.push({
    workload: id,
    goal: `peak RSS at most ${spec.rssLimitMB} MB during any pass`,
    figure: `${peak.toFixed(0)} MB (highest of ${rss.length} runs)`,
    met: peak <= spec.rssLimitMB,
    ...(peak > spec.rssLimitMB ? { miss: `${(peak - spec.rssLimitMB).toFixed(0)} MB over` } : {}),
  });
  return {
    id,
    title: `Large tree: ${fmtInt(files)} files of 1 KiB in ${fmtInt(dirs)} directories`,
    method: `Initial sync into an empty server directory (${reps} interleaved runs each, a fresh state directory for Ferry), then no-op re-runs with Ferry's index present (${Math.max(reps, 5)} interleaved runs). Peak RSS is GNU time's maximum resident set size of each Ferry run (rsync's is about 8 MB). For the per-stage breakdown run \`node --expose-gc bench/stages.ts --files ${files}\`.`,
    body: `Initial sync:\n\n${timeTable(initial)}\n\nNo-op re-run:\n\n${timeTable(noop)}`,
    targets,
    chart: {
      label: `${id}. ${fmtInt(files)} files, no-op`,
      values: noop.map((s) => ({ tool: s.tool.replaceAll('`', ''), value: median(s.samples) })),
    },
  };
}
