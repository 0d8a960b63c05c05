/**
 * Fan-out (issue 12): one change set to 10 targets vs the same change set to 1 target.
 * Ten directories on the loopback sshd, each its own target of one folder; `ferry sync
 * --once` with all ten (one watcher-less run: one local scan, ten lanes at once) against
 * `ferry sync --once` with one. Each rep rewrites 100 of the tree's 1,000 files of 4 KiB
 * and adds 10, then times every run in rotating order (each run's targets start from the
 * same synced state).
 *
 * With round-trip times (`--rtt 0,20,60`), each RTT above 0 gets ten TCP proxies in a child
 * process (bench/latency-proxies.ts) that hold every chunk RTT/2 in each direction, and every
 * target of that RTT's runs connects through its own proxy: ten separate connection paths,
 * as ten servers would be (the connection pool shares one connection per host:port:user, so
 * these are not pooled). RTT 0 is the sshd directly, pooled as usual.
 *
 *   node bench/workloads/fanout.ts [reps] [baseline] [--rtt 0,20,60]
 *
 * As the reference (not a target), plain rsync does the same at every RTT, through the same
 * proxies, into directories of its own: `rsync -a --delete -e ssh` to one target, and ten such
 * rsyncs started at once to ten, timed until the last exits (what `for t in ...; do rsync ...
 * & done; wait` does, without a shell). Its ten-to-one ratio is what the same machine, sshd and
 * proxies give ten plain pushes at once: the figure to read Ferry's against.
 *
 * `baseline` is another checkout's `main/cli/ferry.ts` whose ten-target run is timed in the
 * same rotation (a before/after figure taken side by side). In `bench/run.ts` it is
 * workload 11 (`--fanout-rtt` passes RTTs).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSshd, type TestSshd } from '../../test/harness/sshd.ts';
import {
  diffTrees,
  FERRY_BIN,
  readTree,
  sshFlags,
  targetOf,
  tempDir,
  type TreeEntry,
} from '../../test/harness/trees.ts';
import { makeSmallTree } from '../data.ts';
import { loadAverages } from '../machine.ts';
import { remoteSpec, sshCommandLine, type Command } from '../peers.ts';
import { descendants, procStat, sleepSync, timeCommand, track, untrack, type TimedRun } from '../proc.ts';
import type { BenchContext, WorkloadResult } from '../context.ts';
import { fmtMs, fmtRatio, fmtSpread, median } from '../stats.ts';
import { ratioTarget } from '../table.ts';

export type FanoutKind = 'one' | 'ten' | 'baseline' | 'rsync-one' | 'rsync-ten';

/** The samples of one kind of run at one round-trip time. */
export interface FanoutSeries {
  kind: FanoutKind;
  rttMs: number;
  samples: number[];
  /**
   * Per run, ms of CPU: the client (Ferry and its children, or the rsyncs and their ssh), the
   * sshd sessions, the latency proxies.
   */
  clientCpuMs: number[];
  serverCpuMs: number[];
  proxyCpuMs: number[];
}

export interface FanoutResult {
  /**
   * Per RTT (in the order asked): 1 target, 10 targets, the baseline's 10 when given, and
   * rsync's 1 and 10 (the reference) unless left out.
   */
  series: FanoutSeries[];
}

export interface FanoutOptions {
  log?: (s: string) => void;
  /** The server to use (bench/run.ts's); by default one of its own. */
  sshd?: TestSshd;
  /** Another checkout's `main/cli/ferry.ts`, timed with ten targets in the same rotation. */
  baselineBin?: string;
  /** Round-trip times to put between the client and every target, in ms; 0 = direct. Default [0]. */
  rttsMs?: readonly number[];
  /** The rsync binary of the reference runs ('rsync' by default); null leaves them out. */
  rsync?: string | null;
}

/** Ten latency proxies in a child process (the bench's thread blocks while Ferry runs). */
interface LatencyProxies {
  ports: number[];
  knownHosts: string;
  /** CPU the proxy process has used so far, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const PROXIES = fileURLToPath(new URL('../latency-proxies.ts', import.meta.url));

async function startLatencyProxies(sshd: TestSshd, rttMs: number, dir: string): Promise<LatencyProxies> {
  const child = spawn(process.execPath, [PROXIES, '127.0.0.1', String(sshd.port), '10', String(rttMs / 2)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  if (child.pid) track(child.pid);
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), exited])) as [string | number | null];
  if (typeof first !== 'string') throw new Error(`latency proxies for RTT ${rttMs} ms exited (${first})`);
  const ports = (JSON.parse(first) as { ports: number[] }).ports;
  // Every proxy port is another "server" to ssh: pin the sshd's host key under each.
  const [type, key] = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
  const knownHosts = join(dir, `known_hosts_rtt${rttMs}`);
  writeFileSync(knownHosts, ports.map((p) => `[127.0.0.1]:${p} ${type} ${key}\n`).join(''));
  return {
    ports,
    knownHosts,
    cpuMs: () => (child.pid ? (procStat(child.pid)?.cpuMs ?? 0) : 0),
    async stop() {
      child.stdin.end();
      await exited;
      if (child.pid) untrack(child.pid);
    },
  };
}

export async function fanout(reps: number, opts: FanoutOptions = {}): Promise<FanoutResult> {
  const log = opts.log ?? console.log;
  const rtts = opts.rttsMs?.length ? opts.rttsMs : [0];
  const rsync = opts.rsync === undefined ? 'rsync' : opts.rsync;
  const sshd = opts.sshd ?? (await startSshd());
  const src = tempDir('fanout-src');
  const scratch = tempDir('fanout-scratch');
  const proxies = new Map<number, LatencyProxies>();
  const sshdPid = Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());
  /** The sshd's CPU with every reaped session's (as bench/run.ts's serverCpuMs). */
  const serverCpuMs = () => {
    const until = performance.now() + 2000;
    while (descendants(sshdPid).length && performance.now() < until) sleepSync(10);
    const st = procStat(sshdPid);
    return st ? st.cpuMs + st.childrenCpuMs : 0;
  };
  try {
    makeSmallTree(src, 1000, 20, 4096);
    for (const rtt of rtts) if (rtt > 0) proxies.set(rtt, await startLatencyProxies(sshd, rtt, scratch));
    const kinds: FanoutKind[] = ['one', 'ten'];
    if (opts.baselineBin) kinds.push('baseline');
    if (rsync) kinds.push('rsync-one', 'rsync-ten');
    const runs = rtts.flatMap((rtt) =>
      kinds.map((kind) => {
        const count = kind === 'one' || kind === 'rsync-one' ? 1 : 10;
        const remotes = Array.from({ length: count }, (_, i) => join(sshd.remoteRoot, `${PREFIX[kind]}r${rtt}-${i}`));
        const via = proxies.get(rtt);
        // Target i's server: the sshd itself, or seen through proxy i (its port, its known_hosts).
        const server = (i: number): TestSshd =>
          via ? { ...sshd, port: via.ports[i]!, knownHostsPath: via.knownHosts } : sshd;
        let timed: () => TimedRun | Promise<TimedRun>;
        if (kind === 'rsync-one' || kind === 'rsync-ten') {
          const cmds = remotes.map((d, i) => rsyncMirror(rsync!, server(i), src, d));
          timed = () => timeTogether(cmds);
        } else {
          const state = join(scratch, `state-${kind}-r${rtt}`);
          mkdirSync(state);
          const argv = [kind === 'baseline' ? opts.baselineBin! : FERRY_BIN, 'sync', '--once'];
          argv.push(...sshFlags(server(0), state), src, ...remotes.map((d, i) => targetOf(server(i), d)));
          timed = () => timeCommand(process.execPath, argv);
        }
        const series: FanoutSeries = {
          kind,
          rttMs: rtt,
          samples: [],
          clientCpuMs: [],
          serverCpuMs: [],
          proxyCpuMs: [],
        };
        const run = async () => {
          const [server0, proxy0] = [serverCpuMs(), via?.cpuMs() ?? 0];
          const t = await timed();
          return { ...t, serverCpuMs: serverCpuMs() - server0, proxyCpuMs: (via?.cpuMs() ?? 0) - proxy0 };
        };
        return { series, remotes, run };
      }),
    );
    // The initial syncs, not timed.
    for (const r of runs) await r.run();
    for (let rep = 0; rep < reps; rep++) {
      for (let i = 0; i < 100; i++)
        writeFileSync(join(src, `d${i % 20}`, `f${Math.floor(i / 20)}.bin`), `rep ${rep} ${i}\n`.repeat(300));
      for (let i = 0; i < 10; i++) writeFileSync(join(src, `new-${rep}-${i}.txt`), `new ${rep} ${i}`);
      for (const r of rotate(runs, rep)) {
        const t = await r.run();
        r.series.samples.push(t.ms);
        r.series.clientCpuMs.push(t.cpuMs);
        r.series.serverCpuMs.push(t.serverCpuMs);
        r.series.proxyCpuMs.push(t.proxyCpuMs);
        log(
          `fan-out rep ${rep + 1}/${reps}: ${labelOf(r.series)} ${fmtMs(t.ms)} (CPU: client ${fmtMs(t.cpuMs)}, sshd ${fmtMs(t.serverCpuMs)}, proxies ${fmtMs(t.proxyCpuMs)}; load ${loadAverages()})`,
        );
      }
    }
    // Untimed: every run's last target must now hold the source's files, as they are.
    const want = contentOf(src);
    for (const r of runs) {
      const diff = diffTrees(want, contentOf(r.remotes.at(-1)!));
      if (diff.length) log(`fan-out check: ${labelOf(r.series)}: ${diff.length} paths differ, e.g. ${diff[0]}`);
    }
    log(`fan-out check: ${want.size} paths compared in the last target of each of ${runs.length} runs`);
    return { series: runs.map((r) => r.series) };
  } finally {
    for (const p of proxies.values()) await p.stop();
    for (const d of [src, scratch]) rmSync(d, { recursive: true, force: true });
    if (!opts.sshd) await sshd.dispose();
    else for (const kind of Object.keys(PREFIX) as FanoutKind[]) removeRemote(sshd.remoteRoot, PREFIX[kind]);
  }
}

/** Each kind's remote directories are named `<prefix>r<rtt>-<i>` below the sshd's root. */
const PREFIX: Record<FanoutKind, string> = {
  one: 'one-',
  ten: 'ten-',
  baseline: 'base-',
  'rsync-one': 'rsync-one-',
  'rsync-ten': 'rsync-ten-',
};

const LABEL: Record<FanoutKind, string> = {
  one: '1 target',
  ten: '10 targets',
  baseline: '10 targets (baseline)',
  'rsync-one': 'rsync, 1 target (reference)',
  'rsync-ten': 'rsync, 10 at once (reference)',
};

/** The series a kind's ratio is taken against: Ferry's 1 target, or rsync's. */
function oneOf(kind: FanoutKind): FanoutKind {
  return kind === 'rsync-one' || kind === 'rsync-ten' ? 'rsync-one' : 'one';
}

/** `rsync -a --delete -e ssh src/ host:dest/`: dest made the mirror of src. */
function rsyncMirror(rsync: string, sshd: TestSshd, src: string, dest: string): Command {
  return { cmd: rsync, argv: ['-a', '--delete', '-e', sshCommandLine(sshd), `${src}/`, `${remoteSpec(sshd, dest)}/`] };
}

/**
 * Starts every command at once (no shell) and times until the last has exited, as
 * `for t in ...; do cmd & done; wait` would; CPU as {@link timeCommand}'s. Throws when any fails.
 */
async function timeTogether(cmds: readonly Command[]): Promise<TimedRun> {
  const before = procStat('self')?.childrenCpuMs ?? 0;
  const t0 = performance.now();
  const ends = await Promise.all(
    cmds.map(async ({ cmd, argv }) => {
      const child = spawn(cmd, argv, {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, SSH_AUTH_SOCK: '' },
        timeout: 600_000,
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      return { what: `${cmd} ${argv.join(' ')}`, code, signal, stderr };
    }),
  );
  const ms = performance.now() - t0;
  const cpuMs = (procStat('self')?.childrenCpuMs ?? 0) - before;
  const bad = ends.find((e) => e.code !== 0);
  if (bad) throw new Error(`${bad.what} failed (exit ${bad.code ?? bad.signal}): ${bad.stderr.trim().slice(-2000)}`);
  return { ms, cpuMs };
}

/** Every path below `root` with what it is and, for files, their bytes' digest only. */
function contentOf(root: string): Map<string, TreeEntry> {
  return new Map(
    [...readTree(root)].map(([p, e]) => [p, e.kind === 'file' ? { kind: e.kind, sha256: e.sha256 } : { kind: e.kind }]),
  );
}

function labelOf(s: FanoutSeries): string {
  return `${LABEL[s.kind]}, ${s.rttMs ? `RTT ${s.rttMs} ms` : 'loopback'}`;
}

/** `items` rotated left by `n`: each rep starts with another one. */
function rotate<T>(items: readonly T[], n: number): T[] {
  const k = n % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function removeRemote(root: string, prefix: string): void {
  for (const name of readdirSync(root))
    if (name.startsWith(prefix)) rmSync(join(root, name), { recursive: true, force: true });
}

export interface FanoutRatio {
  one: number;
  ten: number;
  ratio: number;
}

/**
 * Median of 10 targets ÷ median of 1 target at each RTT: Ferry's, and rsync's (the reference)
 * when it ran.
 */
export function fanoutRatios(r: FanoutResult): (FanoutRatio & { rttMs: number; rsync: FanoutRatio | undefined })[] {
  const rtts = [...new Set(r.series.map((s) => s.rttMs))];
  return rtts.map((rttMs) => {
    const of = (kind: FanoutKind) => r.series.find((s) => s.kind === kind && s.rttMs === rttMs)?.samples ?? [];
    const ratioOf = (one: number[], ten: number[]) => ({
      one: median(one),
      ten: median(ten),
      ratio: median(ten) / median(one),
    });
    const rsync = of('rsync-one').length ? ratioOf(of('rsync-one'), of('rsync-ten')) : undefined;
    return { rttMs, ...ratioOf(of('one'), of('ten')), rsync };
  });
}

/**
 * Markdown table: every series with its time (median, min - max), its ratio to 1 target at
 * its RTT (Ferry's, or rsync's for rsync's rows), and the median CPU of the client (Ferry or
 * rsync with its ssh), of the sshd and of the latency proxies per run.
 */
export function fanoutTable(r: FanoutResult): string {
  const rows = r.series.map((s) => {
    const oneKind = oneOf(s.kind);
    const one = median(r.series.find((o) => o.kind === oneKind && o.rttMs === s.rttMs)?.samples ?? []);
    const x = fmtRatio(median(s.samples) / one);
    const ratio = s.kind === oneKind ? '1' : oneKind === 'one' ? `**${x}**` : x;
    const cpu = [s.clientCpuMs, s.serverCpuMs, s.proxyCpuMs].map((xs, i) =>
      i === 2 && !s.rttMs ? '-' : fmtMs(median(xs)),
    );
    return `| ${s.rttMs ? `${s.rttMs} ms` : '0 (loopback)'} | ${LABEL[s.kind]} | ${fmtSpread(s.samples)} | ${ratio} | ${cpu.join(' | ')} |`;
  });
  return [
    '| RTT | run | time: median (min - max) | ÷ 1 target | client CPU | sshd CPU | proxy CPU |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Workload 11 of bench/run.ts: the fan-out ratio against issue 12's 1.3x, at each RTT. */
export async function fanoutWorkload(ctx: BenchContext, rttsMs: readonly number[] = [0]): Promise<WorkloadResult> {
  const reps = Math.max(ctx.reps, 5);
  const rsync = ctx.tools.get('rsync') ?? null;
  const r = await fanout(reps, { sshd: ctx.sshd, rttsMs, rsync, log: (m) => ctx.log(`workload 11 ${m}`) });
  const ratios = fanoutRatios(r);
  const reference = rsync
    ? ' As the reference, not a target: the same change set pushed by plain rsync (`rsync -a --delete -e ssh`, directories of its own, the same proxies) to one target, and by ten rsyncs started at once to ten (timed until the last exits), in the same rotation.'
    : ` No rsync reference: ${ctx.skipped.get('rsync') ?? 'rsync is missing'}.`;
  return {
    id: 11,
    title: 'Fan-out: one change set to 10 targets',
    method: `A folder of 1,000 files of 4 KiB in 20 directories, already synced to one target and to ten (ten directories on the loopback sshd, each its own target). Each rep rewrites 100 files and adds 10, then times \`ferry sync --once\` to the one target and to the ten, in rotating order. ${reps} reps. Every "server" is a process on this machine's cores too.${rttsMs.some((x) => x > 0) ? ' At an RTT above 0, every target connects through its own TCP proxy that holds each chunk RTT/2 in each direction (bench/latency-proxies.ts), so the ten are ten connections, as to ten servers.' : ''}${reference}`,
    body: fanoutTable(r),
    targets: ratios.map((x) => ({
      workload: 11,
      goal: `10 targets in at most 1.3x one target's time${x.rttMs ? ` (RTT ${x.rttMs} ms)` : ' (loopback)'}`,
      figure: `10 targets ${fmtMs(x.ten)} vs 1 target ${fmtMs(x.one)} = ${fmtRatio(x.ratio)}${x.rsync ? `; reference, not a target: rsync, 10 at once ${fmtMs(x.rsync.ten)} vs 1 ${fmtMs(x.rsync.one)} = ${fmtRatio(x.rsync.ratio)}` : ''}`,
      ...ratioTarget(x.ratio, 1.3),
    })),
  };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--rtt');
  const rttsMs = at >= 0 ? (args[at + 1] ?? '').split(',').map(Number) : [0];
  if (at >= 0) args.splice(at, 2);
  if (!rttsMs.every((x) => Number.isFinite(x) && x >= 0)) throw new Error('--rtt takes ms, e.g. --rtt 0,20,60');
  const reps = Number(args[0] ?? 7);
  const baselineBin = args[1];
  const r = await fanout(reps, { rttsMs, ...(baselineBin ? { baselineBin } : {}) });
  for (const s of r.series) console.log(`${labelOf(s)}: [${s.samples.map(fmtMs).join(', ')}]`);
  console.log(fanoutTable(r));
}
