/**
 * Runs a plan against a transport, phase by phase, and updates the ancestor from what
 * actually happened (never from the plan): an op that failed leaves the ancestor as it was
 * for its path, so the next pass plans it again.
 *
 * Inside a phase, each kind of server op is one {@link Step} (the table in applyPlan): a
 * batch call to the transport and what a success records in the ancestor. The rest is
 * written once, in the step runner: which ops may run, outcomes, and the bookkeeping of
 * server entries that could not be moved aside or created.
 */
import { creationsOf, notCreatedError, ofKind, type Creation, type OpOf, type Step } from './apply-steps.ts';
import { OP_PHASE, type Conflict, type Plan, type PlanOp } from '../core/plan.ts';
import { conflictCopyName } from '../core/conflict-name.ts';
import { sendUploads } from './apply-uploads.ts';
import { comparePaths, isWithin, parentOf, subtreesOf, type Entry, type Snapshot } from '../core/tree.ts';
import { dropSubtree, moveSubtree, recordEntry } from './ancestor-edits.ts';
import type {
  ItemResult,
  KeptServerCopy,
  RemoteTransport,
  RemoveItem,
  TransferErrorCode,
  UploadResult,
} from '../transport/transport.ts';

export interface FileOutcome {
  path: string;
  op: PlanOp['op'] | 'keep-remote-copy';
  ok: boolean;
  error?: string;
  errorCode?: TransferErrorCode;
  bytes?: number;
  /** For renames, failed ones too: where it came from. */
  from?: string;
}

export interface AppliedConflict extends Conflict {
  /** Where the server's version was kept, for 'kept-remote-copy'. */
  conflictCopyPath?: string;
  /** Set when resolving the conflict failed (the op will be retried). */
  error?: string;
  /** A sentence for the log about how the conflict came about. */
  note?: string;
}

export interface ApplyResult {
  outcomes: FileOutcome[];
  conflicts: AppliedConflict[];
  /** Local files that changed while being sent: rescan them. */
  changedDuringUpload: string[];
  /** Uploads not sent because the local file changed since the scan (`localChanged`). */
  notLanded: string[];
  /**
   * Creations recorded in the ancestor before acting, as the engine records the others (see
   * journal.ts plannedCreations), but only once the clear that makes room for them succeeded.
   */
  recordedAfterClear: Map<string, Entry>;
}

export interface ApplyContext {
  plan: Plan;
  transport: RemoteTransport;
  /**
   * rsync, used instead of `transport` for files of at least `deltaThreshold` bytes and for
   * bulky passes (see upload-route.ts for the rule).
   */
  deltaTransport?: RemoteTransport;
  deltaThreshold?: number;
  bulkThreshold?: number;
  /** With bulkThreshold: a pass whose small uploads add up to this many bytes is bulk too (see upload-route.ts). */
  bulkBytes?: number;
  localRoot: string;
  /** Mutated in place. */
  ancestor: Map<string, Entry>;
  /** Where what this plan deletes or overwrites on the server goes instead (relative), with --trash. */
  trashDir?: string;
  /** What the server held when the plan was made (for conflict copy names). */
  remote: Snapshot;
  now: () => Date;
  onProgress?: (bytes: number, files: number) => void;
  onOutcome?: (o: FileOutcome) => void;
  /** Each conflict as soon as it is resolved (so its log record survives a kill mid-plan). */
  onConflict?: (c: AppliedConflict) => void;
  /** Checked between phases; true stops before the next phase (pause or shutdown). */
  shouldStop?: () => boolean;
  /** Uploads at these paths land even if the file changed since the scan (UploadItem.landIfChanged). */
  landIfChanged?: (path: string) => boolean;
}

export async function applyPlan(ctx: ApplyContext): Promise<ApplyResult> {
  const { plan, transport, ancestor } = ctx;
  const outcomes: FileOutcome[] = [];
  const conflicts: AppliedConflict[] = [];
  const changedDuringUpload: string[] = [];
  const notLanded: string[] = [];
  const recordedAfterClear = new Map<string, Entry>();
  const conflictByPath = new Map(plan.conflicts.map((c) => [c.path, c]));
  const takenNames = new Set(ctx.remote.keys());
  /** Creation path -> where the server's version is kept (ops with keepRemoteCopy), named as each phase starts. */
  const copyPaths = new Map<string, string>();
  const emit = (o: FileOutcome) => {
    outcomes.push(o);
    ctx.onOutcome?.(o);
  };
  const fail = (op: FileOutcome['op'], r: ItemResult, from?: string) =>
    emit({
      path: r.path,
      ...(from !== undefined ? { from } : {}),
      op,
      ok: false,
      error: r.error ?? 'unknown error',
      ...(r.errorCode ? { errorCode: r.errorCode } : {}),
    });
  const addConflict = (c: AppliedConflict) => {
    conflicts.push(c);
    ctx.onConflict?.(c);
  };
  const noteConflict = (path: string, conflictCopyPath: string | undefined, error?: string) => {
    const c = conflictByPath.get(path);
    if (!c) return;
    addConflict({ ...c, ...(conflictCopyPath ? { conflictCopyPath } : {}), ...(error ? { error } : {}) });
  };

  /** A server entry the transport found changed since the scan and kept instead of destroying. */
  const keptServerCopy = (k: KeptServerCopy) => {
    takenNames.add(k.copy);
    addConflict({
      path: k.path,
      kind: 'server-changed-during-sync',
      resolution: 'kept-remote-copy',
      conflictCopyPath: k.copy,
      ...(k.found ? { remote: k.found } : {}),
      note: `changed on the server after Ferry scanned it; kept as ${k.copy}`,
    });
  };
  /** Expectations for removals: what the scan saw at and below each removed path. */
  const expectedBelow = (paths: readonly string[]) => subtreesOf(ctx.remote, paths);

  // Conflicts without a server action (skipped local deletes) are final as planned.
  for (const c of plan.conflicts) if (c.resolution === 'skipped-local-delete') addConflict(c);

  /**
   * Server entries that had to be moved aside (conflict copies) and could not be: nothing is
   * created at or below them, in this phase or a later one (below a server symlink that
   * would land wherever it points). They fail as 'keep-remote-copy' and are planned again.
   */
  const blocked = new Set<string>();
  const isBlocked = (path: string) => blocked.size > 0 && [...blocked].some((b) => isWithin(path, b));
  /**
   * Directories the server refused to create and rename targets it refused: nothing is
   * created below them for the rest of the pass, and those ops fail (the next pass plans them
   * again). A transport asked to create below a missing directory may create it by itself
   * (rsync does, with default permissions); such a directory would be on the server yet
   * unknown to the ancestor, would pass for the server's own, and would stay there for good
   * once deleted locally.
   */
  const notCreated = new Set<string>();
  const notCreatedAbove = (path: string): string | undefined => {
    if (notCreated.size === 0 || path === '') return undefined;
    for (let p = parentOf(path); ; p = parentOf(p)) {
      if (notCreated.has(p)) return p;
      if (p === '') return undefined;
    }
  };

  /** Runs one step on a phase's ops: filters them, calls the transport, reports each result once. */
  const step =
    <O, R extends ItemResult = ItemResult>(s: Step<O, R>) =>
    async (phaseOps: PlanOp[]): Promise<void> => {
      const ops = s.select(phaseOps).filter((o) => {
        if (s.guarded?.(o).some(isBlocked)) return false;
        if (!s.creates) return true;
        const { path, from } = s.target(o);
        const above = notCreatedAbove(path);
        if (above === undefined) return true;
        const error = notCreatedError(above);
        fail(s.op, { path, error }, from);
        return false;
      });
      if (ops.length === 0) return;
      const settled = new Set<number>();
      const settle = (i: number, r: R) => {
        const o = ops[i];
        if (o === undefined || settled.has(i)) return;
        settled.add(i);
        if (r.keptServerCopy) keptServerCopy(r.keptServerCopy);
        if (s.observe?.(o, r)) return;
        const { path, from } = s.target(o);
        if (r.serverChanged) {
          // Something appeared on the server after the scan; nothing was destroyed. Rescan.
          changedDuringUpload.push(path);
          return;
        }
        if (r.error || s.succeeded(o, r) === false) {
          fail(s.op, { ...r, path }, from);
          s.failed?.(o, r);
          return;
        }
        const bytes = s.bytes?.(r);
        emit({
          path,
          ...(from !== undefined ? { from } : {}),
          op: s.op,
          ok: true,
          ...(bytes !== undefined ? { bytes } : {}),
        });
      };
      const results = await s.send(ops, settle);
      results.forEach((r, i) => {
        if (r !== undefined) settle(i, r);
      });
    };

  const at = (o: { path: string }) => ({ path: o.path });
  /** The steps of every phase, in the order they run (each phase holds the ops of a few). */
  const steps = [
    step<OpOf<'clear'>>({
      op: 'clear',
      select: (ops) => ofKind(ops, 'clear'),
      target: at,
      send: (ops) => transport.remove(removals(ops)),
      succeeded: (o) => {
        dropSubtree(ancestor, o.path);
        recordCreationsAt(o.path);
      },
    }),
    // Creations that must first keep the server's version as a conflict copy. Uploads carry
    // the copy into the transport (so rsync can use --backup); other kinds move it first.
    step<{ o: Creation; copy: string }>({
      op: 'keep-remote-copy',
      select: (ops) =>
        creationsOf(ops).flatMap((o) => {
          const copy = copyPaths.get(o.path);
          return o.op === 'upload' || copy === undefined ? [] : [{ o, copy }];
        }),
      target: ({ o }) => at(o),
      send: (moves) => transport.rename(moves.map(({ o, copy }) => ({ from: o.path, to: copy }))),
      succeeded: ({ o, copy }) => {
        dropSubtree(ancestor, o.path);
        noteConflict(o.path, copy);
      },
      failed: ({ o }, r) => {
        blocked.add(o.path);
        noteConflict(o.path, undefined, r.error);
      },
    }),
    step<OpOf<'mkdir'>>({
      op: 'mkdir',
      select: (ops) => ofKind(ops, 'mkdir'),
      target: at,
      guarded: (o) => [o.path],
      creates: true,
      send: (ops) => transport.mkdir(ops.map((o) => ({ path: o.path, mode: o.entry.mode }))),
      succeeded: (o) => recordEntry(ancestor, o.path, o.entry),
      failed: (o) => notCreated.add(o.path),
    }),
    step<OpOf<'rename'>>({
      op: 'rename',
      select: (ops) => ofKind(ops, 'rename'),
      target: (o) => ({ path: o.to, from: o.from }),
      guarded: (o) => [o.to, o.from],
      creates: true,
      send: (ops) => transport.rename(ops.map((o) => ({ from: o.from, to: o.to }))),
      succeeded: (o) => moveSubtree(ancestor, o.from, o.to),
      failed: (o) => {
        if (o.kind === 'dir') notCreated.add(o.to);
      },
    }),
    step<OpOf<'upload'>, UploadResult>({
      op: 'upload',
      select: (ops) => ofKind(ops, 'upload'),
      target: at,
      guarded: (o) => [parentOf(o.path)],
      creates: true,
      send: (ops, settle) => sendUploads(ctx, ops, copyPaths, settle),
      observe: (o, r) => {
        // Changed since the scan, so not landed: nothing happened on the server. Rescan it.
        if (r.localChanged) {
          changedDuringUpload.push(o.path);
          notLanded.push(o.path);
          return true;
        }
        if (o.keepRemoteCopy)
          noteConflict(o.path, r.error ? undefined : (r.conflictCopyPath ?? copyPaths.get(o.path)), r.error);
        // Deleted or moved since the scan: rescan it rather than count a failure.
        if (r.localVanished) changedDuringUpload.push(o.path);
        return r.localVanished === true;
      },
      succeeded: (o, r) => {
        if (!r.uploaded) return false;
        recordEntry(ancestor, o.path, r.uploaded);
        if (r.changedDuringUpload) changedDuringUpload.push(o.path);
      },
      bytes: (r) => r.uploaded?.size,
    }),
    step<OpOf<'symlink'>>({
      op: 'symlink',
      select: (ops) => ofKind(ops, 'symlink'),
      target: at,
      guarded: (o) => [o.path],
      creates: true,
      send: (ops) => transport.symlink(ops.map((o) => ({ path: o.path, target: o.entry.target }))),
      succeeded: (o) => recordEntry(ancestor, o.path, o.entry),
    }),
    step<OpOf<'setAttributes'>>({
      op: 'setAttributes',
      select: (ops) => ofKind(ops, 'setAttributes'),
      target: at,
      guarded: (o) => [o.path],
      send: (ops) =>
        transport.setAttributes(
          ops.map((o) => ({
            path: o.path,
            mode: o.mode,
            ...(o.mtimeMs !== undefined ? { mtimeMs: o.mtimeMs } : {}),
            expected: o.expected,
          })),
        ),
      succeeded: (o) => {
        // Keep the content hash we knew: only attributes changed.
        const before = ancestor.get(o.path);
        const entry =
          o.entry.kind === 'file' && before?.kind === 'file' && before.hash
            ? { ...o.entry, hash: before.hash }
            : o.entry;
        recordEntry(ancestor, o.path, entry);
      },
    }),
    step<OpOf<'remove'>>({
      op: 'remove',
      select: (ops) => ofKind(ops, 'remove'),
      target: at,
      send: (ops) => transport.remove(removals(ops)),
      succeeded: (o) => dropSubtree(ancestor, o.path),
    }),
  ];

  const phases = [...new Set(plan.ops.map((o) => OP_PHASE[o.op]))].sort((a, b) => a - b);
  const deferredForgets: string[] = [];
  for (const phase of phases) {
    if (ctx.shouldStop?.()) break;
    const ops = plan.ops.filter((o) => OP_PHASE[o.op] === phase);
    // Ancestor-only ops first: they need no server.
    for (const o of ofKind(ops, 'adopt')) recordEntry(ancestor, o.path, o.entry);
    for (const o of ofKind(ops, 'forget')) {
      if (o.subtree) dropSubtree(ancestor, o.path);
      else deferredForgets.push(o.path);
    }
    for (const o of creationsOf(ops)) {
      if (!o.keepRemoteCopy) continue;
      const name = conflictCopyName(o.path, ctx.now(), (p) => takenNames.has(p));
      takenNames.add(name);
      copyPaths.set(o.path, name);
    }
    for (const run of steps) await run(ops);
  }
  for (const p of deferredForgets) {
    if (![...ancestor.keys()].some((k) => k !== p && isWithin(k, p))) ancestor.delete(p);
  }
  return { outcomes, conflicts, changedDuringUpload, notLanded, recordedAfterClear };

  /**
   * A path cleared for an entry of another kind: what the plan creates there is recorded in
   * advance now, as the engine recorded the other creations before acting. Otherwise a
   * creation whose outcome is lost (the connection cut after the server acted) would leave a
   * server entry unknown to the ancestor, which push mode then keeps for good, with the
   * directories above it.
   */
  function recordCreationsAt(cleared: string): void {
    const below = creationsOf(plan.ops)
      .filter((c) => !c.keepRemoteCopy && isWithin(c.path, cleared))
      .sort((x, y) => comparePaths(x.path, y.path));
    for (const c of below) {
      const parent = parentOf(c.path);
      if (c.path === '' || ancestor.has(c.path)) continue;
      if (parent !== '' && ancestor.get(parent)?.kind !== 'dir') continue;
      ancestor.set(c.path, c.entry);
      recordedAfterClear.set(c.path, c.entry);
    }
  }

  /** Removal items, each with what the scan saw at and below its path. */
  function removals(ops: { path: string; kind: Entry['kind'] }[]): RemoveItem[] {
    const below = expectedBelow(ops.map((o) => o.path));
    return ops.map((o) => ({
      path: o.path,
      kind: o.kind,
      expected: below.get(o.path) ?? new Map(),
      ...(ctx.trashDir !== undefined ? { trash: ctx.trashDir } : {}),
    }));
  }
}
