/**
 * Safety rails, checked before a plan runs (pure). Modelled on Mutagen's halts on root
 * deletion/emptying and rclone bisync's --max-delete: when the local root looks gone, or a
 * plan would delete a large share of the server's files, the folder halts instead of
 * propagating what is most likely an accident (an unmounted disk, a wrong path, `rm -rf`).
 */
import type { HaltReason, Plan } from '../core/plan.ts';
import type { Snapshot } from '../core/tree.ts';

export interface SafetyLimits {
  /** Deletes above this share of the ancestor's files (0..1) need confirmation ... */
  maxDeleteShare: number;
  /** ... and only when they are also more than this many files. */
  maxDeleteCount: number;
}

export const DEFAULT_SAFETY_LIMITS: SafetyLimits = { maxDeleteShare: 0.5, maxDeleteCount: 100 };

export function countAncestorFiles(ancestor: Snapshot): number {
  let n = 0;
  for (const e of ancestor.values()) if (e.kind !== 'dir') n++;
  return n;
}

/**
 * `local` is the full local snapshot when `fullScan` is true. A scoped rescan cannot see the
 * whole root, so the emptiness rule only applies to full scans; a missing root always halts.
 */
export function checkSafety(args: {
  ancestor: Snapshot;
  local: Snapshot;
  plan: Plan;
  fullScan: boolean;
  allowMassDelete: boolean;
  limits?: SafetyLimits;
}): HaltReason | undefined {
  const limits = args.limits ?? DEFAULT_SAFETY_LIMITS;
  const ancestorFiles = countAncestorFiles(args.ancestor);
  if (args.local.get('')?.kind !== 'dir') return { kind: 'root-missing' };
  if (!args.allowMassDelete && args.fullScan && ancestorFiles > 0 && args.local.size === 1)
    return { kind: 'root-emptied', ancestorFiles };
  const deletes = args.plan.deletedFiles;
  if (!args.allowMassDelete && deletes > limits.maxDeleteCount && deletes > ancestorFiles * limits.maxDeleteShare)
    return { kind: 'mass-delete', deletes, ancestorFiles };
  return undefined;
}

/** A sentence for the user, with what they can do. */
export function describeHalt(reason: HaltReason, localRoot: string): string {
  switch (reason.kind) {
    case 'root-missing':
      return `The local folder ${localRoot} is missing or not a directory (deleted, renamed or on a disk that is not mounted). Ferry halted this folder and changed nothing on the server; restore the folder, then resume.`;
    case 'root-emptied':
      return `The local folder ${localRoot} is empty, but it held ${reason.ancestorFiles} file(s) at the last sync (an unmounted disk looks like this). Ferry halted this folder and deleted nothing on the server. If you really emptied it, confirm the deletes (in the Ferry window, or with --allow-mass-delete on the command line); otherwise mount or restore it.`;
    case 'mass-delete':
      return `This sync would delete ${reason.deletes} of ${reason.ancestorFiles} file(s) on the server. Ferry halted this folder until you decide; check ${localRoot}, then confirm the deletes (in the Ferry window, or with --allow-mass-delete on the command line), cancel them, or restore the files.`;
  }
}
