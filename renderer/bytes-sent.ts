/**
 * Bytes sent, from the engine's progress: each folder's status carries `bytesDone` for the
 * pass under way (reset to 0 when a pass starts transferring), so the growth between two
 * status events is what went over the wire since. A large file shows as it goes, not as one
 * spike when it finishes. Pure: the page feeds statuses and adds the result to the chart.
 */
import type { FolderStatus } from '../main/ipc/contract.ts';

export class BytesSent {
  private readonly seen = new Map<string, { state: FolderStatus['state']; bytesDone: number }>();

  /** Bytes sent by `s.id` since its previous status. */
  update(s: Pick<FolderStatus, 'id' | 'state' | 'bytesDone'>): number {
    const prev = this.seen.get(s.id);
    this.seen.set(s.id, { state: s.state, bytesDone: s.bytesDone });
    if (!prev) return s.state === 'syncing' ? s.bytesDone : 0;
    // A new pass started transferring: its counter started from zero.
    const base = prev.state !== 'syncing' && s.state === 'syncing' ? 0 : prev.bytesDone;
    return s.bytesDone > base ? s.bytesDone - base : 0;
  }

  forget(id: string): void {
    this.seen.delete(id);
  }
}
