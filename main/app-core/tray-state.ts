/**
 * The one overall state the tray icon and the first menu line show, from every folder's
 * state. Pure and Electron-free; the renderer uses {@link folderDisplayState} too, so the
 * window and the tray always agree on what a folder's state is called.
 *
 * Priority, most urgent first (the first that any folder is in wins):
 *   1. error    - a folder is in error or halted, or idle with items that keep failing:
 *                 nothing syncs there until something changes or the user acts.
 *   2. conflict - a folder has conflicts the user has not marked resolved.
 *   3. syncing  - a folder is starting, scanning or transferring.
 *   4. paused   - a folder is paused (and none of the above).
 *   5. in-sync  - every folder is idle and in sync, or there are no folders.
 * Errors outrank conflicts because a conflict was already resolved safely (both versions
 * kept), while an error means changes are not reaching the server at all.
 */
import type { FolderStatus } from '../engine/status.ts';

export type OverallState = 'error' | 'conflict' | 'syncing' | 'paused' | 'in-sync';

/** A folder's state in the words the UI uses. */
export type FolderDisplayState = 'in-sync' | 'syncing' | 'paused' | 'error' | 'halted' | 'starting';

export const OVERALL_PRIORITY: readonly OverallState[] = ['error', 'conflict', 'syncing', 'paused', 'in-sync'];

/**
 * A folder's state in words. 'starting' while a previous error is still unresolved (a
 * reconnect attempt) stays 'error', so the icon does not flicker on every retry.
 */
export function folderDisplayState(
  s: Pick<FolderStatus, 'state' | 'inSync' | 'failedItems' | 'lastError'>,
): FolderDisplayState {
  switch (s.state) {
    case 'error':
      return 'error';
    case 'halted':
    case 'held':
      return 'halted';
    case 'paused':
      return 'paused';
    case 'starting':
      return s.lastError ? 'error' : 'starting';
    case 'scanning':
    case 'syncing':
      return 'syncing';
    case 'idle':
      return s.failedItems.length > 0 ? 'error' : s.inSync ? 'in-sync' : 'syncing';
  }
}

export interface TrayFolderInput {
  status: FolderStatus;
  /** Conflict-log records not marked resolved (the same count the window shows). */
  conflictsNeedingAttention: number;
  /** When a timed pause ends. */
  pausedUntil?: string;
}

function folderOverall(f: TrayFolderInput): OverallState {
  const d = folderDisplayState(f.status);
  if (d === 'error' || d === 'halted') return 'error';
  if (f.conflictsNeedingAttention > 0) return 'conflict';
  if (d === 'syncing' || d === 'starting') return 'syncing';
  if (d === 'paused') return 'paused';
  return 'in-sync';
}

export function overallState(folders: readonly TrayFolderInput[]): OverallState {
  let best = OVERALL_PRIORITY.length - 1;
  for (const f of folders) best = Math.min(best, OVERALL_PRIORITY.indexOf(folderOverall(f)));
  return OVERALL_PRIORITY[best] as OverallState;
}
