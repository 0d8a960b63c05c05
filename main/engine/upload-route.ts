/**
 * Which uploads of a pass go through rsync (the "delta transport") instead of SFTP. Pure.
 *
 * rsync over OpenSSH moves bytes about twice as fast as ssh2's SFTP here, and streams many
 * small files without a round trip each, but it costs a second SSH connection and a process
 * (about 0.3 s). So it takes:
 * - every file of at least `deltaThreshold` bytes (its delta transfer for a modified file, a
 *   cold copy for a new one), unless the server holds something other than a file there;
 * - every smaller file too when the pass is bulky: at least `bulkThreshold` uploads, or at
 *   least `bulkBytes` bytes among at least {@link BULK_MIN_FILES} of them.
 * Uploads that must keep the server's version as a conflict copy stay on SFTP (`main`).
 */
import type { Snapshot } from '../core/tree.ts';
import type { PlanOp } from '../core/plan.ts';

type Upload = Extract<PlanOp, { op: 'upload' }>;

export interface UploadRouteOptions {
  /** False when no rsync is available: everything goes to `main`. */
  deltaAvailable: boolean;
  deltaThreshold: number;
  bulkThreshold: number;
  bulkBytes: number;
  /** The server's listing when the pass was planned. */
  remote: Snapshot;
}

/** A byte-bulky pass needs at least this many files: one big file alone is no bulk. */
export const BULK_MIN_FILES = 16;

export function routeUploads<U extends Upload>(uploads: U[], o: UploadRouteOptions): { main: U[]; delta: U[] } {
  if (!o.deltaAvailable) return { main: uploads, delta: [] };
  const large = (u: U) => u.entry.size >= o.deltaThreshold;
  const small = uploads.filter((u) => !large(u) && !u.keepRemoteCopy);
  const smallBytes = small.reduce((n, u) => n + u.entry.size, 0);
  const bulk = uploads.length >= o.bulkThreshold || (small.length >= BULK_MIN_FILES && smallBytes >= o.bulkBytes);
  const viaDelta = (u: U) => !u.keepRemoteCopy && (large(u) ? (o.remote.get(u.path)?.kind ?? 'file') === 'file' : bulk);
  return { main: uploads.filter((u) => !viaDelta(u)), delta: uploads.filter(viaDelta) };
}
