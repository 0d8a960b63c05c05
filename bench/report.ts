/**
 * The Markdown report (docs/BENCHMARKS.md for a full run): how to run, the machine, the
 * targets met or missed, charts, and every workload's method, table and profile.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Target, WorkloadResult } from './context.ts';
import type { MachineInfo } from './machine.ts';
import { profileMarkdown } from './profile.ts';

export interface RunMeta {
  quick: boolean;
  reps: number;
  startedAt: Date;
  durationMs: number;
  loadStart: string;
  loadEnd: string;
  scratch: string;
  machine: MachineInfo;
  skipped: Map<string, string>;
  charts: { title: string; png?: string; why?: string }[];
  /** Hand-written analysis to include verbatim (bench/ANALYSIS.md), if present. */
  analysisPath?: string;
  /** Workloads that failed: id and the error. */
  failures: { id: number; error: string }[];
}

const verdict = (t: Target) => (t.met === true ? '**met**' : t.met === false ? '**missed**' : 'not measured');

export function renderReport(meta: RunMeta, results: WorkloadResult[]): string {
  const m = meta.machine;
  const targets = results.flatMap((r) => r.targets);
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    '`npm run bench` (`node bench/run.ts`) starts its own loopback OpenSSH sshd (the test harness), runs Ferry and its peers on the same data in the same run, interleaved, and writes this file and its charts. Options: `--quick` (a small version in under two minutes, without the profiled runs, written to a temp directory unless `--out` is given), `--reps N` (default 3), `--only 1,5,8` (some workloads; workload 10, a million files, runs only when named there), `--no-profile` (skip the profiled Ferry runs that explain missed targets), `--out FILE`. Trees live on tmpfs (`/dev/shm`) when the machine has one. It installs missing Debian packages (lsyncd, librsvg2-bin) with apt-get when run as root, and otherwise leaves a missing peer out with a line below. Every ssh-based peer uses the harness key and known_hosts, `StrictHostKeyChecking=yes`, `BatchMode=yes` and `-F /dev/null`; Ferry gets the same key and known_hosts and `--ssh-config /dev/null`. Never run by the tests.',
    '',
  );
  out.push(`## ${meta.quick ? 'Quick run' : 'Last full run on this machine'}`, '');
  out.push(
    `${meta.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${(meta.durationMs / 60000).toFixed(1)} min. ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}. ${m.versions.map((v) => `${v.label} ${v.version}`).join('; ')}. Scratch and server directories on ${meta.scratch}. Load average (1, 5, 15 min) at start ${meta.loadStart}, at end ${meta.loadEnd}: the machine is shared, so only figures taken side by side in this run are compared. Every figure: median of ${meta.reps} or more interleaved runs, min - max in brackets; "Ferry's time ÷ this" below 1 means Ferry was faster.`,
    '',
  );
  const busy = Math.max(...[meta.loadStart, meta.loadEnd].map((l) => Number(l.split(',')[0])));
  if (busy > m.nproc / 2) {
    out.push(
      `**The machine was busy during this run** (1-minute load average up to ${busy.toFixed(2)} on ${m.nproc} cores, from other work than this suite): every tool ran under the same load, but figures where Ferry needs a spare core (hashing alongside rsync in workload 7, the latency under a burst in workload 5) suffer more than the peers' single-threaded runs.`,
      '',
    );
  }
  if (meta.skipped.size) {
    out.push('Left out:', '', ...[...meta.skipped.values()].map((s) => `- ${s}.`), '');
  }
  if (meta.failures.length) {
    out.push(
      'Workloads that failed in this run:',
      '',
      ...meta.failures.map((f) => `- ${f.id}: ${f.error.replace(/\n/g, ' ').slice(0, 600)}`),
      '',
    );
  }
  out.push('### Targets (from the issue), met or missed', '');
  out.push("| # | target | Ferry's figure (vs the peer) | verdict | by how much |", '|---|---|---|---|---|');
  for (const t of targets) out.push(`| ${t.workload} | ${t.goal} | ${t.figure} | ${verdict(t)} | ${t.miss ?? ''} |`);
  const met = targets.filter((t) => t.met === true).length;
  out.push('', `${met} of ${targets.length} targets met.`, '');
  if (meta.charts.length) {
    out.push('### Charts', '');
    for (const c of meta.charts) out.push(c.png ? `![${c.title}](${c.png})` : `(${c.title}: no chart, ${c.why})`, '');
  }
  for (const r of results.sort((a, b) => a.id - b.id)) {
    out.push(`## ${r.id}. ${r.title}`, '', r.method, '', r.body, '');
    const missed = r.targets.filter((t) => t.met === false);
    if (missed.length) out.push(`Missed: ${missed.map((t) => `${t.goal} (${t.miss ?? t.figure})`).join('; ')}.`, '');
    if (r.profile)
      out.push(
        `Where Ferry's time goes (${r.profile.what}, \`node --cpu-prof\`, self time per function):`,
        '',
        profileMarkdown(r.profile.summary),
        '',
      );
  }
  if (meta.analysisPath && existsSync(meta.analysisPath)) out.push(readFileSync(meta.analysisPath, 'utf8').trim(), '');
  return out.join('\n');
}
