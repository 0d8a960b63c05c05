/**
 * RemoteTransport over rsync-over-ssh subprocesses, for servers without SFTP or for speed.
 *
 * Every batch call is ONE rsync process (plus at most one listing run to verify results
 * when rsync reported trouble); names travel only on rsync's stdin and inside its protocol
 * (rsync-runner.ts). The remote root is the only path on a command line, glob-escaped for
 * rsync's remote expansion; if such a root does not exist, rsync would take the escaped text
 * literally, so a root with wildcard characters must exist before anything is pushed.
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
 * - Uploads and removals that carry expectations (`replaces`, `expected`) or a planned
 *   conflict copy run with `--backup --backup-dir` into a fresh `.ferry-aside-rsync-*`
 *   directory below the root, settled afterwards (rsync-backups.ts): over SFTP when the
 *   server has it (`settler`), else with more rsync runs. A file that appeared where the
 *   plan saw nothing is replaced and kept as a conflict copy (SFTP leaves it and drops the
 *   upload instead). rsync hard-links the old file into the backup an instant before it
 *   renames the new one over it: an editor's atomic save landing in that instant is the one
 *   server change this path can still overwrite.
 * - rsync's receiver writes each file to `.<name>.XXXXXX` next to it and renames it into
 *   place (atomic); a killed run may leave such a file, which is not Ferry's TEMP_PREFIX and
 *   so is not reported in `tempFiles`.
 * - Listing needs a whole-tree answer: any listing error other than a missing scope (for
 *   example an unreadable directory) makes `scan` throw.
 */
import { TEMP_PREFIX } from '../core/temp-name.ts';
import {
  ancestorsOf,
  baseName,
  comparePaths,
  isSafeRelPath,
  isWithin,
  outermost,
  type Entry,
  type Mode,
} from '../core/tree.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { RsyncRunner, type RsyncRunnerOptions } from './rsync-runner.ts';
import { mkdirViaRsync, removeViaRsync, symlinkViaRsync } from './rsync-staged-ops.ts';
import { uploadViaRsync } from './rsync-upload.ts';
import type {
  AsideSettler,
  AttributesItem,
  ItemResult,
  RemoteScan,
  RemoveItem,
  RemoteTransport,
  TransferProgress,
  UploadItem,
  UploadResult,
} from './transport.ts';

export { globEscapedRoot } from './rsync-runner.ts';

export interface RsyncTransportOptions extends RsyncRunnerOptions {
  /**
   * Server-side renames for settling what rsync moved into its backup directory: the SFTP
   * transport of the same server, when it has one. Without it, rsync settles alone
   * (rsync-backups.ts: slower when something must be kept).
   */
  settler?: AsideSettler | undefined;
}

export class RsyncTransport implements RemoteTransport {
  readonly kind = 'rsync' as const;
  readonly canRename = false;
  readonly #rsync: RsyncRunner;
  readonly #localRoot: string;
  readonly #settler: AsideSettler | undefined;

  /**
   * @param localRoot absolute local folder the upload items' `localPath`s lie in; rsync sends
   *   from there by relative path (an item whose localPath lies elsewhere is sent from the
   *   folder its localPath implies).
   */
  constructor(endpoint: SshEndpoint, localRoot: string, opts: RsyncTransportOptions = {}) {
    this.#rsync = new RsyncRunner(endpoint, opts);
    this.#localRoot = localRoot;
    this.#settler = opts.settler;
  }

  async scan(scopes: readonly string[]): Promise<RemoteScan> {
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
      const kinds = await this.#rsync.list(leading, false);
      for (const a of leading) {
        const e = kinds?.get(a);
        if (e !== undefined && e.kind !== 'dir') blocked.push(a);
      }
      outer = outer.filter((s) => !blocked.some((b) => isWithin(s, b)));
    }
    const found = await this.#rsync.list(outer, true);
    if (!found) return { ...result, blocked };
    const entries = new Map<string, Entry>();
    for (const [path, entry] of [...found].sort((a, b) => comparePaths(a[0], b[0]))) {
      if (!outer.some((s) => isWithin(path, s))) continue;
      if (entry.kind === 'file' && baseName(path).startsWith(TEMP_PREFIX)) result.tempFiles.push(path);
      else entries.set(path, entry);
    }
    return { entries, tempFiles: result.tempFiles, blocked };
  }

  upload(
    items: readonly UploadItem[],
    onProgress?: (p: TransferProgress) => void,
    onItem?: (index: number, result: UploadResult) => void,
  ): Promise<UploadResult[]> {
    return uploadViaRsync(this.#rsync, this.#localRoot, items, onProgress, onItem, this.#settler);
  }

  mkdir(items: readonly { path: string; mode: Mode }[]): Promise<ItemResult[]> {
    return mkdirViaRsync(this.#rsync, items);
  }

  symlink(items: readonly { path: string; target: string }[]): Promise<ItemResult[]> {
    return symlinkViaRsync(this.#rsync, items);
  }

  remove(items: readonly RemoveItem[]): Promise<ItemResult[]> {
    return removeViaRsync(this.#rsync, items, this.#settler);
  }

  async rename(items: readonly { from: string; to: string }[]): Promise<ItemResult[]> {
    this.#rsync.assertOpen();
    return items.map((it) => ({
      path: it.from,
      error: 'Rename is not available over rsync; the engine re-uploads instead.',
      errorCode: 'other' as const,
    }));
  }

  async setAttributes(items: readonly AttributesItem[]): Promise<ItemResult[]> {
    this.#rsync.assertOpen();
    return items.map((it) => ({
      path: it.path,
      error:
        'Changing attributes in place is not supported over rsync; upload the file again (or mkdir the directory) to apply its mode and mtime.',
      errorCode: 'other' as const,
    }));
  }

  close(): Promise<void> {
    return this.#rsync.close();
  }
}

/** The rsync transport; throws at once for an endpoint it cannot use (password-only, unsafe paths). */
export function createRsyncTransport(
  endpoint: SshEndpoint,
  localRoot: string,
  opts: RsyncTransportOptions = {},
): RemoteTransport {
  return new RsyncTransport(endpoint, localRoot, opts);
}
