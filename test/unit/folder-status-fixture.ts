import { newFolderStatus, type FolderStatus } from '../../main/engine/status.ts';

/** A FolderStatus for tests: idle and in sync unless `over` says otherwise. */
export function status(id: string, over: Partial<FolderStatus> = {}): FolderStatus {
  return newFolderStatus({
    id,
    localRoot: `/home/u/${id}`,
    remote: `u@h:/srv/${id}`,
    mode: 'push',
    state: 'idle',
    watcher: 'live',
    inSync: true,
    ...over,
  });
}
