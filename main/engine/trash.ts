/**
 * The server trash (`--trash`): what a pass deletes or overwrites goes to
 * `.ferry-trash/<UTC stamp>/<path>` (the transports move it there, see
 * transport/sftp-expected.ts), and stamps older than `--trash-days` are pruned on full passes.
 */
import { TRASH_DIR } from '../core/temp-name.ts';
import type { Snapshot } from '../core/tree.ts';
import type { RemoteTransport } from '../transport/transport.ts';

const STAMP = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;

/** The time a trash stamp (`YYYYMMDD-HHMMSS`, UTC) stands for; undefined for any other name. */
export function stampTime(stamp: string): number | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

/** The trash stamps in a raw scan of the root (`.ferry-trash/<stamp>` directories). */
export function trashStamps(remote: Snapshot): string[] {
  const out: string[] = [];
  for (const [p, e] of remote) {
    if (e.kind !== 'dir' || !p.startsWith(`${TRASH_DIR}/`)) continue;
    const stamp = p.slice(TRASH_DIR.length + 1);
    if (!stamp.includes('/') && stampTime(stamp) !== undefined) out.push(stamp);
  }
  return out.sort();
}

/** Removes the trash stamps older than `days` (by their name); returns them. */
export async function pruneTrash(
  transport: RemoteTransport,
  remote: Snapshot,
  days: number,
  nowMs: number,
): Promise<string[]> {
  const old = trashStamps(remote).filter((s) => (stampTime(s) as number) < nowMs - days * 86_400_000);
  if (old.length) await transport.remove(old.map((s) => ({ path: `${TRASH_DIR}/${s}`, kind: 'dir' as const })));
  return old;
}
