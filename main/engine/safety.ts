/**
 * Safety rails, checked before a plan runs (pure). Modelled on Mutagen's halts on root
 * deletion/emptying and rclone bisync's --max-delete: when the local root looks gone, or a
 * plan would delete a large share of the server's files, the folder halts instead of
 * propagating what is most likely an accident (an unmounted disk, a wrong path, `rm -rf`).
 */
import type { HaltReason, Plan, SyncMode } from '../core/plan.ts';
import { comparePaths, hasAncestorOrSelfIn, type Snapshot } from '../core/tree.ts';

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
 * Every server file (anything but a directory) the plan deletes, whole trees expanded, in
 * {@link comparePaths} order: what a confirmation of the deletes approves. Counted as
 * `plan.deletedFiles` counts (a file cleared for a directory of the same name is not).
 */
export function deletedServerFiles(plan: Plan, remote: Snapshot): string[] {
  const removed = new Set<string>();
  const cleared = new Set<string>();
  for (const o of plan.ops) {
    if (o.op === 'remove') removed.add(o.path);
    else if (o.op === 'clear' && o.kind === 'dir') cleared.add(o.path);
  }
  if (removed.size === 0 && cleared.size === 0) return [];
  const out: string[] = [];
  for (const [p, e] of remote) {
    if (e.kind === 'dir') continue;
    if (hasAncestorOrSelfIn(removed, p) || (!cleared.has(p) && hasAncestorOrSelfIn(cleared, p))) out.push(p);
  }
  return out.sort(comparePaths);
}

/**
 * `local` is the full local snapshot when `fullScan` is true. A scoped rescan cannot see the
 * whole root, so the emptiness rule only applies to full scans; a missing root always halts.
 *
 * `approved` is the set of server files the user confirmed deleting after a halt: a plan
 * whose deletions all lie in it passes the delete rails; one that deletes anything else halts
 * again, so a confirmation never approves more than what was shown.
 */
export function checkSafety(args: {
  ancestor: Snapshot;
  local: Snapshot;
  plan: Plan;
  /** {@link deletedServerFiles} of the plan; needed for `approved` and the first-mirror rule. */
  deletions?: readonly string[];
  /** Default 'push'. */
  mode?: SyncMode;
  fullScan: boolean;
  /** `--allow-mass-delete`: the delete rails are off for this folder. */
  allowMassDelete: boolean;
  approved?: ReadonlySet<string> | undefined;
  limits?: SafetyLimits;
}): HaltReason | undefined {
  const limits = args.limits ?? DEFAULT_SAFETY_LIMITS;
  const ancestorFiles = countAncestorFiles(args.ancestor);
  if (args.local.get('')?.kind !== 'dir') return { kind: 'root-missing' };
  const { approved, deletions } = args;
  if (args.allowMassDelete) return undefined;
  if (approved !== undefined && deletions !== undefined && deletions.every((p) => approved.has(p))) return undefined;
  if (args.fullScan && ancestorFiles > 0 && args.local.size === 1) return { kind: 'root-emptied', ancestorFiles };
  if (args.mode === 'mirror' && args.ancestor.size <= 1 && deletions !== undefined && deletions.length > 0)
    return { kind: 'first-mirror-sync', deletes: deletions.length };
  const deletes = args.plan.deletedFiles;
  if (deletes > limits.maxDeleteCount && deletes > ancestorFiles * limits.maxDeleteShare)
    return { kind: 'mass-delete', deletes, ancestorFiles };
  return undefined;
}

/**
 * The rails for one plan, as both a pass and a dry run check them: a missing local root
 * halts (with what the root's link says, if it is one); otherwise {@link checkSafety} over
 * the plan's deletions. Returns the deletions too: what a confirmation of the halt approves.
 */
export function railsFor(args: {
  ancestor: Snapshot;
  local: Snapshot;
  remote: Snapshot;
  plan: Plan;
  mode: SyncMode;
  fullScan: boolean;
  allowMassDelete: boolean;
  approved?: ReadonlySet<string> | undefined;
  rootLink?: Omit<Extract<HaltReason, { kind: 'root-missing' }>, 'kind'>;
}): { halt: HaltReason | undefined; deletions: string[] } {
  if (args.local.get('')?.kind !== 'dir') return { halt: { kind: 'root-missing', ...args.rootLink }, deletions: [] };
  const deletions = deletedServerFiles(args.plan, args.remote);
  return { halt: checkSafety({ ...args, deletions }), deletions };
}

/** A sentence for the user, with what they can do. */
export function describeHalt(reason: HaltReason, localRoot: string): string {
  switch (reason.kind) {
    case 'root-missing':
      if (reason.link !== undefined && reason.linkWas !== undefined)
        return `The local folder ${localRoot} is a symbolic link that now points to ${reason.link}, not to ${reason.linkWas} as when Ferry started. Ferry halted this folder and changed nothing on the server; point the link back, or restart Ferry to sync what it points to now.`;
      if (reason.link !== undefined)
        return `The local folder ${localRoot} is a symbolic link to ${reason.link}, which is missing or not a directory (deleted, renamed, re-pointed or on a disk that is not mounted). Ferry halted this folder and changed nothing on the server; restore the folder or the link, then resume.`;
      return `The local folder ${localRoot} is missing or not a directory (deleted, renamed or on a disk that is not mounted). Ferry halted this folder and changed nothing on the server; restore the folder, then resume.`;
    case 'root-emptied':
      return `The local folder ${localRoot} is empty, but it held ${reason.ancestorFiles} file(s) at the last sync (an unmounted disk looks like this). Ferry halted this folder and deleted nothing on the server. If you really emptied it, confirm the deletes (in the Ferry window, or with --allow-mass-delete on the command line); otherwise mount or restore it.`;
    case 'first-mirror-sync':
      return `This is the first sync of ${localRoot} in mirror mode, and it would delete ${reason.deletes} file(s) on the server that Ferry has never synced (is the target path right?). Ferry halted this folder and deleted nothing; check the target, then confirm the deletes (in the Ferry window, or with --allow-mass-delete on the command line).`;
    case 'mass-delete':
      return `This sync would delete ${reason.deletes} of ${reason.ancestorFiles} file(s) on the server. Ferry halted this folder until you decide; check ${localRoot}, then confirm the deletes (in the Ferry window, or with --allow-mass-delete on the command line), cancel them, or restore the files.`;
  }
}
