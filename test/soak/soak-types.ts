/** The soak's options and its report (soak.ts runs it; report.ts prints it). */
import type { ChaosFolder, FaultKind } from './chaos.ts';
import type { UnexpectedExit } from './ferry-proc.ts';
import type { Operation } from './mutator.ts';
import type { ServerEditor, ServerOperation } from './server-edits.ts';
import type { ServerEditAccount } from './verify.ts';

export const MiB = 1024 * 1024;
/** Share of the driver's turns that edit the server's copy by default. */
export const DEFAULT_SERVER_SHARE = 0.1;

export interface SoakOptions {
  minutes: number;
  folders?: number;
  seed?: number;
  /** Short runs (CI): faster chaos, smaller trees. */
  short?: boolean;
  /** Keep the work directory when the run fails, with copies of the server's trees. */
  keepOnFailure?: boolean;
  /** Fault kinds to inject (default: all that this machine allows). */
  faults?: readonly FaultKind[];
  /**
   * Share of the driver's turns spent editing the server's copy instead of the local folder
   * (server-edits.ts), 0 to 1; default {@link DEFAULT_SERVER_SHARE}, 0 turns it off.
   */
  serverShare?: number;
  /** Whether one plain folder (the one before the small disk) runs with `--trash` (default true). */
  trash?: boolean;
  log?: (line: string) => void;
}

export interface FolderReport {
  name: string;
  target: string;
  operations: number;
  uploads: number;
  failedItems: number;
  errorStates: number;
  ferryStarts: number;
  conflictRecords: number;
  loggedConflictCopies: string[];
  /** Changes the server driver made in this folder, and where each live version was found at the end. */
  serverOperations: number;
  serverEdits: ServerEditAccount;
  /**
   * How the folder ended the convergence window: 'converged' (idle, in sync and equal to the
   * server), 'claims-in-sync' (idle and in sync, but the server differs) or 'timeout'.
   */
  convergence: 'converged' | 'claims-in-sync' | 'timeout';
  /**
   * The final `ferry sync --once`: its exit code, its file operations other than `restored`
   * (must be none), and how many uploads restored a file the driver had deleted on the
   * server after Ferry's last full pass (only a full pass looks for server deletes).
   */
  finalOnce: { code: number | null; fileEvents: number; restored: number };
  differences: string[];
  unexpectedExits: UnexpectedExit[];
  tail: string[];
}

export interface SoakReport {
  ok: boolean;
  seed: number;
  minutesRequested: number;
  chaosMinutes: number;
  /** Edits after the last fault, before the convergence window (see calmMs). */
  calmSeconds: number;
  convergeSeconds: number;
  operations: Partial<Record<Operation, number>>;
  operationsTotal: number;
  /** The server driver's share of turns, its changes by kind, and those the server refused or that raced Ferry. */
  serverShare: number;
  serverOperations: Partial<Record<ServerOperation, number>>;
  serverOperationsTotal: number;
  serverRefused: Partial<Record<ServerOperation, number>>;
  driverFailures: string[];
  faults: Partial<Record<FaultKind, number>>;
  faultsTotal: number;
  faultsUnavailable: Partial<Record<FaultKind, string>>;
  /**
   * Kinds selected for the run that this machine could not inject for real, with the reason
   * (see fault-policy.ts): in CI each fails the run unless FERRY_SOAK_ALLOW_MISSING names it.
   */
  faultsMissing: Partial<Record<FaultKind, string>>;
  /** Of those, the kinds reported as skipped (outside CI, or opted out), with the reason. */
  faultsSkipped: Partial<Record<FaultKind, string>>;
  diskFullVia: string;
  readOnlyVia: string;
  canaries: string[];
  folders: FolderReport[];
  differences: number;
  problems: string[];
  workDir?: string;
}

/** One soaked folder while the run lasts. */
export interface Folder extends ChaosFolder {
  local: string;
  target: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  convergence: FolderReport['convergence'];
  /** Edits the server's copy (absent when serverShare is 0). */
  server?: ServerEditor;
}
