/**
 * RemoteTransport over rsync-over-ssh subprocesses, for servers without SFTP or for speed.
 *
 * Every batch call is ONE rsync process (plus at most one listing run to verify results
 * when rsync reported trouble); names travel only on rsync's stdin (`--files-from=-
 * --from0`) and inside its protocol (`-s`, so no remote shell ever sees one). The remote
 * root is the only path on a command line: it goes through rsync's remote glob expansion
 * (which `-s` moves from the shell into rsync), so components holding `*?[` are
 * backslash-escaped for it; if such a root does not exist, rsync would take the escaped
 * text literally, so a root with wildcard characters must exist before anything is pushed.
 *
 * Semantics that differ from SFTP, all deliberate:
 * - `--no-implied-dirs` everywhere: parents of an item are never touched (no mode/time
 *   changes, no file replaced by a directory); missing parents are created with default
 *   permissions. Like SFTP, a parent directory replaced on the server by a symlink after
 *   the engine's scan would be followed.
 * - `mkdir` also sets the mode of a directory that already exists; a non-directory at the
 *   path is replaced by rsync (SFTP would fail).
 * - `rename` and `setAttributes` are unavailable (error results): rsync cannot move a file
 *   on the server, and cannot change a file's attributes without sending content. The
 *   engine re-uploads instead (an upload applies mode and mtime; `mkdir` fixes a
 *   directory's mode).
 * - rsync's receiver writes each file to `.<name>.XXXXXX` next to it and renames it into
 *   place (atomic); a killed run may leave such a file, which is not Ferry's TEMP_PREFIX and
 *   so is not reported in `tempFiles`.
 * - Listing needs a whole-tree answer: any listing error other than a missing scope (for
 *   example an unreadable directory) makes `scan` throw.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Stats } from 'node:fs';
import { hashFile } from '../core/hash-file.ts';
import { mapLimit } from '../core/map-limit.ts';
import { TEMP_PREFIX } from '../core/temp-name.ts';
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, FileEntry, Mode } from '../core/tree.ts';
import {
  ancestorsOf,
  baseName,
  comparePaths,
  isSafeRelPath,
  isWithin,
  outermost,
  parentOf,
  sameSecond,
} from '../core/tree.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { itemOfMessage, OUT_FORMAT, parseRecord, readableLine, type RsyncRecord } from './rsync-list-parser.ts';
import { jumpConfigFor, rsyncRshString, sshArgsFor } from './ssh-command.ts';
import {
  classifyError,
  type ItemResult,
  type RemoteScan,
  type RemoteTransport,
  type TransferErrorCode,
  type TransferProgress,
  type UploadItem,
  type UploadResult,
} from './transport.ts';

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
const CONFLICT_STAMP = /\.ferry-conflict-(\d{8}-\d{6}(?:-\d+)?)/;
/** Messages that name a path which simply is not there (a missing scope, an already removed item). */
const ABSENT = /(No such file or directory \(2\)|Not a directory \(20\))/;

interface RunOutput {
  code: number;
  /** stderr, escapes decoded. */
  lines: string[];
}

interface PushOutcome {
  code: number;
  /** Item index -> the first rsync message about it, and whether it came from the local side. */
  errors: Map<number, { message: string; local: boolean }>;
  /** Messages about no item in particular. */
  general: string[];
}

/**
 * @param localRoot absolute local folder the upload items' `localPath`s lie in; rsync sends
 *   from there by relative path (an item whose localPath lies elsewhere is sent from the
 *   folder its localPath implies).
 */
export function createRsyncTransport(endpoint: SshEndpoint, localRoot: string): RemoteTransport {
  // Validate up front (password-only endpoints, unsafe paths) so the caller learns at once.
  sshArgsFor(endpoint, endpoint.jump?.length ? '/tmp/ferry-ssh-config' : undefined);
  jumpConfigFor(endpoint);

  const children = new Set<ChildProcess>();
  let closed = false;
  let jumpDir: string | undefined;
  let rshPromise: Promise<string> | undefined;
  const where = `${endpoint.displayName} (${endpoint.user}@${endpoint.host}:${endpoint.port})`;
  const remoteSpec = `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${globEscapedRoot(endpoint.remoteRoot)}`;

  const rsh = (): Promise<string> =>
    (rshPromise ??= (async () => {
      let configPath: string | undefined;
      if (endpoint.jump?.length) {
        jumpDir = await mkdtemp(join(shellSafeTmp(), 'ferry-ssh-'));
        configPath = join(jumpDir, 'config');
        await writeFile(configPath, jumpConfigFor(endpoint), { mode: 0o600 });
      }
      return rsyncRshString(['ssh', ...sshArgsFor(endpoint, configPath), '-o', `Ciphers ${SSH_CIPHERS}`]);
    })());

  const assertOpen = () => {
    if (closed) throw new Error(`The rsync transport to ${where} is closed.`);
  };

  /** Runs rsync with `files` on stdin; throws only when rsync could not run at all. */
  const run = async (
    args: string[],
    files: readonly string[],
    onRecord?: (r: RsyncRecord) => void,
  ): Promise<RunOutput> => {
    assertOpen();
    const rshString = await rsh();
    assertOpen(); // close() may have run while the ssh config was being written
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
    const child = spawn('rsync', fullArgs, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group, so close() stops rsync and its ssh together
      env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
    });
    children.add(child);
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
    child.stdin.end(Buffer.from(files.map((f) => `${f}\0`).join(''), 'utf8'));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', (err) => reject(err));
      child.once('close', (c, s) => resolve([c, s]));
    }).catch((err: NodeJS.ErrnoException) => {
      children.delete(child);
      throw new Error(
        err.code === 'ENOENT'
          ? 'rsync is not installed on this computer (or not on the PATH). Install rsync, or use the SFTP transport.'
          : `Could not start rsync for ${where}: ${err.message}`,
        { cause: err },
      );
    });
    children.delete(child);
    if (partial) {
      const record = parseRecord(partial);
      if (record && onRecord) onRecord(record);
    }
    const lines = stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(readableLine);
    if (closed) throw new Error(`The rsync transport to ${where} was closed while rsync was running.`);
    if (code === null) throw transportError(`rsync was killed by ${signal ?? 'a signal'}`, lines);
    return { code, lines };
  };

  /** A dead-transport error with a sentence the user can act on. */
  const transportError = (what: string, lines: string[]): Error => {
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
  };

  const withStage = async <T>(fn: (dir: string) => Promise<T>): Promise<T> => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rsync-'));
    try {
      return await fn(dir);
    } finally {
      await removeStage(dir);
    }
  };

  /**
   * Lists `paths` on the server (recursively or not); missing paths are simply absent.
   * Returns null when the remote root itself does not exist.
   */
  const list = async (paths: readonly string[], recursive: boolean): Promise<Map<string, Entry> | null> => {
    const found = new Map<string, Entry>();
    if (paths.length === 0) return found;
    return await withStage(async (stage) => {
      const out = await run(
        ['--dry-run', '-l', '--ignore-missing-args', ...(recursive ? ['-r'] : []), remoteSpec, join(stage, 'listing')],
        paths.map((p) => (p === '' ? '.' : p)),
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
      throw transportError(`rsync exited with code ${out.code} while listing`, out.lines);
    });
  };

  /** One push run from `source` (a local directory) to the remote root; throws when the transport is dead. */
  const push = async (
    source: string,
    paths: readonly string[],
    args: string[],
    onRecord?: (r: RsyncRecord) => void,
  ): Promise<PushOutcome> => {
    const out = await run(
      [...args, `${source.replace(/\/+$/, '')}/`, remoteSpec],
      paths.map((p) => (p === '' ? '.' : p)),
      onRecord,
    );
    if (!PER_ITEM_EXIT_CODES.has(out.code)) throw transportError(`rsync exited with code ${out.code}`, out.lines);
    const errors = new Map<number, { message: string; local: boolean }>();
    const general: string[] = [];
    const localPrefix = `"${source.replace(/\/+$/, '')}/`;
    for (const line of out.lines) {
      if (/^rsync (error|warning):/.test(line) || /^default_perms_for_dir:/.test(line)) continue;
      const i = itemOfMessage(line, paths);
      if (i < 0) general.push(line);
      else if (!errors.has(i))
        errors.set(i, {
          message: line,
          local: line.includes('[sender]') || line.includes(localPrefix) || /^file has vanished/.test(line),
        });
    }
    if (out.code !== 0 && general.length === 0)
      general.push(out.lines.find((l) => /^rsync (error|warning):/.test(l)) ?? `rsync exited with code ${out.code}`);
    return { code: out.code, errors, general };
  };

  const failure = (message: string, code?: TransferErrorCode): { error: string; errorCode: TransferErrorCode } => {
    const c = classifyError({ message });
    return { error: message, errorCode: code ?? c.code };
  };

  /** Runs a staged push for simple items and fills `results`, verifying when rsync reported trouble. */
  const pushStaged = async (
    paths: string[],
    stage: string,
    args: string[],
    results: ItemResult[],
    indexOf: number[],
    isDone: (entry: Entry | undefined, j: number) => boolean,
    absentIsSuccess = false,
  ): Promise<void> => {
    if (paths.length === 0) return;
    const out = await push(stage, paths, args);
    const verify: number[] = [];
    paths.forEach((p, j) => {
      const err = out.errors.get(j);
      const i = indexOf[j] as number;
      if (err && !(absentIsSuccess && ABSENT.test(err.message))) results[i] = { path: p, ...failure(err.message) };
      else if (out.code !== 0) verify.push(j);
    });
    if (verify.length === 0) return;
    const seen =
      (await list(
        verify.map((j) => paths[j] as string),
        false,
      )) ?? new Map<string, Entry>();
    for (const j of verify) {
      const p = paths[j] as string;
      if (!isDone(seen.get(p), j))
        results[indexOf[j] as number] = {
          path: p,
          ...failure(`rsync did not confirm this change: ${out.general.join(' ')}`),
        };
    }
  };

  const transport: RemoteTransport = {
    kind: 'rsync',
    canRename: false,

    async scan(scopes) {
      const wanted = [...new Set(scopes)].sort(comparePaths);
      for (const s of wanted)
        if (!isSafeRelPath(s)) throw new Error(`Refusing to scan the unsafe path ${JSON.stringify(s)}.`);
      let outer = outermost(wanted);
      const result: RemoteScan = { entries: new Map(), tempFiles: [] };
      // rsync (as the sender) resolves a symlink among the directories leading to a path and
      // lists what it points to. So the leading directories are listed first, each by itself
      // (a named path is listed as what it is); scopes below one that is not a directory are
      // left out and reported, and the engine widens its scopes to it.
      const leading = [...new Set(outer.flatMap((s) => ancestorsOf(s)))];
      const blocked: string[] = [];
      if (leading.length) {
        const kinds = await list(leading, false);
        for (const a of leading) {
          const e = kinds?.get(a);
          if (e !== undefined && e.kind !== 'dir') blocked.push(a);
        }
        outer = outer.filter((s) => !blocked.some((b) => isWithin(s, b)));
      }
      const found = await list(outer, true);
      if (!found) return { ...result, blocked };
      const entries = new Map<string, Entry>();
      for (const [path, entry] of [...found].sort((a, b) => comparePaths(a[0], b[0]))) {
        if (!outer.some((s) => isWithin(path, s))) continue;
        if (entry.kind === 'file' && baseName(path).startsWith(TEMP_PREFIX)) result.tempFiles.push(path);
        else entries.set(path, entry);
      }
      return { entries, tempFiles: result.tempFiles, blocked };
    },

    async upload(items, onProgress, onItem) {
      assertOpen();
      const results: UploadResult[] = items.map((it) => ({ path: it.path }));
      const settled = new Set<number>();
      const settle = (i: number) => {
        if (settled.has(i)) return;
        settled.add(i);
        onItem?.(i, results[i] as UploadResult);
      };
      const before = new Map<number, Stats>();
      const groups = new Map<string, { source: string; suffix: string | undefined; idx: number[] }>();
      const candidates: number[] = [];
      for (const [i, it] of items.entries()) {
        if (!isSafeRelPath(it.path) || it.path === '') {
          results[i] = {
            path: it.path,
            error: `Refusing to upload to the unsafe path ${JSON.stringify(it.path)}.`,
            errorCode: 'other',
          };
          continue;
        }
        if (!it.localPath.endsWith(`/${it.path}`)) {
          results[i] = {
            path: it.path,
            error: `The local path ${it.localPath} does not end with ${it.path}; rsync sends files by their relative path.`,
            errorCode: 'other',
          };
          continue;
        }
        candidates.push(i);
      }
      // Stat every file before sending it (many at a time: one at a time costs a thread-pool
      // round trip per file), then group them in the caller's order.
      const stats = new Map<number, Stats | Error>();
      await mapLimit(candidates, 32, async (i) => {
        stats.set(i, await lstat((items[i] as UploadItem).localPath).catch((err: Error) => err));
      });
      for (const i of candidates) {
        const it = items[i] as UploadItem;
        const st = stats.get(i) as Stats | Error;
        if (st instanceof Error) {
          const vanished = (st as NodeJS.ErrnoException).code === 'ENOENT';
          results[i] = {
            path: it.path,
            error: classifyError(st).message,
            errorCode: 'local-read-failed',
            ...(vanished ? { localVanished: true } : {}),
          };
          continue;
        }
        if (!st.isFile()) {
          results[i] = {
            path: it.path,
            error: `${it.localPath} is no longer a regular file.`,
            errorCode: 'local-read-failed',
          };
          continue;
        }
        before.set(i, st);
        const source =
          it.localPath === join(localRoot, it.path) ? localRoot : it.localPath.slice(0, -(it.path.length + 1)) || '/';
        const suffix =
          it.conflictCopyPath === undefined
            ? undefined
            : `.ferry-conflict-${CONFLICT_STAMP.exec(it.conflictCopyPath)?.[1] ?? stampNow()}`;
        const key = `${source}\0${suffix ?? ''}`;
        const group = groups.get(key) ?? { source, suffix, idx: [] };
        group.idx.push(i);
        groups.set(key, group);
      }

      // The content hashes for the index are computed while rsync runs (they read the same
      // bytes from the page cache); a file that changes meanwhile is caught by the stat
      // comparison after both have finished, exactly as if it had been hashed afterwards.
      const hashes = new Map<number, string>();
      let pushFailed = false;
      const hashing = mapLimit([...before.keys()], 8, async (i) => {
        if (pushFailed || closed) return; // the batch is lost: stop reading files
        const hash = await hashFile((items[i] as UploadItem).localPath).catch(() => undefined);
        if (hash !== undefined) hashes.set(i, hash);
      });
      const progress: TransferProgress = { bytes: 0, files: 0 };
      const sent = new Set<number>();
      const unconfirmed = new Map<number, string>();
      try {
        for (const group of groups.values()) {
          const paths = group.idx.map((i) => (items[i] as UploadItem).path);
          const indexByPath = new Map(paths.map((p, j) => [p, group.idx[j] as number]));
          const args = [
            '--perms',
            '--times',
            '--ignore-times',
            ...(group.suffix ? ['--backup', `--suffix=${group.suffix}`] : []),
          ];
          const out = await push(group.source, paths, args, (r) => {
            const i = indexByPath.get(r.path);
            if (i === undefined || !r.itemize.startsWith('<f')) return;
            sent.add(i);
            progress.files++;
            progress.bytes += r.length;
            onProgress?.({ ...progress });
          });
          paths.forEach((p, j) => {
            const i = group.idx[j] as number;
            const err = out.errors.get(j);
            if (err) {
              const vanished =
                err.local &&
                (/^file has vanished/.test(err.message) || /No such file or directory \(2\)/.test(err.message));
              results[i] = {
                path: p,
                ...failure(err.message, err.local ? 'local-read-failed' : undefined),
                ...(vanished ? { localVanished: true } : {}),
              };
            } else if (out.code !== 0 || !sent.has(i))
              unconfirmed.set(
                i,
                `rsync did not confirm this upload: ${out.code !== 0 ? out.general.join(' ') : 'it never reported sending the file.'}`,
              );
          });
        }
      } catch (err) {
        pushFailed = true;
        throw err;
      } finally {
        await hashing;
      }

      const ok = (i: number) => before.has(i) && results[i]?.error === undefined;
      const conflicted = [...before.keys()].filter((i) => items[i]?.conflictCopyPath !== undefined);
      const suffixOf = new Map<number, string>();
      for (const g of groups.values())
        for (const i of g.idx) if (g.suffix) suffixOf.set(i, `${(items[i] as UploadItem).path}${g.suffix}`);
      const toCheck = [...unconfirmed.keys()].map((i) => (items[i] as UploadItem).path);
      const backups = conflicted.filter(ok).map((i) => suffixOf.get(i) as string);
      if (toCheck.length || backups.length) {
        const seen = (await list([...toCheck, ...backups], false)) ?? new Map<string, Entry>();
        for (const [i, reason] of unconfirmed) {
          const st = before.get(i) as Stats;
          const remote = seen.get((items[i] as UploadItem).path);
          const matches =
            sent.has(i) &&
            remote?.kind === 'file' &&
            remote.size === st.size &&
            sameSecond(remote.mtimeMs, st.mtimeMs) &&
            remote.mode === (st.mode & 0o7777);
          if (!matches) results[i] = { path: (items[i] as UploadItem).path, ...failure(reason) };
        }
        for (const i of conflicted)
          if (ok(i) && seen.has(suffixOf.get(i) as string))
            (results[i] as UploadResult).conflictCopyPath = suffixOf.get(i);
      }

      await mapLimit([...before.keys()].filter(ok), 8, async (i) => {
        const it = items[i] as UploadItem;
        const st = before.get(i) as Stats;
        try {
          const hash = hashes.get(i);
          if (hash === undefined) throw new Error('not hashed');
          const after = await lstat(it.localPath);
          // Whole milliseconds, as the local scan records them: the ancestor must compare equal next time.
          const uploaded: FileEntry = {
            kind: 'file',
            size: st.size,
            mtimeMs: Math.floor(st.mtimeMs),
            mode: st.mode & 0o7777,
            hash,
          };
          const r = results[i] as UploadResult;
          r.uploaded = uploaded;
          if (changed(st, after) || st.size !== it.expected.size || Math.floor(st.mtimeMs) !== it.expected.mtimeMs)
            r.changedDuringUpload = true;
        } catch {
          // The file was sent, but is gone or unreadable now: report what was sent, and let the engine rescan.
          const r = results[i] as UploadResult;
          r.uploaded = { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777 };
          r.changedDuringUpload = true;
        }
        settle(i);
      });
      // rsync confirms a batch only when it ends, so items are reported as they settle here.
      results.forEach((_, i) => settle(i));
      return results;
    },

    async mkdir(items) {
      assertOpen();
      const results: ItemResult[] = items.map((it) => ({ path: it.path }));
      const { paths, indexOf } = uniqueSafe(items, results, 'create');
      const wanted = new Map<string, Mode>();
      paths.forEach((p, j) => wanted.set(p, (items[indexOf[j] as number] as { mode: Mode }).mode & 0o7777));
      await withStage(async (stage) => {
        for (const p of [...paths].sort(comparePaths)) await mkdir(join(stage, p), { recursive: true });
        for (const p of [...paths].sort(comparePaths).reverse()) await chmod(join(stage, p), wanted.get(p) as Mode);
        await pushStaged(
          paths,
          stage,
          ['--dirs', '--perms'],
          results,
          indexOf,
          (e, j) => e?.kind === 'dir' && e.mode === wanted.get(paths[j] as string),
        );
      });
      return copyDuplicates(items, results);
    },

    async symlink(items) {
      assertOpen();
      const results: ItemResult[] = items.map((it) => ({ path: it.path }));
      const { paths, indexOf } = uniqueSafe(items, results, 'create', false);
      const targets = paths.map((_, j) => (items[indexOf[j] as number] as { target: string }).target);
      await withStage(async (stage) => {
        for (const [j, p] of paths.entries()) {
          await mkdir(join(stage, parentOf(p)), { recursive: true });
          await symlink(targets[j] as string, join(stage, p));
        }
        await pushStaged(
          paths,
          stage,
          ['--links'],
          results,
          indexOf,
          (e, j) => e?.kind === 'symlink' && e.target === targets[j],
        );
      });
      return copyDuplicates(items, results);
    },

    async remove(items) {
      assertOpen();
      const results: ItemResult[] = items.map((it) => ({ path: it.path }));
      const { paths: all, indexOf: allIndex } = uniqueSafe(items, results, 'remove', false);
      // An item inside another removed item goes with it (staging its parent would keep the ancestor alive).
      const outer = new Set(outermost(all));
      const keep = all.map((p) => outer.has(p));
      const paths = all.filter((_, j) => keep[j]);
      const indexOf = allIndex.filter((_, j) => keep[j]);
      await withStage(async (stage) => {
        for (const p of paths) await mkdir(join(stage, parentOf(p)), { recursive: true });
        await pushStaged(
          paths,
          stage,
          ['--delete-missing-args', '--force'],
          results,
          indexOf,
          (e) => e === undefined,
          true,
        );
      });
      all.forEach((p, j) => {
        if (keep[j]) return;
        const owner = paths.findIndex((o) => isWithin(p, o));
        const r = results[indexOf[owner] as number] as ItemResult;
        results[allIndex[j] as number] = { ...r, path: p };
      });
      return copyDuplicates(items, results);
    },

    async rename(items) {
      assertOpen();
      return items.map((it) => ({
        path: it.from,
        error: 'Rename is not available over rsync; the engine re-uploads instead.',
        errorCode: 'other' as const,
      }));
    },

    async setAttributes(items) {
      assertOpen();
      return items.map((it) => ({
        path: it.path,
        error:
          'Changing attributes in place is not supported over rsync; upload the file again (or mkdir the directory) to apply its mode and mtime.',
        errorCode: 'other' as const,
      }));
    },

    async close() {
      closed = true;
      const running = [...children];
      await Promise.all(running.map((c) => stopProcessGroup(c)));
      if (jumpDir) await rm(jumpDir, { recursive: true, force: true });
    },
  };
  return transport;
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

/** Safe, de-duplicated paths of a batch (errors for unsafe ones go straight into `results`). */
function uniqueSafe(
  items: readonly { path: string }[],
  results: ItemResult[],
  verb: string,
  allowRoot = true,
): { paths: string[]; indexOf: number[] } {
  const paths: string[] = [];
  const indexOf: number[] = [];
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (!isSafeRelPath(it.path) || (!allowRoot && it.path === '')) {
      results[i] = {
        path: it.path,
        error: `Refusing to ${verb} the unsafe path ${JSON.stringify(it.path)}.`,
        errorCode: 'other',
      };
    } else if (!seen.has(it.path)) {
      seen.add(it.path);
      paths.push(it.path);
      indexOf.push(i);
    }
  });
  return { paths, indexOf };
}

/** Later duplicates of a path share the first occurrence's result. */
function copyDuplicates(items: readonly { path: string }[], results: ItemResult[]): ItemResult[] {
  const first = new Map<string, ItemResult>();
  return items.map((it, i) => {
    const r = results[i] as ItemResult;
    const earlier = first.get(it.path);
    if (earlier && isSafeRelPath(it.path)) return { ...earlier };
    first.set(it.path, r);
    return r;
  });
}

function changed(a: Stats, b: Stats): boolean {
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino || a.mode !== b.mode;
}

function stampNow(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** A temp directory whose path can pass through ssh's ProxyJump shell command unquoted. */
function shellSafeTmp(): string {
  const t = tmpdir();
  return /^[A-Za-z0-9_./-]+$/.test(t) ? t : '/tmp';
}

/** Deletes a staging directory even when staged modes (0o500, 0o000) forbid it for a non-root user. */
async function removeStage(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    const { readdir } = await import('node:fs/promises');
    const open = async (d: string): Promise<void> => {
      await chmod(d, 0o700).catch(() => undefined);
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => []))
        if (e.isDirectory()) await open(join(d, e.name));
    };
    await open(dir);
    await rm(dir, { recursive: true, force: true });
  }
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
