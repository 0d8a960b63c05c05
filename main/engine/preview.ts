/**
 * The dry run: connect, scan both sides, reconcile and check the rails exactly as a pass
 * would, and say what would happen. Nothing is written: not on the server (no temp-file
 * clean-up, no leftover asides settled), not in the index, not in the state directory (it is
 * not even created, and no lock is taken).
 */
import type { HaltReason, Plan } from '../core/plan.ts';
import { openTransports, type TransportOpener } from '../transport/open-transport.ts';
import type { FolderConfig } from './folder-config.ts';
import { folderStateFiles } from './folder-config.ts';
import { loadIndex } from './index-store.ts';
import { readJournal, recoverJournal } from './journal.ts';
import { LocalSide } from './local-side.ts';
import { hashRenameCandidates, isIgnoredPath, scanBothSides, snapshotsOf } from './pass-scan.ts';
import { reconcile } from './reconcile.ts';
import { describeHalt, railsFor } from './safety.ts';
import { dropSkipped } from './skipped-files.ts';

/** How many paths of each kind a preview lists (the counts are complete). */
export const PREVIEW_PATHS = 50;

export interface PlanPreview {
  uploads: { count: number; bytes: number; paths: string[] };
  /** Server entries the plan removes; `files` counts the files in removed trees too. */
  removes: { count: number; files: number; paths: string[] };
  renames: { count: number; paths: { from: string; to: string }[] };
  /** Server versions that would be kept as conflict copies before the local one lands. */
  conflictCopies: { count: number; paths: string[] };
  /** Directories, links and attribute changes. */
  otherChanges: number;
  /** Set when the pass would halt instead (nothing of the above would happen then). */
  halt?: { reason: HaltReason['kind']; message: string };
}

export async function previewFolder(
  config: FolderConfig,
  deps: { openTransports?: TransportOpener } = {},
): Promise<PlanPreview> {
  const files = folderStateFiles(config.stateDir);
  const ancestor = (await loadIndex(files.index)) ?? new Map();
  recoverJournal(await readJournal(files.journal), ancestor);
  const side = new LocalSide(config.localRoot, config.ignore, {
    onDirty: () => undefined,
    onIgnoreFileChanged: () => undefined,
    onWatcherFailed: () => undefined,
  });
  const transports = await (deps.openTransports ?? openTransports)(config.endpoint, config.localRoot, config.transport);
  try {
    await side.reloadIgnores();
    const scanned = await scanBothSides(side, transports.main, ['']);
    const { local, remote } = snapshotsOf(scanned, side.ignores);
    for (const snapshot of [remote, ancestor]) dropSkipped(snapshot, scanned.localScan.skipped);
    for (const [p, e] of [...ancestor]) if (isIgnoredPath(p, e, side.ignores)) ancestor.delete(p);
    await hashRenameCandidates(side, { ancestor, local, remote, scopes: [''] });
    const plan = reconcile({
      ancestor,
      local,
      remote,
      mode: config.mode,
      scopes: [''],
      detectRenames: transports.main.canRename,
    });
    const { halt, deletions } = railsFor({
      ancestor,
      local,
      remote,
      plan,
      mode: config.mode,
      fullScan: true,
      allowMassDelete: config.allowMassDelete,
      rootLink: side.rootLink(),
    });
    return {
      ...summarizePlan(plan, deletions.length),
      ...(halt ? { halt: { reason: halt.kind, message: describeHalt(halt, config.localRoot) } } : {}),
    };
  } finally {
    await side.close();
    await transports.close().catch(() => undefined);
  }
}

/** Counts and the first {@link PREVIEW_PATHS} paths of each kind of server change in `plan`. */
export function summarizePlan(plan: Plan, deletedFiles: number): Omit<PlanPreview, 'halt'> {
  const first = <T>(list: T[]) => list.slice(0, PREVIEW_PATHS);
  const uploads = plan.ops.filter((o) => o.op === 'upload');
  const removes = plan.ops.filter((o) => o.op === 'remove');
  const renames = plan.ops.flatMap((o) => (o.op === 'rename' ? [{ from: o.from, to: o.to }] : []));
  const copies = plan.conflicts.filter((c) => c.resolution === 'kept-remote-copy').map((c) => c.path);
  const other = plan.ops.filter(
    (o) => o.op === 'mkdir' || o.op === 'symlink' || o.op === 'setAttributes' || o.op === 'clear',
  );
  return {
    uploads: {
      count: uploads.length,
      bytes: uploads.reduce((n, o) => n + (o.op === 'upload' ? o.entry.size : 0), 0),
      paths: first(uploads.map((o) => o.path)),
    },
    removes: { count: removes.length, files: deletedFiles, paths: first(removes.map((o) => o.path)) },
    renames: { count: renames.length, paths: first(renames) },
    conflictCopies: { count: copies.length, paths: first(copies) },
    otherChanges: other.length,
  };
}
