/**
 * Workload 8: idle cost and start-up time of a watcher on a big tree. Ferry (`ferry sync`,
 * watching) and lsyncd (`default.rsyncssh`) each watch the same tree of many small files while
 * nothing changes; the suite reads their CPU time and resident memory from /proc. Start-up is
 * timed from spawn to the first "in sync" (Ferry) or "Startup ... finished" (lsyncd), both into
 * an empty server directory and again with the server already in sync.
 */
import { join } from 'node:path';
import { FERRY, type BenchContext, type Target, type WorkloadResult } from '../context.ts';
import { makeSmallTree } from '../data.ts';
import { isInSync, startWatchingFerry } from '../ferry-process.ts';
import { startLsyncd } from '../lsyncd.ts';
import { ferryWatchArgs } from '../peers.ts';
import { newestProfile, summarizeProfile } from '../profile.ts';
import { sleep, track, treeCpuMs, treeRssBytes, untrack } from '../proc.ts';
import { remove, scratchDir } from '../runner.ts';
import { fmtInt, fmtMs, fmtSpread, max, median } from '../stats.ts';

interface IdleFigures {
  cold: number[];
  warm: number[];
  cpuPct: number[];
  rssMB: number[];
}

const LSYNCD = 'lsyncd (`default.rsyncssh`)';
const fmtPct = (x: number) => `${x.toFixed(2)}%`;
const fmtMB = (x: number) => `${x.toFixed(0)} MB`;

/** CPU (% of one core) and peak RSS (MB, 10^6 bytes) of each pid's process tree over `windowMs`. */
async function sampleIdle(pids: number[], windowMs: number): Promise<{ cpuPct: number; rssMB: number }[]> {
  const cpu0 = pids.map(treeCpuMs);
  const peak = pids.map(() => 0);
  const t0 = performance.now();
  while (performance.now() - t0 < windowMs) {
    await sleep(Math.min(1000, windowMs - (performance.now() - t0)));
    pids.forEach((p, i) => (peak[i] = Math.max(peak[i] as number, treeRssBytes(p))));
  }
  const elapsed = performance.now() - t0;
  return pids.map((p, i) => ({
    cpuPct: ((treeCpuMs(p) - (cpu0[i] as number)) / elapsed) * 100,
    rssMB: (peak[i] as number) / 1e6,
  }));
}

export async function idleCost(
  ctx: BenchContext,
  files: number,
  dirs: number,
  windowMs: number,
): Promise<WorkloadResult> {
  const local = scratchDir(ctx, 'w8-tree');
  ctx.log(`workload 8: making ${fmtInt(files)} files in ${fmtInt(dirs)} directories`);
  makeSmallTree(local, files, dirs, 1024);
  const ferryFig: IdleFigures = { cold: [], warm: [], cpuPct: [], rssMB: [] };
  const lsyncdFig: IdleFigures = { cold: [], warm: [], cpuPct: [], rssMB: [] };
  const hasLsyncd = ctx.tools.has('lsyncd');
  for (let rep = 0; rep < ctx.reps; rep++) {
    const state = scratchDir(ctx, 'w8-state');
    const ferryRemote = join(ctx.sshd.remoteRoot, `w8-ferry-${rep}`);
    const lsyncdRemote = join(ctx.sshd.remoteRoot, `w8-lsyncd-${rep}`);
    const lsyncdScratch = scratchDir(ctx, 'w8-lsyncd');
    try {
      // Cold: empty server directory, no index.
      const cold = startWatchingFerry(ferryWatchArgs(ctx, local, ferryRemote, state));
      track(cold.pid);
      const c = await cold.waitFor(isInSync, { what: 'the first in-sync (cold start)', timeoutMs: 600_000 });
      ferryFig.cold.push(c.t - cold.startedAt);
      await cold.stop();
      untrack(cold.pid);
      // Warm: same index, server in sync. This instance then idles.
      const ferry = startWatchingFerry(ferryWatchArgs(ctx, local, ferryRemote, state));
      track(ferry.pid);
      const w = await ferry.waitFor(isInSync, { what: 'the first in-sync (warm start)', timeoutMs: 600_000 });
      ferryFig.warm.push(w.t - ferry.startedAt);
      ctx.log(
        `workload 8 rep ${rep + 1}/${ctx.reps}: Ferry cold start ${fmtMs(ferryFig.cold.at(-1) as number)}, warm start ${fmtMs(ferryFig.warm.at(-1) as number)}`,
      );
      let lsyncdPid: number | undefined;
      let stopLsyncd = async () => {};
      if (hasLsyncd) {
        const lc = await startLsyncd(ctx, {
          source: local,
          targetDir: lsyncdRemote,
          delay: 15,
          scratch: lsyncdScratch,
          timeoutMs: 600_000,
        });
        lsyncdFig.cold.push(lc.startupMs);
        await lc.stop();
        const lw = await startLsyncd(ctx, {
          source: local,
          targetDir: lsyncdRemote,
          delay: 15,
          scratch: lsyncdScratch,
          timeoutMs: 600_000,
        });
        track(lw.pid);
        lsyncdFig.warm.push(lw.startupMs);
        lsyncdPid = lw.pid;
        stopLsyncd = async () => (await lw.stop(), untrack(lw.pid));
        ctx.log(
          `workload 8 rep ${rep + 1}/${ctx.reps}: lsyncd cold start ${fmtMs(lc.startupMs)}, warm start ${fmtMs(lw.startupMs)}`,
        );
      }
      await sleep(ctx.quick ? 1000 : 3000);
      const pids = lsyncdPid ? [ferry.pid, lsyncdPid] : [ferry.pid];
      const [f, l] = await sampleIdle(pids, windowMs);
      if (f) (ferryFig.cpuPct.push(f.cpuPct), ferryFig.rssMB.push(f.rssMB));
      if (l) (lsyncdFig.cpuPct.push(l.cpuPct), lsyncdFig.rssMB.push(l.rssMB));
      ctx.log(
        `workload 8 rep ${rep + 1}/${ctx.reps}: idle over ${fmtMs(windowMs)}: Ferry ${fmtPct(f?.cpuPct ?? NaN)} CPU, ${fmtMB(f?.rssMB ?? NaN)}${l ? `; lsyncd ${fmtPct(l.cpuPct)}, ${fmtMB(l.rssMB)}` : ''}`,
      );
      const lostEvents = ferry.events.filter((e) => e.t > w.t && e.e.event === 'state' && e.e.state !== 'idle').length;
      if (lostEvents) ctx.log(`workload 8: Ferry changed state ${lostEvents} time(s) while idle`);
      await stopLsyncd();
      await ferry.stop();
      untrack(ferry.pid);
    } finally {
      remove(state, ferryRemote, lsyncdRemote, lsyncdScratch);
    }
  }

  const targets: Target[] = [];
  const cpu = median(ferryFig.cpuPct);
  const rss = max(ferryFig.rssMB);
  targets.push({
    workload: 8,
    goal: 'idle: under 1% of one core',
    figure: `${fmtPct(cpu)} (median of ${ferryFig.cpuPct.length} windows of ${fmtMs(windowMs)})`,
    met: cpu < 1,
    ...(cpu >= 1 ? { miss: `${(cpu / 1).toFixed(1)}x the limit` } : {}),
  });
  targets.push({
    workload: 8,
    goal: 'idle: at most 300 MB RSS',
    figure: `${fmtMB(rss)} (highest seen)`,
    met: rss <= 300,
    ...(rss > 300 ? { miss: `${fmtMB(rss - 300)} over (${((rss / 300 - 1) * 100).toFixed(0)}%)` } : {}),
  });

  let profile: WorkloadResult['profile'];
  if (ctx.profile && targets.some((t) => t.met === false)) {
    ctx.log('workload 8: profiling one warm start and idle window');
    const state = scratchDir(ctx, 'w8-state');
    const remote = join(ctx.sshd.remoteRoot, 'w8-prof');
    const dir = scratchDir(ctx, 'cpuprof');
    const first = startWatchingFerry(ferryWatchArgs(ctx, local, remote, state));
    await first.waitFor(isInSync, { timeoutMs: 600_000 });
    await first.stop();
    const prof = startWatchingFerry(ferryWatchArgs(ctx, local, remote, state), ['--cpu-prof', '--cpu-prof-dir', dir]);
    await prof.waitFor(isInSync, { timeoutMs: 600_000 });
    await sleep(windowMs);
    await prof.stop();
    const path = newestProfile(dir);
    if (path) profile = { what: `one warm start followed by ${fmtMs(windowMs)} idle`, summary: summarizeProfile(path) };
    remove(state, remote);
  }
  remove(local);

  const row = (tool: string, f: IdleFigures) =>
    `| ${tool} | ${fmtSpread(f.cold)} | ${fmtSpread(f.warm)} | ${fmtSpread(f.cpuPct, fmtPct)} | ${fmtSpread(f.rssMB, fmtMB)} |`;
  return {
    id: 8,
    title: `Idle cost watching ${fmtInt(files)} files in ${fmtInt(dirs)} directories`,
    method: [
      `A tree of ${fmtInt(files)} files of 1 KiB in ${fmtInt(dirs)} directories. Each repetition starts Ferry watching it into an empty server directory (cold start: the initial upload included) until its first "in sync", stops it, and starts it again with its index and the server in sync (warm start). lsyncd does the same into its own directory (its start is its start-up rsync of the whole tree). Then, with both watching and nothing changing, the suite waits ${ctx.quick ? 1 : 3} s and samples for ${fmtMs(windowMs)}: CPU is utime + stime from /proc/<pid>/stat of the process and its descendants over the window, as a percentage of one core; RSS is the highest VmRSS of the process tree (sampled every second). ${ctx.reps} repetitions; both watchers run side by side during the idle window (neither does anything).`,
    ].join('\n\n'),
    body: [
      '| tool | start to in sync, empty server | start to in sync, server in sync | idle CPU (% of one core) | RSS while idle |',
      '|---|---|---|---|---|',
      row(`${FERRY} (\`ferry sync\`)`, ferryFig),
      ...(hasLsyncd
        ? [row(LSYNCD, lsyncdFig)]
        : [`| lsyncd | skipped: ${ctx.skipped.get('lsyncd') ?? 'not installed'} | | | |`]),
    ].join('\n'),
    targets,
    ...(profile ? { profile } : {}),
  };
}
