/**
 * Running and observing processes for the benchmarks (Linux: reads /proc). Commands are
 * spawned with argument arrays, never through a shell.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

export const ticksToMs = (ticks: number): number => (ticks * 1000) / CLK_TCK;

export interface ProcStat {
  ppid: number;
  /** User + system CPU of the process itself, in ms. */
  cpuMs: number;
  /** CPU of its waited-for (exited and reaped) descendants, in ms. */
  childrenCpuMs: number;
}

/** /proc/<pid>/stat, or undefined when the process is gone. */
export function procStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces and parentheses): state is [0].
  const f = text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const at = (i: number) => f[i] ?? 0;
  return { ppid: at(1), cpuMs: ticksToMs(at(11) + at(12)), childrenCpuMs: ticksToMs(at(13) + at(14)) };
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), or 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every live descendant of `root`. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) (out.push(c), walk(c));
  };
  walk(root);
  return out;
}

/**
 * CPU used so far by `pid` and everything below it (live descendants plus reaped ones), in ms.
 * A descendant that exits between two readings without being reaped yet is missed for that
 * reading only; idle processes have none.
 */
export function treeCpuMs(pid: number): number {
  let total = 0;
  for (const p of [pid, ...descendants(pid)]) {
    const st = procStat(p);
    if (st) total += st.cpuMs + (p === pid ? st.childrenCpuMs : 0);
  }
  return total;
}

/** Summed resident set size of `pid` and its live descendants, in bytes. */
export function treeRssBytes(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + rssBytes(p), 0);
}

/** Sends `signal` to a process we started and every descendant of it (children first). */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const p of [...descendants(pid).reverse(), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      /* already gone */
    }
  }
}

export interface TimedRun {
  ms: number;
  /** CPU of the command and every descendant it waited for, in ms. */
  cpuMs: number;
}

/**
 * Runs a command to completion and times it. Throws (with the command's stderr) when it fails
 * or runs longer than `timeoutMs`.
 */
export function timeCommand(
  cmd: string,
  argv: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): TimedRun {
  const before = procStat('self')?.childrenCpuMs ?? 0;
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SSH_AUTH_SOCK: '', ...opts.env },
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const ms = performance.now() - t0;
  const cpuMs = (procStat('self')?.childrenCpuMs ?? 0) - before;
  if (r.error) throw new Error(`${cmd} ${argv.join(' ')} could not run: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${argv.join(' ')} failed (exit ${r.status ?? r.signal}): ${r.stderr.toString().trim().slice(-2000)}`,
    );
  }
  return { ms, cpuMs };
}

/** Runs a command and returns its stdout (trimmed), or undefined when it cannot run or fails. */
export function capture(cmd: string, argv: readonly string[]): string | undefined {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error || r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Blocks the thread for `ms` (for synchronous measuring code only). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const tracked = new Set<number>();

/** Remembers a long-running child so {@link killTracked} can end it if the suite dies. */
export function track(pid: number): void {
  tracked.add(pid);
}

export function untrack(pid: number): void {
  tracked.delete(pid);
}

/** Kills every tracked child and its descendants (on exit or interruption of the suite). */
export function killTracked(): void {
  for (const pid of tracked) killTree(pid, 'SIGKILL');
  tracked.clear();
}
