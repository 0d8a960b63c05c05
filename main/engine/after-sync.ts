/**
 * Commands after sync: run once a pass that changed something on a target has converged,
 * never per file. `afterSync` runs locally (`/bin/sh -c CMD` in the local folder);
 * `remoteAfterSync` on the target's server over the same SSH connection, as
 * `cd -- '<remote root>' && CMD` (the root single-quoted, its quotes escaped).
 *
 * Invariants:
 * - File names never reach a command line: the changed paths (uploaded, removed, renamed
 *   to) go on standard input, each followed by a NUL byte; the environment says
 *   FERRY_LOCAL, FERRY_TARGET, FERRY_REMOTE_PATH and FERRY_CHANGED (the count). On the
 *   server the environment is set by `export` before the `cd` (sshd drops most variables a
 *   client sends), so the remote login shell must be a POSIX one (sh, bash, dash, zsh, ksh).
 * - A command still running after the timeout is ended (TERM to its process group, KILL two
 *   seconds later; TERM over the channel and the channel closed on a server).
 * - The local command runs first; the remote one runs only when the local one exited 0.
 * - A command that fails does not undo anything: it is reported (HookReport) and shown.
 */
import { spawn } from 'node:child_process';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { OutputTail, type RemoteExec } from '../transport/ssh-exec.ts';
import type { TargetHooks } from './folder-config.ts';
import type { HookReport } from './status.ts';

export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;
/** How many of a command's last output lines a report keeps. */
export const HOOK_OUTPUT_LINES = 20;

export interface AfterSyncInput {
  hooks: TargetHooks;
  localRoot: string;
  endpoint: SshEndpoint;
  /** The target's name in reports (its `remote`). */
  target: string;
  /** Relative paths changed on the target since the commands last ran. */
  changed: readonly string[];
  timeoutMs: number;
  /** The open connection's exec; absent when the target has no SSH connection Ferry keeps open. */
  exec: RemoteExec | undefined;
}

/** Single-quotes `s` for a POSIX shell: `'` becomes `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** The NUL-terminated list a command reads on standard input. */
export function changedList(paths: readonly string[]): Buffer {
  return Buffer.from(paths.map((p) => `${p}\0`).join(''), 'utf8');
}

/** The server's command line: fixed text, quoted values, then the user's command. */
export function remoteCommandLine(command: string, env: Record<string, string>, remoteRoot: string): string {
  const exports = Object.entries(env)
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(' ');
  return `export ${exports}; cd -- ${shellQuote(remoteRoot)} && ${command}`;
}

/** Runs the target's commands in order; stops after the first that fails. */
export async function runAfterSync(input: AfterSyncInput): Promise<HookReport[]> {
  const env = {
    FERRY_LOCAL: input.localRoot,
    FERRY_TARGET: input.target,
    FERRY_REMOTE_PATH: input.endpoint.remoteRoot,
    FERRY_CHANGED: String(input.changed.length),
  };
  const stdin = changedList(input.changed);
  const reports: HookReport[] = [];
  const base = { target: input.target, changed: input.changed.length };
  if (input.hooks.afterSync !== undefined) {
    const command = input.hooks.afterSync;
    const started = Date.now();
    const r = await runLocal(command, input.localRoot, env, stdin, input.timeoutMs).catch((err: unknown) => ({
      error: (err as Error).message,
    }));
    reports.push(report({ ...base, where: 'local', command }, r, started));
  }
  if (input.hooks.remoteAfterSync !== undefined && reports.every((r) => r.ok)) {
    const command = input.hooks.remoteAfterSync;
    const started = Date.now();
    const r = input.exec
      ? await input
          .exec(remoteCommandLine(command, env, input.endpoint.remoteRoot), { stdin, timeoutMs: input.timeoutMs })
          .catch((err: unknown) => ({ error: (err as Error).message }))
      : {
          error:
            'this target has no open SSH connection to run it over (rsync-only targets cannot run remote commands)',
        };
    reports.push(report({ ...base, where: 'remote', command }, r, started));
  }
  return reports;
}

type Outcome = { code: number | null; signal?: string; timedOut: boolean; output: Buffer } | { error: string };

function report(
  base: Pick<HookReport, 'target' | 'where' | 'command' | 'changed'>,
  r: Outcome,
  started: number,
): HookReport {
  const durationMs = Date.now() - started;
  const at = new Date().toISOString();
  if ('error' in r) return { ...base, ok: false, exitCode: null, error: r.error, durationMs, output: [], at };
  return {
    ...base,
    ok: r.code === 0 && !r.timedOut,
    exitCode: r.code,
    ...(r.signal ? { signal: r.signal } : {}),
    ...(r.timedOut ? { timedOut: true } : {}),
    durationMs,
    output: lastLines(r.output),
    at,
  };
}

function lastLines(output: Buffer): string[] {
  const lines = output.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-HOOK_OUTPUT_LINES);
}

function runLocal(
  command: string,
  cwd: string,
  env: Record<string, string>,
  stdin: Buffer,
  timeoutMs: number,
): Promise<{ code: number | null; signal?: string; timedOut: boolean; output: Buffer }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so the timeout ends what it started too.
    const child = spawn('/bin/sh', ['-c', command], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const tail = new OutputTail();
    let timedOut = false;
    let kill: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      kill = setTimeout(() => signalGroup('SIGKILL'), 2000);
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => tail.add(d));
    child.stderr.on('data', (d: Buffer) => tail.add(d));
    // A command that does not read its input closes the pipe early: not an error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (kill) clearTimeout(kill);
      resolve({ code: timedOut ? null : code, ...(signal ? { signal } : {}), timedOut, output: tail.value });
    });
  });
}
