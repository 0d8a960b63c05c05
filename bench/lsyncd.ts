/**
 * lsyncd (`default.rsyncssh`) watching a local tree and pushing it to the loopback sshd, for
 * the latency and idle-cost comparisons. Runs in the foreground (`nodaemon`), logs to a file
 * the suite reads to learn when its start-up rsync has finished.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.ts';
import { sshArgs, sshCommandLine } from './peers.ts';
import { killTree, sleep } from './proc.ts';

export interface RunningLsyncd {
  pid: number;
  child: ChildProcess;
  /** ms from spawn to "Startup of ... finished" (its initial rsync of the whole tree). */
  startupMs: number;
  stop(): Promise<void>;
}

/** A Lua string literal (paths from our own temp dirs; quotes and backslashes escaped anyway). */
const lua = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * Starts lsyncd on `source` -> `targetDir` with the given `delay` (seconds; lsyncd's default is
 * 15) and resolves once its start-up sync has finished. `scratch` receives the config and log.
 */
export async function startLsyncd(
  ctx: BenchContext,
  opts: { source: string; targetDir: string; delay: number; scratch: string; timeoutMs?: number },
): Promise<RunningLsyncd> {
  const bin = ctx.tools.get('lsyncd');
  if (!bin) throw new Error('lsyncd is not installed');
  const log = join(opts.scratch, 'lsyncd.log');
  const config = join(opts.scratch, 'lsyncd.conf.lua');
  // rsync reaches the server through `rsh` (our full ssh command line); the ssh that
  // rsyncssh runs itself for moves and deletes gets the same options through `_extra`.
  writeFileSync(
    config,
    [
      'settings {',
      `  logfile = ${lua(log)},`,
      `  statusFile = ${lua(join(opts.scratch, 'lsyncd.status'))},`,
      '  nodaemon = true,',
      '}',
      'sync {',
      '  default.rsyncssh,',
      `  source = ${lua(opts.source)},`,
      `  host = ${lua(`${ctx.sshd.user}@127.0.0.1`)},`,
      `  targetdir = ${lua(opts.targetDir)},`,
      `  delay = ${opts.delay},`,
      `  rsync = { binary = ${lua(ctx.tools.get('rsync') ?? '/usr/bin/rsync')}, archive = true, rsh = ${lua(sshCommandLine(ctx.sshd))} },`,
      `  ssh = { _extra = { ${sshArgs(ctx.sshd).map(lua).join(', ')} } },`,
      '}',
      '',
    ].join('\n'),
  );
  // A log left by an earlier start in the same scratch directory would say "finished" at once.
  rmSync(log, { force: true });
  const t0 = performance.now();
  const child = spawn(bin, [config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SSH_AUTH_SOCK: '' },
  });
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5000)));
  const pid = child.pid;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('close', r));
    killTree(pid, 'SIGTERM');
    const timer = setTimeout(() => killTree(pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = t0 + (opts.timeoutMs ?? 300_000);
  for (;;) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (/Startup of .* finished/.test(text)) return { pid, child, startupMs: performance.now() - t0, stop };
    const failed = child.exitCode !== null || /Error|Failure/.test(text);
    if (failed || performance.now() > deadline) {
      await stop();
      throw new Error(
        `lsyncd did not finish its start-up sync of ${opts.source} (${failed ? 'it failed' : 'timed out'}): ${text.slice(-1500)} ${stderr}`,
      );
    }
    await sleep(20);
  }
}
