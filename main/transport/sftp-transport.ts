/**
 * RemoteTransport over one ssh2 connection and one SFTP channel.
 *
 * Throughput comes from pipelining, not from more connections (see shared PERF_NOTES: on
 * this class of machine crypto is the bottleneck): many small files in flight at once, each
 * sent with all its WRITE requests back to back; big files one at a time per slot with a
 * deep window of outstanding WRITEs. Every file lands atomically: written to a
 * `.ferry-tmp-*` name in the target's directory, attributes set on the open handle, then
 * renamed over the target (posix-rename@openssh.com; without it, a move-aside fallback that
 * never exposes a partial file).
 */
import { randomBytes, createHash } from 'node:crypto';
import { open as openLocal, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Stats } from 'ssh2';
import { mapLimit } from '../core/map-limit.ts';
import { ancestorsOf, isSafeRelPath, joinRel, baseName, type Entry, type FileEntry } from '../core/tree.ts';
import { SftpSession, SFTP_STATUS, isNoSuchFile } from './sftp-session.ts';
import { TEMP_PREFIX } from '../core/temp-name.ts';
import {
  classifyError,
  type ItemResult,
  type RemoteScan,
  type RemoteTransport,
  type TransferProgress,
  type UploadItem,
  type UploadResult,
} from './transport.ts';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export interface SftpTransportOptions {
  /** Files in flight at once for small files. */
  smallFileConcurrency?: number;
  /** Files up to this size are read whole and sent with all WRITEs at once. */
  smallFileMax?: number;
  /** Outstanding WRITE requests per large file. */
  writeWindow?: number;
  /** Bytes per WRITE request. */
  chunkSize?: number;
}

export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

export class SftpTransport implements RemoteTransport {
  readonly kind = 'sftp' as const;
  readonly canRename = true;
  readonly session: SftpSession;
  readonly root: string;
  private readonly opts: Required<SftpTransportOptions>;
  private readonly onClose: () => Promise<void>;

  constructor(session: SftpSession, remoteRoot: string, onClose: () => Promise<void>, opts: SftpTransportOptions = {}) {
    this.session = session;
    this.root = posix.normalize(remoteRoot).replace(/\/+$/, '') || '/';
    this.onClose = onClose;
    this.opts = {
      smallFileConcurrency: opts.smallFileConcurrency ?? 32,
      smallFileMax: opts.smallFileMax ?? 256 * 1024,
      writeWindow: opts.writeWindow ?? 32,
      chunkSize: Math.min(opts.chunkSize ?? 64 * 1024, session.maxWriteLength),
    };
  }

  /** Absolute server path of a relative path; refuses anything that could leave the root. */
  abs(rel: string): string {
    if (!isSafeRelPath(rel)) throw new Error(`refusing unsafe remote path ${JSON.stringify(rel)}`);
    return rel === '' ? this.root : this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
  }

  private entryOf(attrs: Stats | { mode: number; size: number; mtime: number }): Entry | undefined {
    const type = attrs.mode & S_IFMT;
    if (type === S_IFDIR) return { kind: 'dir', mode: attrs.mode & 0o7777 };
    if (type === S_IFREG)
      return { kind: 'file', size: attrs.size, mtimeMs: attrs.mtime * 1000, mode: attrs.mode & 0o7777 };
    if (type === S_IFLNK) return { kind: 'symlink', target: '' };
    return undefined;
  }

  async scan(scopes: readonly string[]): Promise<RemoteScan> {
    const entries = new Map<string, Entry>();
    const tempFiles: string[] = [];
    const links: string[] = [];
    const add = (rel: string, e: Entry) => {
      entries.set(rel, e);
      if (e.kind === 'symlink') links.push(rel);
    };
    const walk = async (dir: string): Promise<void> => {
      let list;
      try {
        list = await this.session.readdir(this.abs(dir));
      } catch (err) {
        if (isNoSuchFile(err)) return;
        throw err;
      }
      const subdirs: string[] = [];
      for (const item of list) {
        if (item.filename === '.' || item.filename === '..' || item.filename.includes('/')) continue;
        const rel = joinRel(dir, item.filename);
        if (item.filename.startsWith(TEMP_PREFIX)) {
          tempFiles.push(rel);
          continue;
        }
        const e = this.entryOf(item.attrs);
        if (!e) continue;
        add(rel, e);
        if (e.kind === 'dir') subdirs.push(rel);
      }
      await mapLimit(subdirs, 16, walk);
    };
    const blocked: string[] = [];
    const dirs = new Set<string>();
    /** True when every directory leading to `scope` is a real directory on the server. */
    const reachable = async (scope: string): Promise<boolean> => {
      for (const a of ancestorsOf(scope)) {
        if (dirs.has(a)) continue;
        let st: Stats;
        try {
          st = await this.session.lstat(this.abs(a));
        } catch (err) {
          if (isNoSuchFile(err)) return false;
          throw err;
        }
        if ((st.mode & S_IFMT) !== S_IFDIR) {
          blocked.push(a);
          return false;
        }
        dirs.add(a);
      }
      return true;
    };
    for (const scope of scopes) {
      // The server resolves a symlink in the middle of a path: never list past one.
      if (!(await reachable(scope))) continue;
      let st: Stats;
      try {
        st = await this.session.lstat(this.abs(scope));
      } catch (err) {
        if (isNoSuchFile(err)) continue;
        throw err;
      }
      if (scope !== '' && baseName(scope).startsWith(TEMP_PREFIX)) {
        tempFiles.push(scope);
        continue;
      }
      const e = this.entryOf(st);
      if (!e) continue;
      add(scope, e);
      if (e.kind === 'dir') await walk(scope);
    }
    await mapLimit(links, 32, async (rel) => {
      entries.set(rel, { kind: 'symlink', target: await this.session.readlink(this.abs(rel)) });
    });
    return { entries, tempFiles, blocked };
  }

  async upload(
    items: readonly UploadItem[],
    onProgress?: (p: TransferProgress) => void,
    onItem?: (index: number, result: UploadResult) => void,
  ): Promise<UploadResult[]> {
    const progress = { bytes: 0, files: 0 };
    const report = (bytes: number, files: number) => {
      progress.bytes += bytes;
      progress.files += files;
      onProgress?.({ ...progress });
    };
    const small = items.map((it, i) => ({ it, i })).filter(({ it }) => it.expected.size <= this.opts.smallFileMax);
    const large = items.map((it, i) => ({ it, i })).filter(({ it }) => it.expected.size > this.opts.smallFileMax);
    const results: UploadResult[] = new Array(items.length);
    // Large files share the connection with small ones: a few at a time, each with a deep window.
    await Promise.all([
      mapLimit(small, this.opts.smallFileConcurrency, async ({ it, i }) => {
        results[i] = await this.uploadOne(it, report);
        if (!this.session.dead) onItem?.(i, results[i]);
      }),
      mapLimit(large, 2, async ({ it, i }) => {
        results[i] = await this.uploadOne(it, report);
        if (!this.session.dead) onItem?.(i, results[i]);
      }),
    ]);
    this.session.throwIfDead();
    return results;
  }

  private async uploadOne(item: UploadItem, report: (bytes: number, files: number) => void): Promise<UploadResult> {
    const target = this.abs(item.path);
    const temp = posix.join(posix.dirname(target), tempName());
    let local: FileHandle | undefined;
    let handle: Buffer | undefined;
    let tempCreated = false;
    try {
      try {
        local = await openLocal(item.localPath, 'r');
      } catch (err) {
        const vanished = (err as NodeJS.ErrnoException).code === 'ENOENT';
        return {
          path: item.path,
          error: `cannot read local file: ${(err as Error).message}`,
          errorCode: 'local-read-failed',
          ...(vanished ? { localVanished: true } : {}),
        };
      }
      // Mode and mtime as scanned; one fstat after sending tells whether the file moved on meanwhile.
      const { mode, mtimeMs } = item.expected;
      handle = await this.session.open(temp, 'wx', { mode: 0o600 });
      tempCreated = true;
      const hash = createHash('sha256');
      const size = await this.sendContent(local, handle, temp, hash, (n) => report(n, 0));
      const mtimeSec = Math.floor(mtimeMs / 1000);
      // Attributes go on the open handle, right behind the writes (the server handles
      // requests in order), so the close is the last request before the rename.
      const setAttrs = this.session.fsetstat(handle, { mode, mtime: mtimeSec, atime: mtimeSec }, temp);
      const closing = this.session.close(handle, temp);
      handle = undefined;
      await Promise.all([setAttrs, closing]);
      const after = await local.stat();
      const changedDuringUpload =
        after.size !== item.expected.size ||
        Math.floor(after.mtimeMs) !== mtimeMs ||
        size !== item.expected.size ||
        (after.mode & 0o7777) !== mode;
      let conflictCopyPath: string | undefined;
      if (item.conflictCopyPath) {
        await this.session.rename(target, this.abs(item.conflictCopyPath));
        conflictCopyPath = item.conflictCopyPath;
      }
      await this.renameOver(temp, target);
      tempCreated = false;
      report(0, 1);
      const uploaded: FileEntry = { kind: 'file', size, mtimeMs, mode, hash: hash.digest('hex') };
      return { path: item.path, uploaded, changedDuringUpload, ...(conflictCopyPath ? { conflictCopyPath } : {}) };
    } catch (err) {
      if (handle) await this.session.close(handle, temp).catch(() => undefined);
      if (tempCreated) await this.session.unlink(temp).catch(() => undefined);
      // Name the user's file, not the temp name it was being written under.
      const failure = await this.describeFailure(err, target);
      return {
        path: item.path,
        ...failure,
        ...(failure.error ? { error: failure.error.split(temp).join(target) } : {}),
      };
    } finally {
      await local?.close().catch(() => undefined);
    }
  }

  /** Streams the local file into the remote handle with a window of outstanding WRITEs. Returns bytes sent. */
  private async sendContent(
    local: FileHandle,
    handle: Buffer,
    temp: string,
    hash: ReturnType<typeof createHash>,
    sent: (n: number) => void,
  ): Promise<number> {
    const chunk = this.opts.chunkSize;
    const window = this.opts.writeWindow;
    const pending = new Set<Promise<void>>();
    let failure: unknown;
    let position = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(chunk);
      const { bytesRead } = await local.read(buf, 0, chunk, position);
      if (bytesRead === 0) break;
      const last = bytesRead < chunk; // short read: end of file (growth shows in the fstat after sending)
      const data = bytesRead === chunk ? buf : buf.subarray(0, bytesRead);
      hash.update(data);
      const p: Promise<void> = this.session.write(handle, data, position, temp).then(
        () => {
          pending.delete(p);
          sent(bytesRead);
        },
        (err) => {
          pending.delete(p);
          failure ??= err;
        },
      );
      pending.add(p);
      position += bytesRead;
      if (failure || last) break;
      if (pending.size >= window) await Promise.race(pending);
      if (failure) break;
    }
    await Promise.all(pending);
    if (failure) throw failure;
    return position;
  }

  /** Rename `from` over `to` atomically where the server allows it. */
  private async renameOver(from: string, to: string): Promise<void> {
    if (this.session.hasPosixRename) return this.session.posixRename(from, to);
    // No posix-rename: plain SFTP rename refuses an existing target. Move the old file aside
    // under a temp name, move the new one in, then drop the old one. Readers may briefly see
    // no file, never a partial one.
    try {
      return await this.session.rename(from, to);
    } catch (err) {
      let st: Stats | undefined;
      try {
        st = await this.session.lstat(to);
      } catch {
        throw err;
      }
      if ((st.mode & S_IFMT) === S_IFDIR) throw err;
      const aside = posix.join(posix.dirname(to), tempName());
      await this.session.rename(to, aside);
      try {
        await this.session.rename(from, to);
      } catch (err2) {
        await this.session.rename(aside, to).catch(() => undefined);
        throw err2;
      }
      await this.session.unlink(aside).catch(() => undefined);
    }
  }

  /** A per-item error, with a better message than OpenSSH's bare "Failure" when the disk is full. */
  private async describeFailure(err: unknown, target: string): Promise<Pick<ItemResult, 'error' | 'errorCode'>> {
    const c = classifyError(err);
    if ((err as { code?: unknown })?.code === SFTP_STATUS.FAILURE && c.code === 'other') {
      const free = await this.session.freeBytes(posix.dirname(target)).catch(() => undefined);
      if (free !== undefined && free < 64 * 1024)
        return {
          error: `no space left on the server's disk at ${posix.dirname(target)} (${free} bytes free)`,
          errorCode: 'no-space',
        };
    }
    return { error: c.message, errorCode: c.code };
  }

  async mkdir(items: readonly { path: string; mode: number }[]): Promise<ItemResult[]> {
    const results = new Map<string, ItemResult>();
    const byDepth = new Map<number, { path: string; mode: number }[]>();
    for (const it of items) {
      const d = it.path === '' ? 0 : it.path.split('/').length;
      byDepth.set(d, [...(byDepth.get(d) ?? []), it]);
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
      await mapLimit(byDepth.get(depth) ?? [], 32, async (it) => {
        results.set(it.path, await this.mkdirOne(it.path, it.mode));
      });
    }
    this.session.throwIfDead();
    return items.map((it) => results.get(it.path) as ItemResult);
  }

  private async mkdirOne(rel: string, mode: number): Promise<ItemResult> {
    const path = this.abs(rel);
    // The server's umask may trim the mode a mkdir asks for: every creation sets it again.
    const create = async () => {
      await this.session.mkdir(path, { mode });
      await this.session.setstat(path, { mode });
    };
    try {
      await create();
      return { path: rel };
    } catch (err) {
      try {
        const st = await this.session.lstat(path);
        if ((st.mode & S_IFMT) === S_IFDIR) {
          if ((st.mode & 0o7777) !== mode) await this.session.setstat(path, { mode });
          return { path: rel };
        }
      } catch {
        // fall through to the original error
      }
      if (rel === '') {
        // The remote root's missing parents are outside the synced tree: create them. Below
        // the root, a missing parent is an error: the engine creates (and records) each
        // directory itself, and one created here behind its back stayed on the server for
        // good once deleted locally (a short soak).
        try {
          await this.mkdirParents(path);
          await create();
          return { path: rel };
        } catch (err2) {
          return { path: rel, ...(await this.describeFailure(err2, path)) };
        }
      }
      return { path: rel, ...(await this.describeFailure(err, path)) };
    }
  }

  private async mkdirParents(path: string): Promise<void> {
    const parts = posix.dirname(path).split('/').filter(Boolean);
    let cur = '';
    for (const part of parts) {
      cur += `/${part}`;
      try {
        await this.session.lstat(cur);
      } catch (err) {
        if (!isNoSuchFile(err)) throw err;
        await this.session.mkdir(cur, { mode: 0o755 });
      }
    }
  }

  async symlink(items: readonly { path: string; target: string }[]): Promise<ItemResult[]> {
    return this.checked(
      mapLimit(items, 32, async ({ path: rel, target }) => {
        const path = this.abs(rel);
        const temp = posix.join(posix.dirname(path), tempName());
        try {
          await this.session.symlink(target, temp);
          await this.renameOver(temp, path);
          return { path: rel };
        } catch (err) {
          await this.session.unlink(temp).catch(() => undefined);
          return { path: rel, ...(await this.describeFailure(err, path)) };
        }
      }),
    );
  }

  async rename(items: readonly { from: string; to: string }[]): Promise<ItemResult[]> {
    return this.checked(
      mapLimit(items, 32, async ({ from, to }) => {
        try {
          await this.session.rename(this.abs(from), this.abs(to));
          return { path: to };
        } catch (err) {
          return { path: to, ...(await this.describeFailure(err, this.abs(to))) };
        }
      }),
    );
  }

  async remove(items: readonly { path: string; kind: Entry['kind'] }[]): Promise<ItemResult[]> {
    return this.checked(
      mapLimit(items, 16, async ({ path: rel }) => {
        if (rel === '') return { path: rel, error: 'refusing to remove the remote root', errorCode: 'other' };
        try {
          await this.removeTree(this.abs(rel));
          return { path: rel };
        } catch (err) {
          return { path: rel, ...(await this.describeFailure(err, this.abs(rel))) };
        }
      }),
    );
  }

  /** Removes whatever is at `path` (a directory with its content). Missing is fine. */
  private async removeTree(path: string): Promise<void> {
    let st: Stats;
    try {
      st = await this.session.lstat(path);
    } catch (err) {
      if (isNoSuchFile(err)) return;
      throw err;
    }
    if ((st.mode & S_IFMT) !== S_IFDIR) {
      try {
        await this.session.unlink(path);
      } catch (err) {
        if (!isNoSuchFile(err)) throw err;
      }
      return;
    }
    const list = await this.session.readdir(path);
    await mapLimit(
      list.filter((e) => e.filename !== '.' && e.filename !== '..'),
      16,
      (e) => this.removeTree(`${path}/${e.filename}`),
    );
    try {
      await this.session.rmdir(path);
    } catch (err) {
      if (!isNoSuchFile(err)) throw err;
    }
  }

  async setAttributes(items: readonly { path: string; mode?: number; mtimeMs?: number }[]): Promise<ItemResult[]> {
    return this.checked(
      mapLimit(items, 32, async ({ path: rel, mode, mtimeMs }) => {
        try {
          const attrs: { mode?: number; mtime?: number; atime?: number } = {};
          if (mode !== undefined) attrs.mode = mode;
          if (mtimeMs !== undefined) attrs.mtime = attrs.atime = Math.floor(mtimeMs / 1000);
          await this.session.setstat(this.abs(rel), attrs);
          return { path: rel };
        } catch (err) {
          return { path: rel, ...(await this.describeFailure(err, this.abs(rel))) };
        }
      }),
    );
  }

  /** Batch results are only trusted while the channel lives; a dead channel is the transport's failure. */
  private async checked<T>(batch: Promise<T>): Promise<T> {
    const r = await batch;
    this.session.throwIfDead();
    return r;
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}
