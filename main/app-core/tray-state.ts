/**
 * The one overall state the tray icon and the first menu line show, from every folder's
 * state. Pure and Electron-free; the renderer uses {@link folderDisplayState} too, so the
 * window and the tray always agree on what a folder's state is called.
 *
 * Priority, most urgent first (the first that any folder is in wins):
 *   1. error         - a folder is in error or halted, or idle with items that keep failing
 *                      or with a failed command after sync: the user has to act.
 *   2. held          - a canary rollout stopped: the first server's commands (or its sync)
 *                      failed, so the other servers wait for a fix.
 *   3. conflict      - a folder has conflicts the user has not marked resolved.
 *   4. syncing       - a folder is starting, scanning or transferring (a follower waiting
 *                      for a canary that is still at work is part of a rollout: syncing).
 *   5. paused        - a folder is paused (and none of the above).
 *   6. partly-paused - some servers are paused on their own, the others are in sync: the
 *                      folder is not paused (Syncthing: a paused device, a folder up to date).
 *   7. in-sync       - every folder is idle and in sync, or there are no folders.
 * Errors outrank conflicts because a conflict was already resolved safely (both versions
 * kept), while an error means changes are not reaching the server at all.
 */
import type { FolderStatus } from '../engine/status.ts';

export type OverallState = 'error' | 'held' | 'conflict' | 'syncing' | 'paused' | 'partly-paused' | 'in-sync';

/** The tray's images: one per overall state, a held rollout and a partial pause drawn as their nearest. */
export type TrayIcon = 'error' | 'conflict' | 'syncing' | 'paused' | 'in-sync';

/** A folder's state in the words the UI uses. */
export type FolderDisplayState =
  'in-sync' | 'syncing' | 'paused' | 'partly-paused' | 'held' | 'error' | 'halted' | 'starting';

export const OVERALL_PRIORITY: readonly OverallState[] = [
  'error',
  'held',
  'conflict',
  'syncing',
  'paused',
  'partly-paused',
  'in-sync',
];

type DisplayInput = Pick<
  FolderStatus,
  'state' | 'inSync' | 'failedItems' | 'lastError' | 'held' | 'targets' | 'hookFailed'
>;

/** Servers paused on their own of a folder with several (0 of n when none or every one is). */
export function pausedServers(s: Pick<FolderStatus, 'targets'>): { count: number; total: number } {
  const targets = s.targets ?? [];
  const count = targets.filter((t) => t.state === 'paused').length;
  return { count: count < targets.length ? count : 0, total: Math.max(1, targets.length) };
}

/**
 * A folder's state in words. 'starting' while a previous error is still unresolved (a
 * reconnect attempt) stays 'error', so the icon does not flicker on every retry.
 */
export function folderDisplayState(s: DisplayInput): FolderDisplayState {
  switch (s.state) {
    case 'error':
      return 'error';
    case 'halted':
      return 'halted';
    case 'held':
      return s.held?.failed ? 'held' : 'syncing';
    case 'paused':
      return 'paused';
    case 'starting':
      return s.lastError ? 'error' : 'starting';
    case 'scanning':
    case 'syncing':
      return 'syncing';
    case 'idle': {
      if (s.failedItems.length > 0) return 'error';
      if (s.inSync) return 'in-sync';
      // The sync stands but its command after sync failed: not "syncing" (nothing is left to do).
      if (s.hookFailed) return 'error';
      // Idle but not in sync because a server is paused while the others are in sync.
      const running = (s.targets ?? []).filter((t) => t.state !== 'paused');
      return pausedServers(s).count > 0 && running.every((t) => t.state === 'idle' && t.inSync)
        ? 'partly-paused'
        : 'syncing';
    }
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
  if (d === 'held') return 'held';
  if (f.conflictsNeedingAttention > 0) return 'conflict';
  if (d === 'syncing' || d === 'starting') return 'syncing';
  if (d === 'paused' || d === 'partly-paused') return d;
  return 'in-sync';
}

export function overallState(folders: readonly TrayFolderInput[]): OverallState {
  let best = OVERALL_PRIORITY.length - 1;
  for (const f of folders) best = Math.min(best, OVERALL_PRIORITY.indexOf(folderOverall(f)));
  return OVERALL_PRIORITY[best] as OverallState;
}

/** Servers paused on their own across every folder, of all their servers: "paused on 1 of 3 servers". */
export function pausedServersOverall(folders: readonly TrayFolderInput[]): { count: number; total: number } {
  return folders.reduce(
    (n, f) => {
      const p = pausedServers(f.status);
      return { count: n.count + p.count, total: n.total + p.total };
    },
    { count: 0, total: 0 },
  );
}

export function trayIconFor(state: OverallState): TrayIcon {
  return state === 'held' ? 'error' : state === 'partly-paused' ? 'paused' : state;
}
