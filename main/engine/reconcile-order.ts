/**
 * The last steps of reconcile, shared by every mode: drop ops that must not run (below a
 * server non-directory, inside a tree already removed) and put the rest in phase order.
 */
import { comparePathOrder } from '../core/path-order.ts';
import { OP_PHASE, type PlanOp } from '../core/plan.ts';
import { isWithin, parentOf, type Snapshot } from '../core/tree.ts';

/** Pruned and ordered ops, ready to apply. */
export function finishOps(ops: PlanOp[], remote: Snapshot): PlanOp[] {
  return sortOps(dedupeRemovals(withoutOpsBelowServerNonDirs(ops, remote)));
}

/**
 * The last guard against acting through a server symlink: drops every op on a path below a
 * server entry that is not a directory, unless the plan first clears that entry or moves it
 * aside. On the server `link/x` is wherever `link` points, outside the target.
 */
function withoutOpsBelowServerNonDirs(ops: PlanOp[], remote: Snapshot): PlanOp[] {
  const replaced = new Set<string>();
  for (const o of ops) {
    // Both run before anything is created (phases 1 and 2); removals run last, renames after mkdir.
    if (o.op === 'clear' || (o.op === 'mkdir' && o.keepRemoteCopy)) replaced.add(o.path);
  }
  const blockedAt = (path: string): boolean => {
    for (let a = parentOf(path); a !== ''; a = parentOf(a)) {
      const r = remote.get(a);
      if (r !== undefined && r.kind !== 'dir' && !replaced.has(a)) return true;
    }
    return false;
  };
  return ops.filter((o) =>
    o.op === 'adopt' || o.op === 'forget' ? true : !blockedAt(opPath(o)) && (o.op !== 'rename' || !blockedAt(o.from)),
  );
}

type TreeRemoval = Extract<PlanOp, { op: 'remove' | 'clear' }>;

/** Drop removals (and forgets) nested inside a removed tree; the tree removal covers them. */
function dedupeRemovals(ops: PlanOp[]): PlanOp[] {
  const trees = ops
    .filter((o): o is TreeRemoval => (o.op === 'remove' || o.op === 'clear') && o.kind === 'dir')
    .map((o) => o.path);
  return ops.filter((o) => {
    if (o.op !== 'remove' && o.op !== 'forget') return true;
    return !trees.some((t) => t !== o.path && isWithin(o.path, t));
  });
}

function opPath(o: PlanOp): string {
  return o.op === 'rename' ? o.to : o.path;
}

/** Phase order; inside a phase parents first, except removals (children first). */
function sortOps(ops: PlanOp[]): PlanOp[] {
  return ops.sort((x, y) => {
    const d = OP_PHASE[x.op] - OP_PHASE[y.op];
    if (d !== 0) return d;
    const c = comparePathOrder(opPath(x), opPath(y));
    return x.op === 'remove' ? -c : c;
  });
}
