/**
 * Runs a plan against a transport, phase by phase, and updates the ancestor from what
 * actually happened (never from the plan): an op that failed leaves the ancestor as it was
 * for its path, so the next pass plans it again.
 */
import { OP_PHASE, type Conflict, type Plan, type PlanOp } from '../core/plan.ts';
import { conflictCopyName } from '../core/conflict-name.ts';
import { localPathOf } from './local-scan.ts';
import { routeUploads } from './upload-route.ts';
import { isWithin, parentOf, type Entry, type Snapshot } from '../core/tree.ts';
import { dropSubtree, moveSubtree, recordEntry } from './ancestor-edits.ts';
import type {
  ItemResult,
  RemoteTransport,
  TransferErrorCode,
  UploadItem,
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
}

export interface ApplyResult {
  outcomes: FileOutcome[];
  conflicts: AppliedConflict[];
  /** Local files that changed while being sent: rescan them. */
  changedDuringUpload: string[];
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
  /** What the server held when the plan was made (for conflict copy names). */
  remote: Snapshot;
  now: () => Date;
  onProgress?: (bytes: number, files: number) => void;
  onOutcome?: (o: FileOutcome) => void;
  /** Checked between phases; true stops before the next phase (pause or shutdown). */
  shouldStop?: () => boolean;
}

export async function applyPlan(ctx: ApplyContext): Promise<ApplyResult> {
  const { plan, transport, ancestor } = ctx;
  const outcomes: FileOutcome[] = [];
  const conflicts: AppliedConflict[] = [];
  const changedDuringUpload: string[] = [];
  const conflictByPath = new Map(plan.conflicts.map((c) => [c.path, c]));
  const takenNames = new Set(ctx.remote.keys());
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

  // Conflicts without a server action (skipped local deletes) are final as planned.
  for (const c of plan.conflicts) if (c.resolution === 'skipped-local-delete') conflicts.push(c);

  const phases = [...new Set(plan.ops.map((o) => OP_PHASE[o.op]))].sort((a, b) => a - b);
  const deferredForgets: string[] = [];
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
   * (rsync does, with default permissions): a directory Ferry had failed to create, yet on the
   * server and unknown to the ancestor, passed for the server's own and stayed there for good
   * once deleted locally (a short soak).
   */
  const notCreated = new Set<string>();
  const notCreatedAbove = (path: string): string | undefined => {
    if (notCreated.size === 0) return undefined;
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) if (notCreated.has(p)) return p;
    return undefined;
  };
  /** Ops below a directory the server refused to create fail as `op`; the others are returned. */
  const creatable = <O extends PlanOp>(
    ops: O[],
    op: FileOutcome['op'],
    pathOf: (o: O) => string,
    fromOf?: (o: O) => string,
  ): O[] =>
    ops.filter((o) => {
      const above = notCreatedAbove(pathOf(o));
      if (above === undefined) return true;
      fail(
        op,
        {
          path: pathOf(o),
          error: `not created: the server refused to create ${JSON.stringify(above)} first; it is tried again with it`,
        },
        fromOf?.(o),
      );
      return false;
    });
  for (const phase of phases) {
    if (ctx.shouldStop?.()) break;
    const ops = plan.ops.filter((o) => OP_PHASE[o.op] === phase);
    const of = <K extends PlanOp['op']>(k: K) => ops.filter((o): o is Extract<PlanOp, { op: K }> => o.op === k);

    for (const o of of('adopt')) recordEntry(ancestor, o.path, o.entry);
    for (const o of of('forget')) {
      if (o.subtree) dropSubtree(ancestor, o.path);
      else deferredForgets.push(o.path);
    }

    const clears = of('clear');
    if (clears.length) {
      const res = await transport.remove(clears.map((o) => ({ path: o.path, kind: o.kind })));
      res.forEach((r, i) => {
        if (r.error) return fail('clear', r);
        dropSubtree(ancestor, (clears[i] as { path: string }).path);
        emit({ path: r.path, op: 'clear', ok: true });
      });
    }

    // Creations that must first keep the server's version as a conflict copy.
    const creations = [...of('mkdir'), ...of('upload'), ...of('symlink')];
    const copyPaths = new Map<string, string>();
    for (const o of creations) {
      if (!o.keepRemoteCopy) continue;
      const name = conflictCopyName(o.path, ctx.now(), (p) => takenNames.has(p));
      takenNames.add(name);
      copyPaths.set(o.path, name);
    }
    // Uploads carry the copy into the transport (so rsync can use --backup); other kinds move it first.
    const moveFirst = creations.filter((o) => o.op !== 'upload' && copyPaths.has(o.path));
    if (moveFirst.length) {
      const res = await transport.rename(moveFirst.map((o) => ({ from: o.path, to: copyPaths.get(o.path) as string })));
      res.forEach((r, i) => {
        const o = moveFirst[i] as PlanOp & { path: string };
        if (r.error) {
          blocked.add(o.path);
          fail('keep-remote-copy', { ...r, path: o.path });
          noteConflict(o.path, undefined, r.error);
        } else {
          dropSubtree(ancestor, o.path);
          emit({ path: o.path, op: 'keep-remote-copy', ok: true });
          noteConflict(o.path, copyPaths.get(o.path));
        }
      });
    }

    const mkdirs = creatable(
      of('mkdir').filter((o) => !isBlocked(o.path)),
      'mkdir',
      (o) => o.path,
    );
    if (mkdirs.length) {
      const res = await transport.mkdir(mkdirs.map((o) => ({ path: o.path, mode: o.entry.mode })));
      res.forEach((r, i) => {
        const o = mkdirs[i] as Extract<PlanOp, { op: 'mkdir' }>;
        if (r.error) {
          notCreated.add(o.path);
          return fail('mkdir', r);
        }
        recordEntry(ancestor, o.path, o.entry);
        emit({ path: o.path, op: 'mkdir', ok: true });
      });
    }

    const renames = creatable(
      of('rename').filter((o) => !isBlocked(o.to) && !isBlocked(o.from)),
      'rename',
      (o) => o.to,
      (o) => o.from,
    );
    if (renames.length) {
      const res = await transport.rename(renames.map((o) => ({ from: o.from, to: o.to })));
      res.forEach((r, i) => {
        const o = renames[i] as Extract<PlanOp, { op: 'rename' }>;
        if (r.error) {
          if (o.kind === 'dir') notCreated.add(o.to);
          return fail('rename', { ...r, path: o.to }, o.from);
        }
        moveSubtree(ancestor, o.from, o.to);
        emit({ path: o.to, from: o.from, op: 'rename', ok: true });
      });
    }

    const uploads = creatable(
      of('upload').filter((o) => !isBlocked(parentOf(o.path))),
      'upload',
      (o) => o.path,
    );
    if (uploads.length) await runUploads(uploads, copyPaths);

    const links = creatable(
      of('symlink').filter((o) => !isBlocked(o.path)),
      'symlink',
      (o) => o.path,
    );
    if (links.length) {
      const res = await transport.symlink(links.map((o) => ({ path: o.path, target: o.entry.target })));
      res.forEach((r, i) => {
        const o = links[i] as Extract<PlanOp, { op: 'symlink' }>;
        if (r.error) return fail('symlink', r);
        recordEntry(ancestor, o.path, o.entry);
        emit({ path: o.path, op: 'symlink', ok: true });
      });
    }

    const attrs = of('setAttributes').filter((o) => !isBlocked(o.path));
    if (attrs.length) {
      const res = await transport.setAttributes(
        attrs.map((o) => ({ path: o.path, mode: o.mode, ...(o.mtimeMs !== undefined ? { mtimeMs: o.mtimeMs } : {}) })),
      );
      res.forEach((r, i) => {
        const o = attrs[i] as Extract<PlanOp, { op: 'setAttributes' }>;
        if (r.error) return fail('setAttributes', r);
        // Keep the content hash we knew: only attributes changed.
        const before = ancestor.get(o.path);
        const entry =
          o.entry.kind === 'file' && before?.kind === 'file' && before.hash
            ? { ...o.entry, hash: before.hash }
            : o.entry;
        recordEntry(ancestor, o.path, entry);
        emit({ path: o.path, op: 'setAttributes', ok: true });
      });
    }

    const removes = of('remove');
    if (removes.length) {
      const res = await transport.remove(removes.map((o) => ({ path: o.path, kind: o.kind })));
      res.forEach((r, i) => {
        const o = removes[i] as Extract<PlanOp, { op: 'remove' }>;
        if (r.error) return fail('remove', r);
        dropSubtree(ancestor, o.path);
        emit({ path: o.path, op: 'remove', ok: true });
      });
    }
  }
  for (const p of deferredForgets) {
    if (![...ancestor.keys()].some((k) => k !== p && isWithin(k, p))) ancestor.delete(p);
  }
  return { outcomes, conflicts, changedDuringUpload };

  function noteConflict(path: string, conflictCopyPath: string | undefined, error?: string) {
    const c = conflictByPath.get(path);
    if (!c) return;
    conflicts.push({ ...c, ...(conflictCopyPath ? { conflictCopyPath } : {}), ...(error ? { error } : {}) });
  }

  async function runUploads(uploads: Extract<PlanOp, { op: 'upload' }>[], copyPaths: Map<string, string>) {
    const toItem = (o: Extract<PlanOp, { op: 'upload' }>): UploadItem => ({
      path: o.path,
      localPath: localPathOf(ctx.localRoot, o.path),
      expected: o.entry,
      ...(copyPaths.has(o.path) ? { conflictCopyPath: copyPaths.get(o.path) as string } : {}),
    });
    const route = routeUploads(uploads, {
      deltaAvailable: ctx.deltaTransport !== undefined,
      deltaThreshold: ctx.deltaThreshold ?? Infinity,
      bulkThreshold: ctx.bulkThreshold ?? Infinity,
      bulkBytes: ctx.bulkBytes ?? Infinity,
      remote: ctx.remote,
    });
    const viaDelta = route.delta;
    const viaMain = route.main;
    const progress = (() => {
      let lastBytes = 0;
      let lastFiles = 0;
      return (p: { bytes: number; files: number }) => {
        ctx.onProgress?.(p.bytes - lastBytes, p.files - lastFiles);
        lastBytes = p.bytes;
        lastFiles = p.files;
      };
    })();
    const batches: [RemoteTransport, Extract<PlanOp, { op: 'upload' }>[]][] = [[transport, viaMain]];
    if (viaDelta.length && ctx.deltaTransport) batches.push([ctx.deltaTransport, viaDelta]);
    for (const [t, ops] of batches) {
      if (!ops.length) continue;
      const settled = new Set<number>();
      const settle = (i: number, r: UploadResult) => {
        if (settled.has(i)) return;
        settled.add(i);
        const o = ops[i] as Extract<PlanOp, { op: 'upload' }>;
        if (o.keepRemoteCopy)
          noteConflict(o.path, r.error ? undefined : (r.conflictCopyPath ?? copyPaths.get(o.path)), r.error);
        if (r.localVanished) {
          // Deleted or moved since the scan: rescan it rather than count a failure.
          changedDuringUpload.push(o.path);
          return;
        }
        if (r.error || !r.uploaded) return fail('upload', r);
        recordEntry(ancestor, o.path, r.uploaded);
        if (r.changedDuringUpload) changedDuringUpload.push(o.path);
        emit({ path: o.path, op: 'upload', ok: true, bytes: r.uploaded.size });
      };
      const res: UploadResult[] = await t.upload(ops.map(toItem), progress, settle);
      res.forEach((r, i) => settle(i, r));
    }
  }
}
