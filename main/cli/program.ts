/**
 * The `ferry` command line: `ferry sync <local-dir> <target>` and `ferry daemon --config FILE`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadDaemonConfig } from './daemon-config.ts';
import type { ControlFlags } from './control-commands.ts';
import type { FolderConfig } from '../engine/folder-config.ts';
import { SYNC_MODES, type SyncMode } from '../core/plan.ts';
import { folderConfigFrom, UsageError, type FolderOptions } from '../engine/folder-options.ts';
import { humanReporter, jsonReporter, type Reporter } from './reporter.ts';
import { EXIT, runDryRun, runOnce, runWatching } from './run-folders.ts';
import { addRestoreCommand } from './restore-command.ts';
import { canAskOnTerminal, terminalAnswerer } from './terminal-prompt.ts';
import { parseRate } from '../transport/rate-limit.ts';
// Inlined by esbuild in the bundled CLI, so `--version` needs no package.json beside it.
import packageJson from '../../package.json' with { type: 'json' };

const collect = (value: string, previous: string[] = []) => [...previous, value];
const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

const rate = (value: string) => {
  try {
    return parseRate(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const nonNegativeInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number, 0 or more');
  return n;
};

interface SyncFlags {
  once?: boolean;
  dryRun?: boolean;
  mode: SyncMode;
  identity?: string[];
  knownHosts?: string;
  hostKeyPolicy: 'strict' | 'accept-new';
  transport: 'auto' | 'sftp' | 'rsync';
  ignore?: string[];
  stateDir?: string;
  allowMassDelete?: boolean;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  sshConfig?: string;
  deltaThreshold?: number;
  bulkThreshold?: number;
  bulkBytes?: number;
  pollInterval?: number;
  rescanInterval?: number;
  passwordEnv?: string;
  passphraseEnv?: string;
  bwlimit?: number;
  trash?: boolean;
  trashDays?: number;
  afterSync?: string;
  remoteAfterSync?: string;
  hookTimeout?: number;
  canary?: boolean;
}

interface OutputFlags {
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** `names`: several folders share the output, so per-pass lines name theirs; `targets`: so do targets. */
function reporterFor(flags: OutputFlags, names = false, targets = false): Reporter {
  if (flags.json) return jsonReporter();
  const detail = flags.quiet ? 'quiet' : flags.verbose ? 'verbose' : 'normal';
  return humanReporter(process.stderr, { detail, names, targets });
}

const quietOption = () => new Option('-q, --quiet', 'print errors, warnings and halts only').conflicts('verbose');

/** Secrets come from named environment variables, never from argv (visible in `ps`). */
function secretFromEnv(name: string | undefined, what: string): string | undefined {
  if (!name) return undefined;
  const v = process.env[name];
  if (v === undefined) throw new UsageError(`--${what}-env ${name}: that environment variable is not set.`);
  return v;
}

async function syncCommand(local: string, targets: string[], flags: SyncFlags): Promise<number> {
  const reporter = reporterFor(flags, false, targets.length > 1);
  let options: FolderOptions;
  try {
    const password = secretFromEnv(flags.passwordEnv, 'password');
    const passphrase = secretFromEnv(flags.passphraseEnv, 'passphrase');
    const hooks = {
      ...(flags.afterSync !== undefined ? { afterSync: flags.afterSync } : {}),
      ...(flags.remoteAfterSync !== undefined ? { remoteAfterSync: flags.remoteAfterSync } : {}),
    };
    const [target = '', ...more] = targets;
    options = {
      local,
      target,
      ...hooks,
      ...(more.length ? { moreTargets: more.map((t) => ({ target: t, ...hooks })) } : {}),
      ...(flags.canary ? { canary: true } : {}),
      ...(flags.hookTimeout !== undefined ? { hookTimeoutMs: flags.hookTimeout * 1000 } : {}),
      mode: flags.mode,
      hostKeyPolicy: flags.hostKeyPolicy,
      transport: flags.transport,
      ...(flags.identity ? { identity: flags.identity } : {}),
      ...(flags.knownHosts ? { knownHosts: flags.knownHosts } : {}),
      ...(flags.ignore ? { ignore: flags.ignore } : {}),
      ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
      ...(flags.sshConfig ? { sshConfig: flags.sshConfig } : {}),
      ...(flags.deltaThreshold ? { deltaThreshold: flags.deltaThreshold } : {}),
      ...(flags.bulkThreshold ? { bulkThreshold: flags.bulkThreshold } : {}),
      ...(flags.bulkBytes ? { bulkBytes: flags.bulkBytes } : {}),
      ...(flags.pollInterval ? { pollIntervalMs: flags.pollInterval * 1000 } : {}),
      ...(flags.rescanInterval !== undefined ? { rescanIntervalMs: flags.rescanInterval * 1000 } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(flags.bwlimit ? { bwlimitBps: flags.bwlimit } : {}),
      ...(flags.trash ? { trash: true } : {}),
      ...(flags.trashDays !== undefined ? { trashDays: flags.trashDays } : {}),
      allowMassDelete: flags.allowMassDelete ?? false,
    };
    const config = await folderConfigFrom(options);
    // A one-time code is asked on the terminal, as ssh does; without one the login says so.
    const deps = canAskOnTerminal()
      ? { answerPrompts: terminalAnswerer({ input: process.stdin, output: process.stderr }) }
      : {};
    if (flags.dryRun) return await runDryRun(config, reporter, deps);
    return flags.once
      ? await runOnce(config, reporter, deps)
      : await runWatching([config], reporter, { exitOnPermanentError: true, ...deps });
  } catch (err) {
    reporter.error((err as Error).message);
    return err instanceof UsageError ? EXIT.usage : EXIT.failed;
  }
}

/** The daemon config's folders; a folder that cannot be set up names its key (`folders[1]: ...`). */
async function daemonFolders(file: string): Promise<FolderConfig[]> {
  const { folders } = await loadDaemonConfig(file);
  return Promise.all(
    folders.map((f, i) =>
      folderConfigFrom(f).catch((err: unknown) => {
        throw new UsageError(`${file}: folders[${i}]: ${(err as Error).message}`, { cause: err });
      }),
    ),
  );
}

async function daemonCommand(flags: OutputFlags & { config: string; once?: boolean }): Promise<number> {
  const reporter = reporterFor(flags, true);
  try {
    const configs = await daemonFolders(flags.config);
    if (flags.once) {
      let worst: number = EXIT.ok;
      for (const c of configs) worst = Math.max(worst, await runOnce(c, reporter));
      return worst;
    }
    return await runWatching(configs, reporter, { reload: () => daemonFolders(flags.config) });
  } catch (err) {
    reporter.error((err as Error).message);
    return EXIT.usage;
  }
}

export function buildProgram(): Command {
  const program = new Command('ferry')
    .description('Keep local folders continuously synced to servers over SSH.')
    .version(packageJson.version, '-V, --version', 'print the version of ferry')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('sync')
    .description('Push <local-dir> to each <target> and keep it pushed until interrupted.')
    .argument('<local-dir>', 'local folder to sync')
    .argument(
      '<target...>',
      '[user@]host:/abs/path, ssh://[user@]host[:port]/abs/path, or alias:/path from ~/.ssh/config; several: one watcher and one scan feed them all',
    )
    .option('--once', 'reconcile once, then exit: 0 when in sync, non-zero with a summary when not')
    .option(
      '--dry-run',
      'connect, scan and say what a sync would do (and whether it would halt); change nothing anywhere',
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'push keeps server changes as conflict copies; mirror overwrites them; upload never deletes or moves on the server',
      )
        .choices([...SYNC_MODES])
        .default('push'),
    )
    .option('-i, --identity <file>', 'private key file (repeatable)', collect)
    .option('--known-hosts <file>', 'known_hosts file to check and pin host keys in (default ~/.ssh/known_hosts)')
    .addOption(
      new Option('--host-key-policy <policy>', 'strict: only known keys; accept-new: pin a new host on first use')
        .choices(['strict', 'accept-new'])
        .default('strict'),
    )
    .addOption(
      new Option('--transport <t>', 'auto: SFTP, with rsync for large modified files and servers without SFTP')
        .choices(['auto', 'sftp', 'rsync'])
        .default('auto'),
    )
    .option('--ignore <pattern>', 'gitignore-style pattern to leave out (repeatable)', collect)
    .option('--state-dir <dir>', 'where Ferry keeps its index and conflict log (default ~/.local/state/ferry)')
    .option(
      '--allow-mass-delete',
      'do not halt when a sync would delete more than half of the server files, or (mirror mode) server files Ferry never synced',
    )
    .option('--ssh-config <file>', 'ssh config file for host aliases (default ~/.ssh/config)')
    .option(
      '--delta-threshold <bytes>',
      'files at least this large go through rsync: its delta transfer when modified, a whole copy when new (default 48 MiB)',
      positiveInt,
    )
    .option(
      '--bulk-threshold <files>',
      'passes with at least this many uploads send them through one rsync run (default 1000)',
      positiveInt,
    )
    .option(
      '--bulk-bytes <bytes>',
      'so do passes whose uploads add up to this many bytes, over at least 16 files (default 128 MiB)',
      positiveInt,
    )
    .option(
      '--poll-interval <seconds>',
      'full rescan interval when file watching fails, and re-check interval of a halted folder (default 30)',
      positiveInt,
    )
    .option(
      '--rescan-interval <seconds>',
      'full rescan interval while file watching works, a safety net for missed events; 0: never (default 3600)',
      nonNegativeInt,
    )
    .option('--trash', 'keep what Ferry deletes or overwrites on the server in <remote>/.ferry-trash/<UTC stamp>/')
    .option('--trash-days <days>', 'prune trash older than this many days (default 30)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number of days, 0 or more');
      return n;
    })
    .option(
      '--after-sync <cmd>',
      'after a pass that changed a target converged: run /bin/sh -c CMD in the local folder',
    )
    .option(
      '--remote-after-sync <cmd>',
      'the same on each target server, in its remote folder, over the same SSH connection',
    )
    .option('--hook-timeout <seconds>', 'end a command after sync that runs longer (default 60)', positiveInt)
    .option(
      '--canary',
      'each change goes to the first target first; the others get it once it converged and its commands exited 0',
    )
    .option('--bwlimit <rate>', 'keep uploads at or below this rate, bytes per second: 500K, 5M (K = 1024)', rate)
    .option('--password-env <VAR>', 'read the SSH password from this environment variable')
    .option('--passphrase-env <VAR>', 'read the key passphrase from this environment variable')
    .option('--json', 'one JSON object per line on stdout')
    .option('-v, --verbose', 'print every transferred file')
    .addOption(quietOption())
    .action(async (local: string, targets: string[], flags: SyncFlags) => {
      process.exitCode = await syncCommand(local, targets, flags);
    });

  program
    .command('daemon')
    .description('Sync every folder listed in a JSON config file.')
    .requiredOption('--config <file>', 'config file ({"folders": [{"local": "...", "target": "..."}]})')
    .option('--once', 'reconcile every folder once, then exit')
    .option('--json', 'one JSON object per line on stdout')
    .option('-v, --verbose', 'print every transferred file')
    .addOption(quietOption())
    .action(async (flags: OutputFlags & { config: string; once?: boolean }) => {
      process.exitCode = await daemonCommand(flags);
    });
  addControlCommands(program);
  addRestoreCommand(program);
  addServiceCommands(program);
  return program;
}

/** `ferry service install|uninstall`: a systemd unit for `ferry daemon`. */
function addServiceCommands(program: Command): void {
  const service = program.command('service').description('Install or remove a systemd unit that runs ferry daemon.');
  const unitDirOption = (c: Command) =>
    c
      .option('--user', 'a user unit (~/.config/systemd/user) instead of a system unit (/etc/systemd/system)')
      .option('--unit-dir <dir>', 'write the unit here instead (also FERRY_SYSTEMD_UNIT_DIR)');
  unitDirOption(
    service
      .command('install')
      .description('Write ferry.service running ferry daemon --config FILE, restarted on failure.')
      .requiredOption('--config <file>', 'the daemon config the service runs'),
  ).action(async (flags: { config: string; user?: boolean; unitDir?: string }) => {
    const { installService } = await import('./service.ts');
    try {
      const r = await installService(flags.config, flags);
      process.stdout.write(
        `Wrote ${r.path}. To start it now and at every boot:\n${r.next.map((l) => `  ${l}\n`).join('')}`,
      );
    } catch (err) {
      process.stderr.write(`Error: ${(err as Error).message}\n`);
      process.exitCode = EXIT.usage;
    }
  });
  unitDirOption(service.command('uninstall').description('Remove ferry.service.')).action(
    async (flags: { user?: boolean; unitDir?: string }) => {
      const { uninstallService } = await import('./service.ts');
      const r = await uninstallService(flags);
      process.stdout.write(
        `${r.removed ? `Removed ${r.path}.` : `There is no ${r.path}.`} Then:\n${r.next.map((l) => `  ${l}\n`).join('')}`,
      );
    },
  );
}

/** `ferry status|pause|resume|monitor|why`: loaded on use, so `ferry --help` stays quick. */
function addControlCommands(program: Command): void {
  const commands = () => import('./control-commands.ts');
  const where = (c: Command) =>
    c
      .option('--state-dir <dir>', 'the state directory of the Ferry to ask (default ~/.local/state/ferry)')
      .option('--config <file>', "a daemon config: its stateDir, and its folders' ignore patterns");
  where(
    program
      .command('status')
      .description('List the folders of every running Ferry: state, counts, last sync, errors, failed items.')
      .option('--json', 'one JSON object on stdout'),
  ).action(async (flags: ControlFlags) => {
    process.exitCode = await (await commands()).statusCommand(flags);
  });
  for (const op of ['pause', 'resume'] as const)
    where(
      program
        .command(op)
        .description(`${op === 'pause' ? 'Pause' : 'Resume'} a running folder (by local path or id), or all of them.`)
        .argument('[folder]', 'local path or id of the folder; default: every folder')
        .option('--target <name>', 'only this target of the folder: its remote, or its host when that is unique'),
    ).action(async (folder: string | undefined, flags: ControlFlags & { target?: string }) => {
      process.exitCode = await (await commands()).pauseResumeCommand(op, folder, flags);
    });
  where(
    program
      .command('monitor')
      .description('Print each status change of the running folders until Ctrl-C.')
      .option('--json', 'one JSON object per line on stdout'),
  ).action(async (flags: ControlFlags) => {
    process.exitCode = await (await commands()).monitorCommand(flags);
  });
  where(
    program
      .command('why')
      .description('Say why a local path is or is not on the server: synced, ignored, waiting, failed, held.')
      .argument('<path>', 'a file or folder inside a synced folder')
      .option('--json', 'the answer as one JSON object'),
  ).action(async (path: string, flags: ControlFlags) => {
    process.exitCode = await (await commands()).whyCommand(path, flags);
  });
}
