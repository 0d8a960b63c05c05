/**
 * One file to the server over SFTP, landing atomically: written to a `.ferry-tmp-*` name in
 * the target's directory with a window of outstanding WRITEs, attributes set on the open
 * handle, then renamed over the target. The content hash is computed from the bytes sent.
 */
import { createHash } from 'node:crypto';
import { open as openLocal, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { statMatchesScan, type FileEntry } from '../core/tree.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { SftpSession } from './sftp-session.ts';
import { landUpload } from './sftp-expected.ts';
import { describeFailure, tempName, type SftpSite } from './sftp-land.ts';
import type { UploadItem, UploadResult } from './transport.ts';

/** How a file's content is cut into WRITE requests. */
export interface SendWindow {
  /** Bytes per WRITE request. */
  chunkSize: number;
  /** Outstanding WRITE requests per file. */
  writeWindow: number;
  /** Awaited before each WRITE (`--bwlimit`). */
  limiter?: RateLimiter | undefined;
}

export async function uploadFile(
  site: SftpSite,
  window: SendWindow,
  item: UploadItem,
  report: (bytes: number, files: number) => void,
): Promise<UploadResult> {
  const target = site.abs(item.path);
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
    handle = await site.session.open(temp, 'wx', { mode: 0o600 });
    tempCreated = true;
    const hash = createHash('sha256');
    const size = await sendContent(site.session, window, local, handle, temp, hash, (n) => report(n, 0));
    const mtimeSec = Math.floor(mtimeMs / 1000);
    // Attributes go on the open handle, right behind the writes (the server handles
    // requests in order), so the close is the last request before the rename.
    const setAttrs = site.session.fsetstat(handle, { mode, mtime: mtimeSec, atime: mtimeSec }, temp);
    const closing = site.session.close(handle, temp);
    handle = undefined;
    await Promise.all([setAttrs, closing]);
    const after = await local.stat();
    const changedDuringUpload = size !== item.expected.size || !statMatchesScan(after, item.expected);
    if (changedDuringUpload && item.landIfChanged !== true) {
      // Not landed: the journal recorded the scanned file, and a landing of other bytes whose
      // answer is lost would pass for a server edit (UploadItem.landIfChanged).
      await site.session.unlink(temp);
      tempCreated = false;
      return { path: item.path, localChanged: true };
    }
    const landing = await landUpload(site, item, temp);
    tempCreated = false;
    if (landing.serverChanged) return { path: item.path, ...landing };
    report(0, 1);
    const uploaded: FileEntry = { kind: 'file', size, mtimeMs, mode, hash: hash.digest('hex') };
    return { path: item.path, uploaded, changedDuringUpload, ...landing };
  } catch (err) {
    if (handle) await site.session.close(handle, temp).catch(() => undefined);
    if (tempCreated) await site.session.unlink(temp).catch(() => undefined);
    // Name the user's file, not the temp name it was being written under.
    const failure = await describeFailure(site.session, err, target);
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
async function sendContent(
  session: SftpSession,
  { chunkSize: chunk, writeWindow: window, limiter }: SendWindow,
  local: FileHandle,
  handle: Buffer,
  temp: string,
  hash: ReturnType<typeof createHash>,
  sent: (n: number) => void,
): Promise<number> {
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  let position = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(chunk);
    const { bytesRead } = await local.read(buf, 0, chunk, position);
    if (bytesRead === 0) break;
    const last = bytesRead < chunk; // short read: end of file (growth shows in the fstat after sending)
    const data = bytesRead === chunk ? buf : buf.subarray(0, bytesRead);
    if (limiter) await limiter.take(bytesRead);
    hash.update(data);
    const p: Promise<void> = session.write(handle, data, position, temp).then(
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
