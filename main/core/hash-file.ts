/** Content hashing shared by the engine (rename detection, the index) and the rsync transport. */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Read buffers for {@link hashFile}, reused across calls (hashing many files allocates none). */
const spareBuffers: Buffer[] = [];

/**
 * SHA-256 (hex) of a file's content, read in 1 MiB pieces into a reused buffer (no stream,
 * no garbage per piece: large files hash at the speed of the digest; a small file costs
 * open, one read and close).
 */
export async function hashFile(abs: string): Promise<string> {
  const hash = createHash('sha256');
  // Non-blocking open: a path replaced by a FIFO since the scan must not hang the folder.
  const handle = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = spareBuffers.pop() ?? Buffer.allocUnsafe(1 << 20);
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${abs} is no longer a regular file`);
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      hash.update(buf.subarray(0, bytesRead));
      position += bytesRead;
      if (bytesRead < buf.length) break; // end of file (a regular file reads short only there)
    }
  } finally {
    if (spareBuffers.length < 32) spareBuffers.push(buf);
    await handle.close().catch(() => undefined);
  }
  return hash.digest('hex');
}
