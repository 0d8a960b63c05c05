/**
 * What one pass did, for people and scripts following a folder (the CLI's per-pass line and
 * `{"event":"pass"}`): FolderSync emits one at the end of every pass that ran, halted or not.
 */
import type { HaltReason } from '../core/plan.ts';
import type { PassSummary } from './pass.ts';
import type { FolderStatus } from './status.ts';

export interface PassReport {
  /** A full pass (the whole folder) rather than a rescan of changed paths. */
  full: boolean;
  /** Files uploaded. */
  uploaded: number;
  /** Server entries removed (a directory counts once). */
  removed: number;
  /** Conflicts logged this pass. */
  conflicts: number;
  /** Items failing after this pass (the retry book, local read errors included). */
  failed: number;
  /** Server operations this pass finished, failed ones included: uploads, removes, renames, directories, links, attributes. */
  operations: number;
  /** Bytes sent. */
  bytes: number;
  durationMs: number;
  /** Sockets, FIFOs and devices the folder holds (never synced; see skipped-files.ts). */
  skipped: number;
  halted?: HaltReason['kind'];
  /** A folder with several targets: local scans made so far, shared by its targets (shared-scans.ts). */
  localScans?: number;
}

/** The report of a pass over `scopes` that ended with `summary` and left `status` behind. */
export function passReport(
  summary: Omit<PassSummary, 'inSync'>,
  status: FolderStatus,
  scopes: readonly string[],
  durationMs: number,
): PassReport {
  // A halted pass applied nothing: the status's counters are still the previous pass's.
  const applied = summary.halted === undefined;
  return {
    full: scopes.includes(''),
    uploaded: summary.uploaded,
    removed: summary.removed,
    conflicts: summary.conflicts,
    failed: summary.failed,
    operations: applied ? status.filesDone : 0,
    bytes: applied ? status.bytesDone : 0,
    durationMs,
    skipped: status.skipped.length,
    ...(summary.halted ? { halted: summary.halted.kind } : {}),
  };
}
