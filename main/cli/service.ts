/**
 * `ferry service install|uninstall`: a systemd unit that runs `ferry daemon --config FILE`,
 * restarted on failure, reloaded (SIGHUP) by `systemctl reload`. A system unit goes to
 * /etc/systemd/system, a user unit (--user) to ~/.config/systemd/user; --unit-dir (or
 * FERRY_SYSTEMD_UNIT_DIR) writes elsewhere, for tests and packagers. Ferry runs nothing of
 * systemctl itself: it prints the commands.
 */
import { mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDaemonConfig } from './daemon-config.ts';

export const UNIT_NAME = 'ferry.service';

export interface ServiceFlags {
  user?: boolean;
  unitDir?: string;
}

export function unitDir(flags: ServiceFlags, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.unitDir) return resolve(flags.unitDir);
  if (env.FERRY_SYSTEMD_UNIT_DIR) return resolve(env.FERRY_SYSTEMD_UNIT_DIR);
  if (flags.user) return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user');
  return '/etc/systemd/system';
}

/**
 * One word of an Exec line, quoted for systemd: `%` and `$` would be specifiers and
 * variables, so they are doubled; quotes and backslashes are escaped inside double quotes.
 */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/[\\"]/g, '\\$&')}"`;
}

/** The command that runs this ferry: the executable itself, or Node and the script. */
export async function ferryCommand(
  argv: readonly string[] = process.argv,
  execPath = process.execPath,
): Promise<string[]> {
  const script = argv[1];
  if (!script) return [execPath];
  const real = await realpath(script).catch(() => resolve(script));
  // A single executable (out/cli/ferry) has itself as argv[1].
  if (real === (await realpath(execPath).catch(() => execPath))) return [execPath];
  return [execPath, real];
}

export function unitText(o: { command: string[]; config: string; user: boolean }): string {
  const exec = [...o.command, 'daemon', '--config', o.config].map(systemdWord).join(' ');
  return [
    '# Written by `ferry service install`; remove with `ferry service uninstall`.',
    '[Unit]',
    'Description=Ferry: keep local folders synced to SSH servers',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    // `systemctl reload ferry` re-reads the config (ferry daemon handles SIGHUP).
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=5',
    // SIGTERM lets transfers in flight finish and the indexes be saved.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=60',
    '',
    '[Install]',
    `WantedBy=${o.user ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n');
}

export async function installService(config: string, flags: ServiceFlags): Promise<{ path: string; next: string[] }> {
  const file = resolve(config);
  await loadDaemonConfig(file); // refuse a config that would not start
  const dir = unitDir(flags);
  const path = join(dir, UNIT_NAME);
  await mkdir(dir, { recursive: true });
  await writeFile(path, unitText({ command: await ferryCommand(), config: file, user: flags.user ?? false }), {
    mode: 0o644,
  });
  const ctl = flags.user ? 'systemctl --user' : 'systemctl';
  return {
    path,
    next: [
      `${ctl} daemon-reload`,
      `${ctl} enable --now ${UNIT_NAME}`,
      `${ctl} status ${UNIT_NAME}        # and: journalctl ${flags.user ? '--user ' : ''}-u ${UNIT_NAME} -f`,
      ...(flags.user ? ['loginctl enable-linger "$USER"   # to keep it running while you are logged out'] : []),
    ],
  };
}

export async function uninstallService(
  flags: ServiceFlags,
): Promise<{ path: string; removed: boolean; next: string[] }> {
  const path = join(unitDir(flags), UNIT_NAME);
  const removed = await rm(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  const ctl = flags.user ? 'systemctl --user' : 'systemctl';
  return {
    path,
    removed,
    next: [`${ctl} disable --now ${UNIT_NAME}   # run this first if it is running`, `${ctl} daemon-reload`],
  };
}
