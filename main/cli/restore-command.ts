/** `ferry restore`: put a version from the server trash (`--trash`) back, on the server and locally. */
import { relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { folderConfigFrom, UsageError } from '../engine/folder-options.ts';
import { restoreFromTrash, trashVersions } from '../engine/restore.ts';
import { EXIT } from './run-folders.ts';

interface RestoreFlags {
  at?: string;
  list?: boolean;
  identity?: string[];
  knownHosts?: string;
  hostKeyPolicy?: 'strict' | 'accept-new';
  stateDir?: string;
  sshConfig?: string;
  passwordEnv?: string;
  passphraseEnv?: string;
  json?: boolean;
}

export function addRestoreCommand(program: Command): void {
  program
    .command('restore')
    .description('Put a version of <path> kept in the server trash (--trash) back, on the server and locally.')
    .argument('<local-dir>', 'the synced local folder')
    .argument('<target>', 'its target, as given to ferry sync')
    .argument('<path>', 'the file, relative to <local-dir> (or a path inside it)')
    .option('--at <stamp>', 'the trash stamp to restore from (YYYYMMDD-HHMMSS, UTC; default: the newest)')
    .option('--list', 'list the stamps that hold a version of <path>, newest last')
    .option('-i, --identity <file>', 'private key file (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--known-hosts <file>', 'known_hosts file (default ~/.ssh/known_hosts)')
    .addOption(new Option('--host-key-policy <policy>').choices(['strict', 'accept-new']).default('strict'))
    .option('--state-dir <dir>', 'Ferry state directory')
    .option('--ssh-config <file>', 'ssh config file for host aliases')
    .option('--password-env <VAR>', 'read the SSH password from this environment variable')
    .option('--passphrase-env <VAR>', 'read the key passphrase from this environment variable')
    .option('--json', 'one JSON object on stdout')
    .action(async (local: string, target: string, path: string, flags: RestoreFlags) => {
      process.exitCode = await restoreCommand(local, target, path, flags);
    });
}

async function restoreCommand(local: string, target: string, path: string, flags: RestoreFlags): Promise<number> {
  try {
    const secret = (name: string | undefined, what: string) => {
      if (!name) return undefined;
      const v = process.env[name];
      if (v === undefined) throw new UsageError(`--${what}-env ${name}: that environment variable is not set.`);
      return v;
    };
    const password = secret(flags.passwordEnv, 'password');
    const passphrase = secret(flags.passphraseEnv, 'passphrase');
    const config = await folderConfigFrom({
      local,
      target,
      ...(flags.identity ? { identity: flags.identity } : {}),
      ...(flags.knownHosts ? { knownHosts: flags.knownHosts } : {}),
      ...(flags.hostKeyPolicy ? { hostKeyPolicy: flags.hostKeyPolicy } : {}),
      ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
      ...(flags.sshConfig ? { sshConfig: flags.sshConfig } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
    });
    const rel = relative(config.localRoot, resolve(config.localRoot, path)).split('\\').join('/');
    if (rel.startsWith('..')) throw new UsageError(`${path} is not inside ${config.localRoot}.`);
    if (flags.list) {
      const stamps = await trashVersions(config, rel);
      if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'trash', path: rel, stamps })}\n`);
      else process.stderr.write(stamps.length ? `${stamps.join('\n')}\n` : `No version of ${rel} in the trash.\n`);
      return EXIT.ok;
    }
    const r = await restoreFromTrash(config, rel, flags.at ? { at: flags.at } : {});
    if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'restored', path: rel, ...r })}\n`);
    else
      process.stderr.write(
        [
          `Restored ${rel} from the trash (${r.stamp}) on the server and locally.`,
          ...(r.serverPreviousKeptAs ? [`The server's version from before is in ${r.serverPreviousKeptAs}.`] : []),
          ...(r.localKeptAs ? [`The local version from before is kept as ${r.localKeptAs}.`] : []),
        ].join(' ') + '\n',
      );
    return EXIT.ok;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return err instanceof UsageError ? EXIT.usage : EXIT.failed;
  }
}
