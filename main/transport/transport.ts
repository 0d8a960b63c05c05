/**
 * What the engine needs from "the server side". Two implementations: SFTP over one ssh2
 * connection (main/transport/sftp-transport.ts) and rsync over ssh subprocesses
 * (main/transport/rsync-transport.ts).
 *
 * Every method takes a batch and returns one result per item, in the same order. A failed
 * item is data (`error` set), never an exception; a method throws only when the transport
 * itself is dead (connection lost, process could not start), after which the engine drops
 * the transport and reconnects. Paths are relative POSIX paths below the remote root
 * (see tree.ts `isSafeRelPath`); implementations never let a path climb out of the root.
 */
import type { Entry, FileEntry, Mode, Snapshot } from '../core/tree.ts';

export interface RemoteScan {
  /** What is on the server below each scope (the scope itself included). */
  entries: Snapshot;
  /** Ferry temp files found (leftovers of an interrupted upload); the engine deletes them. */
  tempFiles: string[];
  /**
   * Ancestors of scopes that are not directories on the server (a symlink or a file): those
   * scopes were not listed, since the server would have resolved the link. The engine widens
   * its scopes to these and scans again.
   */
  blocked?: string[];
}

export interface UploadItem {
  path: string;
  /** Absolute local path to read from. */
  localPath: string;
  /** The local file as last scanned; mode and mtime are applied on the server. */
  expected: FileEntry;
  /**
   * When set, whatever is at `path` on the server is first kept aside under this relative
   * path (a conflict copy), then the upload replaces `path`.
   */
  conflictCopyPath?: string;
  /**
   * What the plan saw on the server at `path` (null: nothing; undefined: not checked, the
   * upload replaces whatever is there). A transport that honours it
   * never destroys a server entry that no longer matches it: that entry is kept as a
   * conflict copy (`keptServerCopy`), and where something appeared at a path the plan saw
   * empty, the upload does not happen (`serverChanged`).
   */
  replaces?: Entry | null;
  /** With `replaces`: a trash directory (relative) where the replaced version goes instead of being deleted. */
  trash?: string;
  /**
   * Land the file even if it no longer is `expected` when sent. Unset, a transport that finds
   * the local file changed since the scan (before or while sending) does not land it and
   * answers `localChanged`: what lands must be what the crash journal recorded, or a landing
   * whose answer is lost passes for a server edit. The engine sets it for a file that changed
   * under several sends in a row, so that a file that never stops changing still lands.
   */
  landIfChanged?: boolean;
}

/** A server entry that no longer matched the plan, kept under `copy` instead of destroyed. */
export interface KeptServerCopy {
  /** Where it was (relative). */
  path: string;
  /** Where it is now (relative), next to `path`. */
  copy: string;
  /** What was found at `path` itself (for a directory: the directory). */
  found: Entry | undefined;
}

/** A removal: with `expected` (entries at and below `path` as the plan saw them), checked like an upload's `replaces`. */
export interface RemoveItem {
  path: string;
  kind: Entry['kind'];
  expected?: ReadonlyMap<string, Entry>;
  /** With `expected`: a trash directory (relative) where what matches goes instead of being deleted. */
  trash?: string;
}

/**
 * An entry another transport moved aside into a Ferry aside directory (rsync's
 * `--backup-dir`): it now lies at `<dir>/<path>` and is settled like an SFTP move aside.
 */
export interface AsideItem {
  /** Where it was (relative); it lies at `<dir>/<path>` now. */
  path: string;
  /**
   * What the plan expected at and below `path`: entries that match are deleted, anything
   * else is kept next to `path` as a conflict copy. Undefined: discard whatever is there
   * (the op was not checked).
   */
  expected?: ReadonlyMap<string, Entry>;
  /** Keep whatever is there under this name (a planned conflict copy; the next free counter if taken). */
  keepAs?: string;
  /**
   * A trash directory (relative, `--trash`): what matches `expected` (everything, when the
   * item has no `expected`) goes to `<trash>/<path>` instead of being deleted.
   */
  trash?: string;
}

/** What settling one {@link AsideItem} did: where a copy was kept, or why it could not be settled. */
export interface SettledAside {
  keptServerCopy?: KeptServerCopy;
  error?: string;
}

/**
 * Server-side renames for another transport's asides: SFTP settles what rsync moved into its
 * backup directory (rsync alone cannot rename on the server).
 */
export interface AsideSettler {
  /**
   * Settles every item found below `dir` (relative to the remote root), then removes `dir`
   * if nothing is left in it. One result per item, in order; throws only when the transport
   * is dead.
   */
  settleAside(dir: string, items: readonly AsideItem[], now: Date): Promise<SettledAside[]>;
}

export interface AttributesItem {
  path: string;
  mode?: Mode;
  mtimeMs?: number;
  /** The entry the plan saw at `path`; anything else found there is left alone (`serverChanged`). */
  expected: Entry;
}

export interface ItemResult {
  path: string;
  /** The server's or the system's message, for the user; absent on success. */
  error?: string;
  /** Machine-readable class of the error, for retry decisions. */
  errorCode?: TransferErrorCode;
  /** The server entry differed from the plan's expectation and was kept here; the op itself succeeded. */
  keptServerCopy?: KeptServerCopy;
  /** The op was not carried out because the server changed since the scan; the path needs a rescan. Not a failure. */
  serverChanged?: boolean;
}

export interface UploadResult extends ItemResult {
  /** The file as it now is on the server (hash of the bytes actually sent). Set on success. */
  uploaded?: FileEntry;
  /** Where the previous server version was kept, when a conflict copy was made. */
  conflictCopyPath?: string;
  /** True when the local file changed while it was being sent; the engine rescans it. */
  changedDuringUpload?: boolean;
  /** True when the local file no longer existed (deleted or renamed since the scan); not a failure. */
  localVanished?: boolean;
  /**
   * True when the local file changed since the scan and was therefore not landed (see
   * `UploadItem.landIfChanged`); the server is as it was. Not a failure: the engine rescans.
   */
  localChanged?: boolean;
}

export type TransferErrorCode =
  'permission-denied' | 'no-space' | 'name-too-long' | 'not-found' | 'local-read-failed' | 'exists' | 'other';

export interface TransferProgress {
  /** Bytes of file content sent so far in this batch. */
  bytes: number;
  /** Files finished so far in this batch. */
  files: number;
}

export interface RemoteTransport {
  readonly kind: 'sftp' | 'rsync';
  /** Whether `rename` is available (rsync without SFTP cannot rename on the server). */
  readonly canRename: boolean;
  scan(scopes: readonly string[]): Promise<RemoteScan>;
  /** Each file lands atomically: temp name in the same directory, attributes, rename over the target. */
  upload(
    items: readonly UploadItem[],
    onProgress?: (p: TransferProgress) => void,
    /** Called as each item finishes (index into `items`), where the transport can tell; the returned array is authoritative. */
    onItem?: (index: number, result: UploadResult) => void,
  ): Promise<UploadResult[]>;
  /**
   * Parents are created before children when both are in the batch; existing directories are
   * fine. Below the root, a missing parent that is not in the batch is an error over SFTP;
   * rsync creates it with default permissions, so the engine never asks for anything below a
   * directory it failed to create (apply-plan.ts).
   */
  mkdir(items: readonly { path: string; mode: Mode }[]): Promise<ItemResult[]>;
  symlink(items: readonly { path: string; target: string }[]): Promise<ItemResult[]>;
  /** Moves `from` to `to` (over a missing target). */
  rename(items: readonly { from: string; to: string }[]): Promise<ItemResult[]>;
  /** Removes files, symlinks and whole directory trees. A missing path is success. */
  remove(items: readonly RemoveItem[]): Promise<ItemResult[]>;
  /**
   * Sets modes and mtimes. An item changes nothing unless the server still holds its
   * `expected` entry (else `serverChanged`): an mtime set onto a same-size server edit would
   * hide it from every later pass.
   */
  setAttributes(items: readonly AttributesItem[]): Promise<ItemResult[]>;
  /** Copies the server file at `path` to `localPath` (SFTP only: `ferry restore`). */
  download?(path: string, localPath: string): Promise<void>;
  close(): Promise<void>;
}

/** Map a system or SFTP error to a code and a sentence. */
export function classifyError(err: unknown): { code: TransferErrorCode; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = e?.code;
  if (code === 'EACCES' || code === 'EPERM' || code === 3 || /permission denied/i.test(message))
    return { code: 'permission-denied', message };
  if (code === 'ENOSPC' || code === 'EDQUOT' || /no space|disk full|quota/i.test(message))
    return { code: 'no-space', message };
  if (code === 'ENAMETOOLONG' || /name too long/i.test(message)) return { code: 'name-too-long', message };
  if (code === 'ENOENT' || code === 2 || /no such file/i.test(message)) return { code: 'not-found', message };
  if (code === 'EEXIST' || /exists/i.test(message)) return { code: 'exists', message };
  return { code: 'other', message };
}
