/** What one synced folder is: where, to which server, how. Built by folder-options.ts. */
import { join } from 'node:path';
import type { SyncMode } from '../core/plan.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import type { TransportChoice } from '../transport/open-transport.ts';

export interface FolderConfig {
  /** Stable id; names the folder's state directory. */
  id: string;
  localRoot: string;
  endpoint: SshEndpoint;
  mode: SyncMode;
  ignore: string[];
  transport: TransportChoice;
  /** Directory holding this folder's index and conflict log. */
  stateDir: string;
  allowMassDelete: boolean;
  /** Modified files at least this large go through rsync's delta transfer when available. */
  deltaThreshold: number;
  /** A pass with at least this many uploads sends them through one rsync run when rsync is available. */
  bulkThreshold: number;
  /** A pass whose small uploads add up to this many bytes does too (upload-route.ts). */
  bulkBytes: number;
  /** Full rescan interval while the watcher is down. */
  pollIntervalMs: number;
  /**
   * Keep what Ferry deletes or overwrites on the server in `.ferry-trash/<UTC stamp>/` (moved
   * there with the server's own rename), pruned after `days`. Undefined: deleted.
   */
  trash?: { days: number };
  /** Full rescan interval while the watcher is live (Syncthing's rescanIntervalS); 0: never. */
  rescanIntervalMs: number;
  /** Upload limit in bytes per second (`--bwlimit`); absent: unlimited. */
  bwlimitBps?: number;
}

/** The files in a folder's state directory. */
export interface FolderStateFiles {
  /** The ancestor index (index-store.ts). */
  index: string;
  /** The crash journal (journal.ts). */
  journal: string;
  /** The conflict log (conflict-log.ts). */
  conflicts: string;
}

export function folderStateFiles(stateDir: string): FolderStateFiles {
  return {
    index: join(stateDir, 'index.json'),
    journal: join(stateDir, 'pending.json'),
    conflicts: join(stateDir, 'conflicts.jsonl'),
  };
}
