/**
 * Runs rsync-over-ssh processes for the rsync transport and reads what they report.
 *
 * Names travel only on rsync's stdin (`--files-from=- --from0`) and inside its protocol
 * (`-s`, so no remote shell ever sees one). Each name goes as `./name`: rsync skips
 * `--files-from` entries that begin with `#` or `;` (comments, even with `--from0`) and empty
 * ones, and removes a leading `/`; behind `./` every name is taken as it is (rsync drops the
 * `./` again, in its reports too). The remote root is the only path on a command
 * line: it goes through rsync's remote glob expansion (which `-s` moves from the shell into
 * rsync), so components holding `*?[` are backslash-escaped for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { ASIDE_PREFIX, TRASH_DIR } from '../core/temp-name.ts';
import type { Entry } from '../core/tree.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { itemOfMessage, OUT_FORMAT, parseRecord, readableLine, type RsyncRecord } from './rsync-list-parser.ts';
import { phraseServerError } from './rsync-messages.ts';
import { withStage } from './rsync-stage.ts';
import { rsyncBwlimitArg } from './rate-limit.ts';
import { jumpConfigFor, rsyncRshString, sshArgsFor } from './ssh-command.ts';
import { classifyError, type TransferErrorCode } from './transport.ts';

/**
 * AES-GCM first, as Ferry's own SSH connection prefers it: with AES-NI it moves bulk data
 * about 30% faster than OpenSSH's default chacha20-poly1305 (one new 1 GiB file on loopback:
 * 2.7-4.2 s vs 3.9-6.4 s, interleaved). The rest keeps every other modern cipher OpenSSH has
 * offered since 6.5, so a server that allows only those still connects.
 */
const SSH_CIPHERS =
  'aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr';

/** rsync exit codes after which the run's items are judged one by one (partial transfer, file I/O, file selection). */
const PER_ITEM_EXIT_CODES = new Set([0, 3, 11, 23, 24]);
/** Messages that name a path which simply is not there (a missing scope, an already removed item). */
export const ABSENT = /(No such file or directory \(2\)|Not a directory \(20\))/;

export interface RunOutput {
  code: number;
  /** stderr, escapes decoded. */
  lines: string[];
}

export interface PushOutcome {
  code: number;
  /** Item index -> the first rsync message about it, and whether it came from the local side. */
  errors: Map<number, { message: string; local: boolean; aboutBackup?: boolean }>;
  /** Messages about no item in particular. */
  general: string[];
}

/** An item's error from an rsync message, classified unless `code` says what it is. */
export function failure(message: string, code?: TransferErrorCode): { error: string; errorCode: TransferErrorCode } {
  const c = classifyError({ message });
  return { error: message, errorCode: code ?? c.code };
}

export interface RsyncRunnerOptions {
  bwlimitBps?: number | undefined;
  /**
   * Test hook: awaited right before each rsync process starts, with its arguments and the
   * relative names it will read (as given, without the `./`). Lets a test edit the server
   * inside the window a run covers.
   */
  beforeRun?: ((args: readonly string[], files: readonly string[]) => void | Promise<void>) | undefined;
}

/** The rsync processes of one transport: started, listed, stopped on close. */
export class RsyncRunner {
  readonly endpoint: SshEndpoint;
  /** The server, for messages. */
  readonly where: string;
  readonly #remoteSpec: string;
  readonly #children = new Set<ChildProcess>();
  #closed = false;
  #jumpDir: string | undefined;
  #rsh: Promise<string> | undefined;
  /** `--bwlimit` for push runs, when uploads are limited. */
  readonly #bwlimit: string[];
  readonly #beforeRun: RsyncRunnerOptions['beforeRun'];

  constructor(endpoint: SshEndpoint, opts: RsyncRunnerOptions = {}) {
    this.#bwlimit = opts.bwlimitBps ? [rsyncBwlimitArg(opts.bwlimitBps)] : [];
    this.#beforeRun = opts.beforeRun;
    // Validate up front (password-only endpoints, unsafe paths) so the caller learns at once.
    sshArgsFor(endpoint, endpoint.jump?.length ? '/tmp/ferry-ssh-config' : undefined);
    jumpConfigFor(endpoint);
    this.endpoint = endpoint;
    this.where = `${endpoint.displayName} (${endpoint.user}@${endpoint.host}:${endpoint.port})`;
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    this.#remoteSpec = `${host}:${globEscapedRoot(endpoint.remoteRoot)}`;
    const root = posix.normalize(endpoint.remoteRoot).replace(/\/+$/, '') || '/';
    this.#serverPath = (rel) => (rel === '' ? root : root === '/' ? `/${rel}` : `${root}/${rel}`);
  }

  /** The server's path of a relative path, for messages. */
  readonly #serverPath: (rel: string) => string;

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(): void {
    if (this.#closed) throw new Error(`The rsync transport to ${this.where} is closed.`);
  }

  /** Stops every running rsync (and its ssh) and removes the jump-host config. */
  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#children];
    await Promise.all(running.map((c) => stopProcessGroup(c)));
    if (this.#jumpDir) await rm(this.#jumpDir, { recursive: true, force: true });
  }

  #rshString(): Promise<string> {
    const endpoint = this.endpoint;
    return (this.#rsh ??= (async () => {
      let configPath: string | undefined;
      if (endpoint.jump?.length) {
        this.#jumpDir = await mkdtemp(join(shellSafeTmp(), 'ferry-ssh-'));
        configPath = join(this.#jumpDir, 'config');
        await writeFile(configPath, jumpConfigFor(endpoint), { mode: 0o600 });
      }
      return rsyncRshString(['ssh', ...sshArgsFor(endpoint, configPath), '-o', `Ciphers ${SSH_CIPHERS}`]);
    })());
  }

  /** Runs rsync with `files` on stdin; throws only when rsync could not run at all. */
  async run(args: string[], files: readonly string[], onRecord?: (r: RsyncRecord) => void): Promise<RunOutput> {
    this.assertOpen();
    const rshString = await this.#rshString();
    this.assertOpen(); // close() may have run while the ssh config was being written
    const fullArgs = [
      '-s',
      '--no-implied-dirs',
      '--files-from=-',
      '--from0',
      `--rsh=${rshString}`,
      `--out-format=${OUT_FORMAT}`,
      '--timeout=300',
      ...args,
    ];
    await this.#beforeRun?.(args, files);
    this.assertOpen();
    const child = spawn('rsync', fullArgs, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group, so close() stops rsync and its ssh together
      env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
    });
    this.#children.add(child);
    let partial = '';
    let stderr = '';
    child.stdout.setEncoding('latin1');
    child.stderr.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const record = parseRecord(line);
        if (record && onRecord) onRecord(record);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 1_000_000) stderr += chunk;
    });
    child.stdin.on('error', () => {
      /* rsync exited before reading all names; its exit status tells why */
    });
    child.stdin.end(Buffer.from(files.map((f) => `${filesFromEntry(f)}\0`).join(''), 'utf8'));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', (err) => reject(err));
      child.once('close', (c, s) => resolve([c, s]));
    }).catch((err: NodeJS.ErrnoException) => {
      this.#children.delete(child);
      throw new Error(
        err.code === 'ENOENT'
          ? 'rsync is not installed on this computer (or not on the PATH). Install rsync, or use the SFTP transport.'
          : `Could not start rsync for ${this.where}: ${err.message}`,
        { cause: err },
      );
    });
    this.#children.delete(child);
    if (partial) {
      const record = parseRecord(partial);
      if (record && onRecord) onRecord(record);
    }
    const lines = stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(readableLine);
    if (this.#closed) throw new Error(`The rsync transport to ${this.where} was closed while rsync was running.`);
    if (code === null) throw this.transportError(`rsync was killed by ${signal ?? 'a signal'}`, lines);
    return { code, lines };
  }

  /** A dead-transport error with a sentence the user can act on. */
  transportError(what: string, lines: string[]): Error {
    const { endpoint, where } = this;
    const text = lines.join('\n');
    const said = text ? ` ssh/rsync said: ${text}` : '';
    let msg: string;
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(text))
      msg = `The host key of ${where} has changed and no longer matches ${endpoint.knownHostsPath}. This can mean the server was reinstalled, or that someone is intercepting the connection. If you trust the new key, remove the old entry from that known_hosts file and connect again.`;
    else if (/host key is known for|Host key verification failed/i.test(text))
      msg = `The host key of ${where} could not be verified against ${endpoint.knownHostsPath}. Check that file: connect once over SFTP so Ferry records the key, or fix or remove an outdated entry.`;
    else if (/Permission denied \((publickey|password|keyboard)/i.test(text))
      msg = `${where}${endpoint.jump?.length ? ' or one of its jump hosts' : ''} refused the SSH key${endpoint.identityFiles.length ? `s (${endpoint.identityFiles.join(', ')})` : 's from the agent'}. Check that the key is authorized for ${endpoint.user} on the server, and that a passphrase-protected key is loaded into ssh-agent.`;
    else if (/(rsync|rsync-path).*(command not found|not found)|No such file or directory.*rsync/i.test(text))
      msg = `rsync is not installed on ${where} (or not on the PATH of non-interactive logins). Install rsync there, or use the SFTP transport.`;
    else if (
      /Could not resolve hostname|Connection refused|Connection timed out|No route to host|Network is unreachable|connect to host/i.test(
        text,
      )
    )
      msg = `Could not connect to ${where}. Check that the server is up and reachable.`;
    else msg = `The rsync connection to ${where} failed (${what}).`;
    return new Error(`${msg}${said}`, { cause: new Error(`${what}\n${text}`) });
  }

  /**
   * Lists `paths` on the server (recursively or not); missing paths are simply absent.
   * Returns null when the remote root itself does not exist.
   */
  async list(paths: readonly string[], recursive: boolean): Promise<Map<string, Entry> | null> {
    const { endpoint, where } = this;
    const found = new Map<string, Entry>();
    if (paths.length === 0) return found;
    return await withStage(async (stage) => {
      const out = await this.run(
        [
          '--dry-run',
          '-l',
          '--ignore-missing-args',
          ...(recursive ? ['-r'] : []),
          this.#remoteSpec,
          join(stage, 'listing'),
        ],
        paths,
        (r) => {
          if (r.entry) found.set(r.path, r.entry);
        },
      );
      const rootMissing = out.lines.find((l) => /change_dir "/.test(l) && ABSENT.test(l));
      if (rootMissing !== undefined && out.code !== 0) {
        if (/Not a directory/.test(rootMissing))
          throw new Error(
            `The remote folder ${endpoint.remoteRoot} on ${where} is not a directory. Choose another remote folder.`,
          );
        return null;
      }
      if (out.code === 0 || out.code === 24) return found;
      if (out.code === 23) {
        // A missing path is fine; so is the broken pipe rsync's local receiver reports when
        // an errored run has nothing to receive (seen with rsync 3.5 on dry runs).
        const problems = out.lines.filter(
          (l) =>
            /^rsync:/.test(l) &&
            !(/link_stat "/.test(l) && ABSENT.test(l)) &&
            !/^rsync: \[Receiver\] write error: Broken pipe/.test(l),
        );
        if (problems.length === 0) return found;
        throw new Error(
          `Could not list ${endpoint.remoteRoot} on ${where} completely: ${problems.join(' ')} Fix the permissions on the server so the whole folder is readable.`,
        );
      }
      throw this.transportError(`rsync exited with code ${out.code} while listing`, out.lines);
    });
  }

  /** One push run from `source` (a local directory) to the remote root; throws when the transport is dead. */
  async push(
    source: string,
    paths: readonly string[],
    args: string[],
    onRecord?: (r: RsyncRecord) => void,
  ): Promise<PushOutcome> {
    const out = await this.run(
      [...this.#bwlimit, ...args, `${source.replace(/\/+$/, '')}/`, this.#remoteSpec],
      paths,
      onRecord,
    );
    return this.#outcome(out, paths, source, '[sender]');
  }

  /** One pull run of `paths` from the remote root into `dest` (a local directory); throws when the transport is dead. */
  async pull(
    dest: string,
    paths: readonly string[],
    args: string[],
    onRecord?: (r: RsyncRecord) => void,
  ): Promise<PushOutcome> {
    const out = await this.run([...args, this.#remoteSpec, `${dest.replace(/\/+$/, '')}/`], paths, onRecord);
    return this.#outcome(out, paths, dest, '[receiver]');
  }

  /** A run's messages, each given to the item it is about; server-side ones phrased as SFTP's (rsync-messages.ts). */
  #outcome(out: RunOutput, paths: readonly string[], localDir: string, localRole: string): PushOutcome {
    if (!PER_ITEM_EXIT_CODES.has(out.code)) throw this.transportError(`rsync exited with code ${out.code}`, out.lines);
    const errors = new Map<number, { message: string; local: boolean; aboutBackup?: boolean }>();
    const general: string[] = [];
    const localPrefix = `"${localDir.replace(/\/+$/, '')}/`;
    for (const line of out.lines) {
      if (/^rsync (error|warning):/.test(line) || /^default_perms_for_dir:/.test(line)) continue;
      const i = itemOfMessage(line, paths);
      // A line about rsync's backup of the item (`.ferry-aside-rsync-*/...`, `.ferry-trash/...`)
      // only when nothing better says why it failed.
      const aboutBackup = line.includes(ASIDE_PREFIX) || line.includes(`${TRASH_DIR}/`);
      if (i < 0) general.push(line);
      else if (!errors.has(i) || (errors.get(i)?.aboutBackup && !aboutBackup)) {
        const local = line.includes(localRole) || line.includes(localPrefix) || /^file has vanished/.test(line);
        const item = paths[i] as string;
        errors.set(i, { message: local ? line : phraseServerError(line, item, this.#serverPath), local, aboutBackup });
      }
    }
    if (out.code !== 0 && general.length === 0)
      general.push(out.lines.find((l) => /^rsync (error|warning):/.test(l)) ?? `rsync exited with code ${out.code}`);
    return { code: out.code, errors, general };
  }
}

/** A `--files-from` entry for a relative path: `./path` (see the top of this file), `.` for the root. */
export function filesFromEntry(path: string): string {
  return path === '' || path === '.' ? '.' : `./${path}`;
}

/**
 * The remote root as rsync's remote glob expansion needs it: components with `*`, `?` or
 * `[` are matched as patterns (backslash escapes), all others are taken literally.
 */
export function globEscapedRoot(root: string): string {
  const trimmed = root.length > 1 ? root.replace(/\/+$/, '') : root;
  const escaped = trimmed
    .split('/')
    .map((c) => (/[*?[]/.test(c) ? c.replace(/[\\*?[\]]/g, '\\$&') : c))
    .join('/');
  return escaped.endsWith('/') ? escaped : `${escaped}/`;
}

/** A temp directory whose path can pass through ssh's ProxyJump shell command unquoted. */
function shellSafeTmp(): string {
  const t = tmpdir();
  return /^[A-Za-z0-9_./-]+$/.test(t) ? t : '/tmp';
}

/** SIGTERM to the child's process group (rsync and its ssh), SIGKILL if it lingers. */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGKILL');
    await exited;
  }
}
