/**
 * The status of one synced folder: exactly what the CLI prints and the app renders.
 * Plain JSON data (no class instances, no Maps) so it crosses IPC and `--json` unchanged.
 */
import type { HaltReason, SyncMode } from '../core/plan.ts';
import type { SkippedFile } from './skipped-files.ts';

/** 'held': a canary rollout keeps this target back (see `held`). */
export type FolderState = 'starting' | 'scanning' | 'syncing' | 'idle' | 'paused' | 'halted' | 'error' | 'held';

/** What the commands after sync of one converged pass did (after-sync.ts). */
export interface HookReport {
  /** The target they ran for (its `remote`). */
  target: string;
  where: 'local' | 'remote';
  command: string;
  ok: boolean;
  /** Exit status; null when ended by a signal, the timeout, or when it could not start. */
  exitCode: number | null;
  signal?: string;
  timedOut?: boolean;
  /** Why it could not start or finish (no connection, spawn failed). */
  error?: string;
  durationMs: number;
  /** How many changed paths it was given on standard input. */
  changed: number;
  /** The last lines of its output (standard output and error together). */
  output: string[];
  /** ISO time it ended. */
  at: string;
}

export interface FailedItem {
  path: string;
  error: string;
  attempts: number;
  /** ISO time of the next automatic retry. */
  nextRetryAt: string;
}

export interface FolderStatus {
  id: string;
  localRoot: string;
  /** `user@host:port/path`, for display. */
  remote: string;
  mode: SyncMode;
  state: FolderState;
  /** Set while state is 'halted': why, and what the user can do. */
  halt?: {
    reason: HaltReason['kind'];
    message: string;
    /** For a halt on deletes: how many server files the plan would delete ... */
    deletes?: number;
    /** ... and the first of them (at most 50), in tree order. */
    paths?: string[];
  };
  /** Transport in use for the current connection. */
  transport?: 'sftp' | 'rsync';
  /** Paths waiting for a rescan plus operations not yet started. */
  queued: number;
  inFlight: number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the last few seconds of transfer. */
  throughputBps: number;
  /** ISO time of the last pass that ended with nothing left to do. */
  lastSyncAt?: string;
  lastError?: string;
  /**
   * What kind of failure `lastError` is, for decisions (notifications, buttons) that must
   * not parse message text. 'host-key-changed' and 'host-key-revoked' never clear by retrying.
   */
  lastErrorKind?:
    | 'host-key-changed'
    | 'host-key-revoked'
    | 'host-key-unknown'
    | 'auth'
    /** The remote folder does not exist and cannot be created (a wrong path, no permission). */
    | 'remote-root'
    | 'connection'
    | 'needs-secret'
    | 'other';
  failedItems: FailedItem[];
  /** Sockets, FIFOs and devices in the folder: never synced, not failures (at most 100). */
  skipped: SkippedFile[];
  conflictCount: number;
  /** Paths changed on the server only (push mode leaves them; a later local edit makes a conflict). */
  drift: string[];
  /** 'live' with working file events; 'polling' after the watcher failed (periodic full scans). */
  watcher: 'live' | 'polling' | 'off';
  watcherMessage?: string;
  /** Idle with nothing queued, failed or halted: the server holds what the folder holds. */
  inSync: boolean;
  /**
   * A command after sync failed (exit status not 0, timed out, could not start): the sync
   * itself stands; shown until the next pass on this target.
   */
  hookFailed?: HookReport;
  /**
   * Set while state is 'held': the canary target this one waits for, and why; `failed` when
   * the canary failed (the rollout stopped) rather than is still at work (a normal wait).
   */
  held?: { canary: string; message: string; output?: string[]; failed?: boolean };
  /** A folder with several targets: each target's own status (its `remote` names it). */
  targets?: FolderStatus[];
  /**
   * Regular files in the local folder (ignored ones left out) and their total size, as the
   * latest local scans found them (local-side.ts); absent before the first scan. Set on the
   * folder's status, not on each target's.
   */
  localFiles?: number;
  localBytes?: number;
}

/** A status with every counter at zero: the state of a folder before its loop has run. */
export function newFolderStatus(
  base: Pick<FolderStatus, 'id' | 'localRoot' | 'remote' | 'mode'> & Partial<FolderStatus>,
): FolderStatus {
  return {
    state: 'starting',
    queued: 0,
    inFlight: 0,
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    throughputBps: 0,
    failedItems: [],
    skipped: [],
    conflictCount: 0,
    drift: [],
    watcher: 'off',
    inSync: false,
    ...base,
  };
}
