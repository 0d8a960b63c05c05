/**
 * Workload 5: save-to-server latency of one small file, from the save's close() to the new
 * content under its final name on the server (seen through inotify on the server directory,
 * with a 25 ms poll as a fallback). Peers: Ferry watching, lsyncd watching (`delay = 0`, and a
 * few samples with its default 15 s), and one `rsync -a -e ssh` started per change (the
 * inotifywait recipe, with the event delivered at no cost). Measured on a quiet tree and while
 * a background process rewrites 1,000 files of the same tree every second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FERRY, type BenchContext, type Target, type WorkloadResult } from '../context.ts';
import type { BarChart } from '../chart-types.ts';
import { makeSmallTree } from '../data.ts';
import { isInSync, startWatchingFerry, type WatchingFerry } from '../ferry-process.ts';
import { startLsyncd, type RunningLsyncd } from '../lsyncd.ts';
import { ferryWatchArgs, rsyncOneFile, rsyncPush } from '../peers.ts';
import { killTree, sleep, timeCommand, track, untrack } from '../proc.ts';
import { remove, rotate, scratchDir } from '../runner.ts';
import { fmtMs, fmtRatio, max, median, min, quantile } from '../stats.ts';

const CHURN = fileURLToPath(new URL('../churn.ts', import.meta.url));
const PROBE = 'probe.txt';
const LSYNCD0 = 'lsyncd (`delay = 0`)';
const LSYNCD15 = 'lsyncd (default `delay = 15`)';
const RSYNC_PER_CHANGE = 'one `rsync -a -e ssh` per change';
const CHURN_FILES = 1000;
const CHURN_INTERVAL_MS = 1000;

interface Peer {
  tool: string;
  local: string;
  remote: string;
  /** Called right after the save's close(). */
  afterSave?(): void;
  /** Argv (JSON) the churn process runs after each burst (per-change recipe: push the burst). */
  churnCommand?: string[];
  /** Waits until the peer has caught up after a burst block. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Saves `content` to `local/probe.txt` and resolves with the ms from close() to the same bytes
 * under `remote/probe.txt`, or rejects after `timeoutMs`.
 */
function timeOneSave(peer: Peer, content: Buffer, timeoutMs: number): Promise<number> {
  const remoteFile = join(peer.remote, PROBE);
  const arrived = () => {
    try {
      return readFileSync(remoteFile).equals(content);
    } catch {
      return false;
    }
  };
  return new Promise((resolve, reject) => {
    let t0 = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      const t1 = performance.now();
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(t1 - t0);
    };
    const watcher = watch(peer.remote, (_event, name) => {
      if (t0 && name === PROBE && arrived()) finish();
    });
    const poll = setInterval(() => t0 && arrived() && finish(), 25);
    const timer = setTimeout(
      () => finish(new Error(`${peer.tool}: the save did not reach ${remoteFile} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    writeFileSync(join(peer.local, PROBE), content);
    t0 = performance.now();
    peer.afterSave?.();
  });
}

/** Probe content: 4 KiB, alternately one byte longer (see the note on rsync's quick check). */
function probeContent(tag: string, i: number): Buffer {
  return Buffer.from(`${tag} save ${i} `.padEnd(4096 + (i % 2), '.'));
}

function startChurn(dir: string, command: string[] | undefined): Promise<ChildProcess> {
  const argv = [
    CHURN,
    dir,
    String(CHURN_FILES),
    String(CHURN_INTERVAL_MS),
    ...(command ? [JSON.stringify(command)] : []),
  ];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.pid) track(child.pid);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`churn process exited early (${code})`)));
    child.stdout?.once('data', () => resolve(child));
  });
}

async function stopChurn(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('close', r));
  if (child.pid) (killTree(child.pid, 'SIGKILL'), untrack(child.pid));
  await exited;
}

interface LatencySeries {
  tool: string;
  condition: 'quiet' | 'burst';
  samples: number[];
  perRoundP50: number[];
  timeouts: number;
}

export async function saveLatency(ctx: BenchContext): Promise<WorkloadResult> {
  const rounds = 3;
  const perBlock = ctx.quick ? 4 : 20;
  const timeoutMs = 60_000;
  const made: string[] = [];
  const tree = (name: string) => {
    const local = scratchDir(ctx, `w5-${name}`);
    makeSmallTree(local, 1000, 10, 4096);
    // A size no save uses: rsync's quick check must never mistake the first save for it.
    writeFileSync(join(local, PROBE), Buffer.alloc(4000, 'i'));
    const remote = join(ctx.sshd.remoteRoot, `w5-${name}`);
    mkdirSync(remote, { recursive: true });
    // The server's user (not root when the bench runs as root) must be able to write there.
    ctx.sshd.own(remote);
    made.push(local, remote);
    return { local, remote };
  };

  const peers: Peer[] = [];
  const notes: string[] = [];
  try {
    // Ferry watching.
    {
      const { local, remote } = tree('ferry');
      const state = scratchDir(ctx, 'w5-state');
      made.push(state);
      const ferry: WatchingFerry = startWatchingFerry(ferryWatchArgs(ctx, local, remote, state));
      track(ferry.pid);
      await ferry.waitFor(isInSync, { what: 'the first in-sync', timeoutMs: 120_000 });
      peers.push({
        tool: FERRY,
        local,
        remote,
        settle: async () => {
          // In sync, and nothing new for 500 ms.
          const deadline = performance.now() + 60_000;
          for (;;) {
            await sleep(250);
            const last = ferry.events.at(-1);
            if ((last && isInSync(last.e) && performance.now() - last.t > 500) || performance.now() > deadline) return;
          }
        },
        stop: async () => (await ferry.stop(), untrack(ferry.pid)),
      });
    }
    // lsyncd, delay = 0.
    if (ctx.tools.has('lsyncd')) {
      const { local, remote } = tree('lsyncd0');
      const scratch = scratchDir(ctx, 'w5-lsyncd0');
      made.push(scratch);
      const l: RunningLsyncd = await startLsyncd(ctx, { source: local, targetDir: remote, delay: 0, scratch });
      track(l.pid);
      peers.push({
        tool: LSYNCD0,
        local,
        remote,
        settle: () => sleep(ctx.quick ? 1500 : 3000),
        stop: async () => (await l.stop(), untrack(l.pid)),
      });
    } else notes.push(`lsyncd skipped: ${ctx.skipped.get('lsyncd') ?? 'not installed'}.`);
    // One rsync per change.
    {
      const { local, remote } = tree('rsync');
      timeCommand(rsyncPush(ctx, local, remote).cmd, rsyncPush(ctx, local, remote).argv);
      const one = rsyncOneFile(ctx, join(local, PROBE), remote);
      const push = rsyncPush(ctx, join(local, 'churn'), join(remote, 'churn'));
      peers.push({
        tool: RSYNC_PER_CHANGE,
        local,
        remote,
        afterSave: () => {
          const p = spawn(one.cmd, one.argv, { stdio: 'ignore', env: { ...process.env, SSH_AUTH_SOCK: '' } });
          p.on('error', () => undefined);
        },
        churnCommand: [push.cmd, ...push.argv],
        settle: () => sleep(ctx.quick ? 1000 : 2000),
        stop: async () => undefined,
      });
    }

    const all: LatencySeries[] = [];
    for (const condition of ['quiet', 'burst'] as const) {
      for (const p of peers) all.push({ tool: p.tool, condition, samples: [], perRoundP50: [], timeouts: 0 });
      for (let round = 0; round < rounds; round++) {
        for (const peer of rotate(peers, round)) {
          const s = all.find((x) => x.tool === peer.tool && x.condition === condition) as LatencySeries;
          const churn =
            condition === 'burst' ? await startChurn(join(peer.local, 'churn'), peer.churnCommand) : undefined;
          if (churn) await sleep(300);
          const block: number[] = [];
          for (let i = 0; i < perBlock; i++) {
            try {
              block.push(await timeOneSave(peer, probeContent(`${condition}-${round}`, i), timeoutMs));
            } catch {
              s.timeouts++;
              block.push(timeoutMs);
            }
            await sleep(100 + ((i * 37) % 100));
          }
          if (churn) (await stopChurn(churn), await peer.settle());
          s.samples.push(...block);
          s.perRoundP50.push(median(block));
          ctx.log(
            `workload 5 ${condition} round ${round + 1}/${rounds}: ${peer.tool} p50 ${fmtMs(median(block))} max ${fmtMs(max(block))}`,
          );
        }
      }
    }
    for (const p of peers) await p.stop();
    peers.length = 0;

    // lsyncd with its default delay: a few samples only, each takes 15 s.
    if (ctx.tools.has('lsyncd') && ctx.quick)
      notes.push('lsyncd with its default `delay = 15`: left out of `--quick` runs (each sample takes 15 s).');
    if (ctx.tools.has('lsyncd') && !ctx.quick) {
      const n = 3;
      const { local, remote } = tree('lsyncd15');
      const scratch = scratchDir(ctx, 'w5-lsyncd15');
      made.push(scratch);
      const l = await startLsyncd(ctx, { source: local, targetDir: remote, delay: 15, scratch });
      track(l.pid);
      const s: LatencySeries = { tool: LSYNCD15, condition: 'quiet', samples: [], perRoundP50: [], timeouts: 0 };
      const peer: Peer = { tool: LSYNCD15, local, remote, settle: async () => undefined, stop: async () => undefined };
      for (let i = 0; i < n; i++) {
        try {
          s.samples.push(await timeOneSave(peer, probeContent('delay15', i), 40_000));
        } catch {
          s.timeouts++;
        }
        ctx.log(`workload 5 lsyncd delay 15: sample ${i + 1}/${n} ${fmtMs(s.samples.at(-1) ?? Number.NaN)}`);
        await sleep(500);
      }
      s.perRoundP50 = [...s.samples];
      await l.stop();
      untrack(l.pid);
      all.push(s);
      notes.push(
        `lsyncd with its default \`delay = 15\`: ${n} sample${n > 1 ? 's' : ''} only (each takes 15 s), on a quiet tree; its percentiles are those of ${n} value${n > 1 ? 's' : ''}.`,
      );
    }
    return report(all, rounds, perBlock, notes);
  } finally {
    for (const p of peers) await p.stop().catch(() => undefined);
    remove(...made);
  }
}

function report(all: LatencySeries[], rounds: number, perBlock: number, notes: string[]): WorkloadResult {
  const head =
    '| tool | tree | saves | p50 | p95 | p99 | min - max | p50 per round (min - max) | Ferry p50 ÷ this p50 |';
  const rows = all.map((s) => {
    const ferry = all.find((x) => x.tool === FERRY && x.condition === s.condition);
    const ratio = ferry && s.samples.length ? fmtRatio(median(ferry.samples) / median(s.samples)) : 'n/a';
    const timeouts = s.timeouts ? ` (${s.timeouts} timed out)` : '';
    return `| ${s.tool} | ${s.condition === 'quiet' ? 'quiet' : 'burst syncing'} | ${s.samples.length}${timeouts} | ${fmtMs(quantile(s.samples, 0.5))} | ${fmtMs(quantile(s.samples, 0.95))} | ${fmtMs(quantile(s.samples, 0.99))} | ${fmtMs(min(s.samples))} - ${fmtMs(max(s.samples))} | ${fmtMs(min(s.perRoundP50))} - ${fmtMs(max(s.perRoundP50))} | ${s.tool === FERRY ? '1' : ratio} |`;
  });
  const targets: Target[] = [];
  for (const condition of ['quiet', 'burst'] as const) {
    const f = all.find((x) => x.tool === FERRY && x.condition === condition);
    if (!f) continue;
    const where = condition === 'quiet' ? 'quiet tree' : 'while a burst syncs';
    const p50 = quantile(f.samples, 0.5);
    const p99 = quantile(f.samples, 0.99);
    targets.push({
      workload: 5,
      goal: `p50 at most 100 ms (${where})`,
      figure: `p50 ${fmtMs(p50)}`,
      met: p50 <= 100,
      ...(p50 > 100 ? { miss: `${fmtMs(p50 - 100)} over (${((p50 / 100 - 1) * 100).toFixed(0)}%)` } : {}),
    });
    targets.push({
      workload: 5,
      goal: `p99 at most 500 ms (${where})`,
      figure: `p99 ${fmtMs(p99)}`,
      met: p99 <= 500,
      ...(p99 > 500 ? { miss: `${fmtMs(p99 - 500)} over (${((p99 / 500 - 1) * 100).toFixed(0)}%)` } : {}),
    });
    const l = all.find((x) => x.tool === LSYNCD0 && x.condition === condition);
    if (l) {
      const lp50 = quantile(l.samples, 0.5);
      const lp99 = quantile(l.samples, 0.99);
      const met = p50 <= lp50 && p99 <= lp99;
      targets.push({
        workload: 5,
        goal: `not worse than lsyncd with delay = 0 (${where})`,
        figure: `p50 ${fmtMs(p50)} vs ${fmtMs(lp50)}, p99 ${fmtMs(p99)} vs ${fmtMs(lp99)}`,
        met,
        ...(met ? {} : { miss: `p50 ${fmtRatio(p50 / lp50)}, p99 ${fmtRatio(p99 / lp99)} of lsyncd's` }),
      });
    } else
      targets.push({
        workload: 5,
        goal: `not worse than lsyncd with delay = 0 (${where})`,
        figure: 'lsyncd not available',
        met: undefined,
      });
  }
  const chart: BarChart = {
    title: 'Save-to-server latency of one 4 KiB file (log scale, lower is better)',
    unit: 'ms from close() to the file renamed into place on the server',
    log: true,
    file: 'bench-latency',
    groups: (['quiet', 'burst'] as const).flatMap((condition) =>
      ([0.5, 0.99] as const).map((q) => ({
        label: `${condition === 'quiet' ? 'quiet' : 'burst'} p${q * 100}`,
        bars: all
          .filter((s) => s.condition === condition && s.samples.length)
          .map((s) => ({ tool: s.tool, value: quantile(s.samples, q) })),
      })),
    ),
  };
  return {
    id: 5,
    title: 'Save-to-server latency of one small file',
    method: [
      `One 4 KiB file (${PROBE}) in a tree of 1,000 files is saved (written and closed) again and again; each save is timed from its close() to the new bytes under the final name on the server, seen by inotify on the server's directory (a 25 ms poll backs it up). Every tool watches its own copy of the tree; saves are ${rounds} rounds of ${perBlock} per tool, tools alternating by round, 100-200 ms apart.`,
      `"Burst syncing": a separate process rewrites ${CHURN_FILES.toLocaleString('en-US')} files of 4 KiB in a \`churn/\` directory of the same tree every ${CHURN_INTERVAL_MS / 1000} s while the saves are timed, so the save competes with a burst the tool is pushing. For the per-change rsync, that process runs one \`rsync -a\` of \`churn/\` after each burst (the recipe batching the burst generously).`,
      `"One rsync per change" is the inotifywait recipe with the event delivered for free: an \`rsync -a -e ssh\` of the file starts right after close(), a new SSH connection each time. lsyncd is \`default.rsyncssh\` with \`rsync.rsh\` set to the same ssh command as every peer.`,
      "The saved file alternates between 4,096 and 4,097 bytes: rsync's quick check (size and whole-second mtime) skips a same-size rewrite within the same second, so lsyncd and the per-change rsync would never deliver some saves (seen on this machine: the second of two 2-byte saves 30 ms apart stayed on the server with its old content). Ferry compares size and millisecond mtime with its index of what it last sent (main/engine/reconcile.ts), so it does not depend on this.",
    ].join('\n\n'),
    body:
      [head, '|---|---|---|---|---|---|---|---|---|', ...rows].join('\n') +
      (notes.length ? `\n\n${notes.map((n) => `- ${n}`).join('\n')}` : ''),
    targets,
    ownChart: chart,
  };
}
