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
import { open as openLocalFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Stats } from 'ssh2';
import { mapLimit } from '../core/map-limit.ts';
import { isSafeRelPath } from '../core/tree.ts';
import { SftpSession, isNoSuchFile } from './sftp-session.ts';
import { describeFailure, renameOver, S_IFDIR, S_IFMT, tempName, type SftpSite } from './sftp-land.ts';
import { removeExpected, settleAsideDir } from './sftp-expected.ts';
import { setAttributesExpected } from './sftp-attributes.ts';
import { scanSftp } from './sftp-scan.ts';
import { uploadFile } from './sftp-upload.ts';
import type { RateLimiter } from './rate-limit.ts';
import type {
  AsideItem,
  AttributesItem,
  AsideSettler,
  ItemResult,
  RemoteScan,
  RemoveItem,
  RemoteTransport,
  SettledAside,
  TransferProgress,
  UploadItem,
  UploadResult,
} from './transport.ts';

export { tempName } from './sftp-land.ts';

export interface SftpTransportOptions {
  /** Files in flight at once for small files. */
  smallFileConcurrency?: number;
  /** Files up to this size are read whole and sent with all WRITEs at once. */
  smallFileMax?: number;
  /** Outstanding WRITE requests per large file. */
  writeWindow?: number;
  /** Bytes per WRITE request. */
  chunkSize?: number;
  /** Upload bandwidth limit, awaited before each WRITE (rate-limit.ts). */
  limiter?: RateLimiter | undefined;
}

export class SftpTransport implements RemoteTransport, SftpSite, AsideSettler {
  readonly kind = 'sftp' as const;
  readonly canRename = true;
  readonly session: SftpSession;
  readonly root: string;
  readonly #opts: Required<Omit<SftpTransportOptions, 'limiter'>> & Pick<SftpTransportOptions, 'limiter'>;
  readonly #onClose: () => Promise<void>;

  constructor(session: SftpSession, remoteRoot: string, onClose: () => Promise<void>, opts: SftpTransportOptions = {}) {
    this.session = session;
    this.root = posix.normalize(remoteRoot).replace(/\/+$/, '') || '/';
    this.#onClose = onClose;
    this.#opts = {
      smallFileConcurrency: opts.smallFileConcurrency ?? 32,
      smallFileMax: opts.smallFileMax ?? 256 * 1024,
      writeWindow: opts.writeWindow ?? 32,
      chunkSize: Math.min(opts.chunkSize ?? 64 * 1024, session.maxWriteLength),
      limiter: opts.limiter,
    };
  }

  /** The upload limiter, when uploads are limited (`--bwlimit`). */
  get limiter(): RateLimiter | undefined {
    return this.#opts.limiter;
  }

  /** Absolute server path of a relative path; refuses anything that could leave the root. */
  abs(rel: string): string {
    if (!isSafeRelPath(rel)) throw new Error(`refusing unsafe remote path ${JSON.stringify(rel)}`);
    return rel === '' ? this.root : this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
  }

  scan(scopes: readonly string[]): Promise<RemoteScan> {
    return scanSftp(this, scopes);
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
    const small = items.map((it, i) => ({ it, i })).filter(({ it }) => it.expected.size <= this.#opts.smallFileMax);
    const large = items.map((it, i) => ({ it, i })).filter(({ it }) => it.expected.size > this.#opts.smallFileMax);
    const results: UploadResult[] = new Array(items.length);
    // Large files share the connection with small ones: a few at a time, each with a deep window.
    await Promise.all([
      mapLimit(small, this.#opts.smallFileConcurrency, async ({ it, i }) => {
        results[i] = await uploadFile(this, this.#opts, it, report);
        if (!this.session.dead) onItem?.(i, results[i]);
      }),
      mapLimit(large, 2, async ({ it, i }) => {
        results[i] = await uploadFile(this, this.#opts, it, report);
        if (!this.session.dead) onItem?.(i, results[i]);
      }),
    ]);
    this.session.throwIfDead();
    return results;
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
        results.set(it.path, await this.#mkdirOne(it.path, it.mode));
      });
    }
    this.session.throwIfDead();
    return items.map((it) => results.get(it.path) as ItemResult);
  }

  async #mkdirOne(rel: string, mode: number): Promise<ItemResult> {
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
        // directory itself. One created here behind its back would be unknown to the
        // ancestor, pass for the server's own, and stay on the server once deleted locally.
        try {
          await this.#mkdirParents(path);
          await create();
          return { path: rel };
        } catch (err2) {
          return { path: rel, ...(await describeFailure(this.session, err2, path)) };
        }
      }
      return { path: rel, ...(await describeFailure(this.session, err, path)) };
    }
  }

  async #mkdirParents(path: string): Promise<void> {
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
    return this.#checked(
      mapLimit(items, 32, async ({ path: rel, target }) => {
        const path = this.abs(rel);
        const temp = posix.join(posix.dirname(path), tempName());
        try {
          await this.session.symlink(target, temp);
          await renameOver(this.session, temp, path);
          return { path: rel };
        } catch (err) {
          await this.session.unlink(temp).catch(() => undefined);
          return { path: rel, ...(await describeFailure(this.session, err, path)) };
        }
      }),
    );
  }

  async rename(items: readonly { from: string; to: string }[]): Promise<ItemResult[]> {
    return this.#checked(
      mapLimit(items, 32, async ({ from, to }) => {
        try {
          await this.session.rename(this.abs(from), this.abs(to));
          return { path: to };
        } catch (err) {
          return { path: to, ...(await describeFailure(this.session, err, this.abs(to))) };
        }
      }),
    );
  }

  async remove(items: readonly RemoveItem[]): Promise<ItemResult[]> {
    return this.#checked(
      mapLimit(items, 16, async ({ path: rel, expected, trash }) => {
        if (rel === '') return { path: rel, error: 'refusing to remove the remote root', errorCode: 'other' };
        try {
          if (expected !== undefined) {
            const kept = await removeExpected(this, rel, expected, new Date(), trash);
            return { path: rel, ...(kept ? { keptServerCopy: kept } : {}) };
          }
          await this.#removeTree(this.abs(rel));
          return { path: rel };
        } catch (err) {
          return { path: rel, ...(await describeFailure(this.session, err, this.abs(rel))) };
        }
      }),
    );
  }

  /** Removes whatever is at `path` (a directory with its content). Missing is fine. */
  async #removeTree(path: string): Promise<void> {
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
      (e) => this.#removeTree(`${path}/${e.filename}`),
    );
    try {
      await this.session.rmdir(path);
    } catch (err) {
      if (!isNoSuchFile(err)) throw err;
    }
  }

  async setAttributes(items: readonly AttributesItem[]): Promise<ItemResult[]> {
    return this.#checked(
      mapLimit(items, 32, async (item) => {
        try {
          return await setAttributesExpected(this, this.abs(item.path), item);
        } catch (err) {
          return { path: item.path, ...(await describeFailure(this.session, err, this.abs(item.path))) };
        }
      }),
    );
  }

  /** Settles what rsync moved into its backup directory `dir` (sftp-expected.ts settleAsideDir). */
  async settleAside(dir: string, items: readonly AsideItem[], now: Date): Promise<SettledAside[]> {
    return this.#checked(settleAsideDir(this, dir, items, now));
  }

  /** Copies a server file to `localPath` (created or truncated), 256 KiB at a time. */
  async download(rel: string, localPath: string): Promise<void> {
    const path = this.abs(rel);
    const handle = await this.session.open(path, 'r', {});
    const out = await openLocalFile(localPath, 'w', 0o600);
    try {
      const buf = Buffer.allocUnsafe(256 * 1024);
      for (let position = 0; ;) {
        const n = await this.session.read(handle, buf, position, path);
        if (n <= 0) break;
        await out.write(buf, 0, n, position);
        position += n;
      }
    } finally {
      await out.close();
      await this.session.close(handle, path).catch(() => undefined);
    }
    this.session.throwIfDead();
  }

  /** Batch results are only trusted while the channel lives; a dead channel is the transport's failure. */
  async #checked<T>(batch: Promise<T>): Promise<T> {
    const r = await batch;
    this.session.throwIfDead();
    return r;
  }

  async close(): Promise<void> {
    await this.#onClose();
  }
}
