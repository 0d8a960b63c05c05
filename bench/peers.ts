/**
 * Command lines of Ferry and its peers against the loopback sshd. Every ssh-based peer uses
 * the harness key and known_hosts with StrictHostKeyChecking=yes, BatchMode and `-F /dev/null`,
 * so nothing of the user's own ssh set-up plays a part.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestSshd } from '../test/harness/sshd.ts';
import { FERRY_BIN, sshFlags, targetOf } from '../test/harness/trees.ts';
import type { BenchContext } from './context.ts';

/** ssh options shared by ssh, scp and sftp (port flag differs: ssh -p, scp/sftp -P). */
function commonSshOptions(sshd: TestSshd): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    sshd.clientKeyPath,
    '-o',
    `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
  ];
}

export function sshArgs(sshd: TestSshd): string[] {
  return [...commonSshOptions(sshd), '-p', String(sshd.port)];
}

/** The ssh command as one string, for `rsync -e` and lsyncd (paths hold no spaces: our temp dirs). */
export function sshCommandLine(sshd: TestSshd): string {
  return ['ssh', ...sshArgs(sshd)].join(' ');
}

export function remoteSpec(sshd: TestSshd, path: string): string {
  return `${sshd.user}@127.0.0.1:${path}`;
}

export interface Command {
  cmd: string;
  argv: string[];
}

/** `ferry sync --once` (default transport, auto) of `local` into `remoteDir`. */
export function ferryOnce(
  ctx: BenchContext,
  local: string,
  remoteDir: string,
  stateDir: string,
  extra: string[] = [],
): Command {
  return {
    cmd: process.execPath,
    argv: [
      FERRY_BIN,
      'sync',
      '--once',
      ...extra,
      ...sshFlags(ctx.sshd, stateDir),
      local,
      targetOf(ctx.sshd, remoteDir),
    ],
  };
}

/** `ferry sync --json` (watch mode) arguments, without the node executable. */
export function ferryWatchArgs(ctx: BenchContext, local: string, remoteDir: string, stateDir: string): string[] {
  return [FERRY_BIN, 'sync', '--json', ...sshFlags(ctx.sshd, stateDir), local, targetOf(ctx.sshd, remoteDir)];
}

/** `rsync -a -e ssh src/ host:dest/` (`extra` e.g. ['--delete']). */
export function rsyncPush(ctx: BenchContext, src: string, dest: string, extra: string[] = []): Command {
  return {
    cmd: ctx.tools.get('rsync') ?? 'rsync',
    argv: ['-a', ...extra, '-e', sshCommandLine(ctx.sshd), `${src}/`, `${remoteSpec(ctx.sshd, dest)}/`],
  };
}

/** `rsync -a -e ssh file host:destDir/` for one file. */
export function rsyncOneFile(ctx: BenchContext, file: string, destDir: string): Command {
  return {
    cmd: ctx.tools.get('rsync') ?? 'rsync',
    argv: ['-a', '-e', sshCommandLine(ctx.sshd), file, `${remoteSpec(ctx.sshd, destDir)}/`],
  };
}

/** `scp -r src host:dest` (dest must not exist: it becomes the copy of src). */
export function scpPush(ctx: BenchContext, src: string, dest: string): Command {
  return {
    cmd: ctx.tools.get('scp') ?? 'scp',
    argv: [...commonSshOptions(ctx.sshd), '-P', String(ctx.sshd.port), '-q', '-r', src, remoteSpec(ctx.sshd, dest)],
  };
}

/** `sftp -b batch` with `put -r src dest` (the batch file is written into `scratch`). */
export function sftpPush(ctx: BenchContext, src: string, dest: string, scratch: string): Command {
  const batch = join(scratch, 'sftp-batch.txt');
  writeFileSync(batch, `put -r "${src}" "${dest}"\n`);
  return {
    cmd: ctx.tools.get('sftp') ?? 'sftp',
    argv: [...commonSshOptions(ctx.sshd), '-P', String(ctx.sshd.port), '-q', '-b', batch, `${ctx.sshd.user}@127.0.0.1`],
  };
}

/** `cp -a src dest` on the same machine: the floor no network tool can beat. */
export function cpCopy(src: string, dest: string): Command {
  return { cmd: 'cp', argv: ['-a', src, dest] };
}
