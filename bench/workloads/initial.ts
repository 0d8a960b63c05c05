/**
 * Workloads 1-3: initial sync of a tree into an empty server directory by Ferry
 * (`ferry sync --once`), `rsync -a -e ssh`, `scp -r`, `sftp -b` (`put -r`) and `cp -a`.
 */
import { join } from 'node:path';
import { FERRY, type BenchContext, type Series, type Target, type WorkloadResult } from '../context.ts';
import { fingerprint, fingerprintDiff, sameFileSampled, shapeOnly } from '../data.ts';
import { cpCopy, ferryOnce, rsyncPush, scpPush, sftpPush, type Command } from '../peers.ts';
import { summarizeProfile } from '../profile.ts';
import { measure, profileFerry, pushMeasured, remove, rotate, scratchDir } from '../runner.ts';
import { fmtMBps, fmtMs, median } from '../stats.ts';
import { ferryRatio, ferryOf, ratioTarget, seriesOf, timeTable } from '../table.ts';

export interface InitialSpec {
  id: 1 | 2 | 3;
  title: string;
  method: string;
  /** Fills `root` with the data set. */
  make(root: string): void;
  bytes: number;
  /** One big file: compare sampled bytes instead of walking. */
  singleFile?: string;
}

interface Tool {
  name: string;
  /** Whether the copy keeps modes and mtimes (checked when verifying). */
  keepsTimes: boolean;
  command(src: string, dest: string, state: string, scratch: string): Command;
}

export function initialTools(ctx: BenchContext): Tool[] {
  const tools: Tool[] = [
    { name: FERRY, keepsTimes: true, command: (src, dest, state) => ferryOnce(ctx, src, dest, state) },
    { name: '`rsync -a -e ssh`', keepsTimes: true, command: (src, dest) => rsyncPush(ctx, src, dest) },
  ];
  if (ctx.tools.has('scp'))
    tools.push({ name: '`scp -r`', keepsTimes: false, command: (src, dest) => scpPush(ctx, src, dest) });
  if (ctx.tools.has('sftp'))
    tools.push({
      name: '`sftp -b` (put -r)',
      keepsTimes: false,
      command: (src, dest, _s, scratch) => sftpPush(ctx, src, dest, scratch),
    });
  tools.push({ name: '`cp -a` (local floor)', keepsTimes: true, command: (src, dest) => cpCopy(src, dest) });
  return tools;
}

function verify(spec: InitialSpec, tool: Tool, src: string, dest: string): void {
  if (spec.singleFile) {
    if (!sameFileSampled(join(src, spec.singleFile), join(dest, spec.singleFile)))
      throw new Error(`${tool.name} left ${dest}/${spec.singleFile} different from the source`);
    return;
  }
  const a = fingerprint(src);
  const b = fingerprint(dest);
  const diff = tool.keepsTimes ? fingerprintDiff(a, b) : fingerprintDiff(shapeOnly(a), shapeOnly(b));
  if (diff.length) throw new Error(`${tool.name} did not copy ${src} to ${dest} faithfully: ${diff.join('; ')}`);
}

export async function initialSync(ctx: BenchContext, spec: InitialSpec): Promise<WorkloadResult> {
  const src = scratchDir(ctx, `w${spec.id}-src`);
  ctx.log(`workload ${spec.id}: making data`);
  spec.make(src);
  const tools = initialTools(ctx);
  const series: Series[] = tools.map((t) => ({ tool: t.name, samples: [] }));
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const tool of rotate(tools, rep)) {
      const scratch = scratchDir(ctx, 'state');
      const dest = join(ctx.sshd.remoteRoot, `w${spec.id}-${rep}-${tools.indexOf(tool)}`);
      const m = measure(ctx, tool.command(src, dest, scratch, scratch));
      verify(spec, tool, src, dest);
      pushMeasured(series[tools.indexOf(tool)] as Series, m);
      ctx.log(`workload ${spec.id} rep ${rep + 1}/${ctx.reps}: ${tool.name} ${fmtMs(m.ms)}`);
      remove(dest, scratch);
    }
  }
  const targets: Target[] = [];
  const ferry = ferryOf(series);
  const rsync = seriesOf(series, '`rsync -a -e ssh`');
  if (spec.id === 3) {
    const scp = seriesOf(series, '`scp -r`');
    if (!ferry || !scp)
      targets.push({
        workload: 3,
        goal: "at least 0.9x scp's throughput",
        figure: 'scp not available',
        met: undefined,
      });
    else {
      const share = median(scp.samples) / median(ferry.samples);
      targets.push({
        workload: 3,
        goal: "at least 0.9x scp's throughput",
        figure: `Ferry ${fmtMBps(spec.bytes, median(ferry.samples))} vs scp ${fmtMBps(spec.bytes, median(scp.samples))} = ${share.toFixed(2)}x`,
        met: share >= 0.9,
        ...(share < 0.9
          ? { miss: `${share.toFixed(2)}x against at least 0.90x: ${((1 - share / 0.9) * 100).toFixed(0)}% short` }
          : {}),
      });
    }
  } else if (ferry && rsync) {
    const r = ferryRatio(series, '`rsync -a -e ssh`');
    targets.push({
      workload: spec.id,
      goal: "at most 1.0x rsync's time",
      figure: `Ferry ${fmtMs(median(ferry.samples))} vs rsync ${fmtMs(median(rsync.samples))} = ${r.toFixed(2)}x`,
      ...ratioTarget(r, 1.0),
    });
  }
  const ferryTool = tools[0] as Tool;
  let profile: WorkloadResult['profile'];
  if (ctx.profile && targets.some((t) => t.met === false)) {
    ctx.log(`workload ${spec.id}: profiling one Ferry run`);
    const scratch = scratchDir(ctx, 'state');
    const dest = join(ctx.sshd.remoteRoot, `w${spec.id}-prof`);
    const path = profileFerry(ctx, ferryTool.command(src, dest, scratch, scratch));
    if (path)
      profile = {
        what: '`ferry sync --once` of this data set into an empty directory',
        summary: summarizeProfile(path),
      };
    remove(dest, scratch);
  }
  remove(src);
  return {
    id: spec.id,
    title: spec.title,
    method: spec.method,
    body: timeTable(series, { bytes: spec.bytes, cpu: true }),
    targets,
    chart: {
      label: `${spec.id}. ${spec.title}`,
      values: series.map((s) => ({ tool: s.tool, value: median(s.samples) })),
    },
    ...(profile ? { profile } : {}),
  };
}
