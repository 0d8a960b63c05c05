/**
 * A long-running `ferry sync --json` (watch mode) whose JSON events carry the time they
 * arrived (performance.now()), so a workload can tell which "in sync" came after its change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { killTree } from './proc.ts';
import { onLines } from '../test/harness/lines.ts';

export interface TimedEvent {
  t: number;
  e: Record<string, unknown>;
}

export interface WatchingFerry {
  child: ChildProcess;
  pid: number;
  startedAt: number;
  events: TimedEvent[];
  stderr(): string;
  /** The first event at or after time `after` matching `pred`; rejects after `timeoutMs`. */
  waitFor(
    pred: (e: Record<string, unknown>) => boolean,
    opts?: { after?: number; timeoutMs?: number; what?: string },
  ): Promise<TimedEvent>;
  /** SIGTERM (Ferry finishes transfers in flight and saves its index), then waits for exit. */
  stop(): Promise<void>;
}

export const isInSync = (e: Record<string, unknown>): boolean =>
  e.event === 'state' && e.state === 'idle' && e.inSync === true;

/** Starts `node [nodeArgs] <ferryArgs>`; `ferryArgs` begins with the ferry script path. */
export function startWatchingFerry(ferryArgs: string[], nodeArgs: string[] = []): WatchingFerry {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...ferryArgs], {
    env: { ...process.env, SSH_AUTH_SOCK: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${process.execPath} ${ferryArgs.join(' ')}`);
  const events: TimedEvent[] = [];
  const waiters = new Set<{ pred: (e: TimedEvent) => boolean; resolve: (e: TimedEvent) => void }>();
  let err = '';
  onLines(child.stdout, (line) => {
    const t = performance.now();
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const te = { t, e };
    events.push(te);
    for (const w of [...waiters]) if (w.pred(te)) (waiters.delete(w), w.resolve(te));
  });
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    pid: child.pid,
    startedAt,
    events,
    stderr: () => err,
    waitFor(pred, opts = {}) {
      const after = opts.after ?? 0;
      const match = (te: TimedEvent) => te.t >= after && pred(te.e);
      const past = events.find(match);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const w = {
          pred: match,
          resolve: (te: TimedEvent) => {
            clearTimeout(timer);
            resolve(te);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          const last = events.slice(-3).map((x) => JSON.stringify(x.e).slice(0, 300));
          reject(
            new Error(
              `ferry: timed out after ${opts.timeoutMs ?? 120_000} ms waiting for ${opts.what ?? 'an event'}; last events: ${last.join(' | ')}; stderr: ${err.slice(-1000)}`,
            ),
          );
        }, opts.timeoutMs ?? 120_000);
        waiters.add(w);
        child.once('close', () => {
          if (!waiters.has(w)) return;
          waiters.delete(w);
          clearTimeout(timer);
          reject(
            new Error(
              `ferry exited (code ${child.exitCode}) while waiting for ${opts.what ?? 'an event'}: ${err.slice(-1000)}`,
            ),
          );
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => killTree(child.pid as number, 'SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
