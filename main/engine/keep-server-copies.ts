/**
 * "Cancel the pending deletes" for a halted push folder (pure). The user decided that the
 * files gone locally must stay on the server: every removal in the plan becomes a `forget`,
 * so the server copies stay where they are and drop out of the ancestor. In push mode an
 * entry that is on the server but in neither the ancestor nor the local tree is untracked
 * and left alone, so later passes do not plan the deletes again; if the files come back
 * locally (a disk mounted again) they are adopted or uploaded like any new file.
 *
 * Not for mirror mode: a mirror removes whatever the local side lacks, so forgetting would
 * only postpone the same deletes to the next pass.
 */
import { OP_PHASE, type Plan, type PlanOp } from '../core/plan.ts';

export function keepServerCopies(plan: Plan): Plan {
  const ops: PlanOp[] = plan.ops.map((o) => (o.op === 'remove' ? { op: 'forget', path: o.path, subtree: true } : o));
  // Stable sort: the forgets move to phase 0 with the other ancestor-only ops.
  ops.sort((x, y) => OP_PHASE[x.op] - OP_PHASE[y.op]);
  const removedFiles = plan.ops.some((o) => o.op === 'remove');
  return { ...plan, ops, deletedFiles: removedFiles ? countClearedOnly(plan) : plan.deletedFiles };
}

/**
 * What is still deleted once removals are forgotten: only `clear`s (a path whose kind changed)
 * remain, and reconcile counts a cleared file as zero deletes; cleared directories are rare
 * enough that counting them as one each keeps the number honest without the remote snapshot.
 */
function countClearedOnly(plan: Plan): number {
  return plan.ops.filter((o) => o.op === 'clear' && o.kind === 'dir').length;
}
