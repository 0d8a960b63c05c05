/** What one synced folder is: where, to which server, how. Built by folder-options.ts. */
import { join } from 'node:path';
import type { SyncMode } from '../core/plan.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import type { TransportChoice } from '../transport/open-transport.ts';

/** Commands run once a pass that changed something on a target has converged (after-sync.ts). */
export interface TargetHooks {
  /** Run locally: `/bin/sh -c CMD` in the local folder. */
  afterSync?: string;
  /** Run on the target's server over the same SSH connection, in the remote folder. */
  remoteAfterSync?: string;
}

/** One server a folder syncs to: its own endpoint, state directory and commands. */
export interface TargetConfig {
  endpoint: SshEndpoint;
  /** Directory holding this target's index, journal and conflict log. */
  stateDir: string;
  hooks?: TargetHooks;
}

export interface FolderConfig {
  /** Stable id; names the folder's state directory. */
  id: string;
  localRoot: string;
  /** The first (or only) target's server; see {@link targetsOf}. */
  endpoint: SshEndpoint;
  mode: SyncMode;
  ignore: string[];
  transport: TransportChoice;
  /** Directory holding the first target's index and conflict log. */
  stateDir: string;
  /** The first target's commands after sync. */
  hooks?: TargetHooks;
  /** Targets after the first: one watcher and one local scan feed them all (folder-loop.ts). */
  moreTargets?: TargetConfig[];
  /** Each change set goes to the first target, the others only once it converged and its commands exited 0. */
  canary?: boolean;
  /** A command after sync still running after this long is ended (default 60 s). */
  hookTimeoutMs?: number;
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

/** Every target of a folder, the first one (`endpoint`, `stateDir`, `hooks`) first. */
export function targetsOf(config: FolderConfig): TargetConfig[] {
  const first: TargetConfig = {
    endpoint: config.endpoint,
    stateDir: config.stateDir,
    ...(config.hooks ? { hooks: config.hooks } : {}),
  };
  return [first, ...(config.moreTargets ?? [])];
}

/** The folder as one target sees it: that target's endpoint, state directory and commands. */
export function laneConfig(config: FolderConfig, target: TargetConfig): FolderConfig {
  const { moreTargets: _more, hooks: _hooks, ...rest } = config;
  return {
    ...rest,
    endpoint: target.endpoint,
    stateDir: target.stateDir,
    ...(target.hooks ? { hooks: target.hooks } : {}),
  };
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
