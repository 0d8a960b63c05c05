import type { FolderStatus } from '../../main/engine/status.ts';

/** A FolderStatus for tests: idle and in sync unless `over` says otherwise. */
export function status(id: string, over: Partial<FolderStatus> = {}): FolderStatus {
  return {
    id,
    localRoot: `/home/u/${id}`,
    remote: `u@h:/srv/${id}`,
    mode: 'push',
    state: 'idle',
    queued: 0,
    inFlight: 0,
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    throughputBps: 0,
    failedItems: [],
    conflictCount: 0,
    drift: [],
    watcher: 'live',
    inSync: true,
    ...over,
  };
}
