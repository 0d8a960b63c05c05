/**
 * What the window does with the paths and logs of one running folder: why a path is or is
 * not on the server, retries, the halt's answers, the conflict log and its marks, and the
 * server trash. Nothing here starts, stops or saves a folder (folder-manager.ts does).
 *
 * Invariant: every path from the window is relative to its folder and resolved through
 * {@link FolderItems.localPathOf}, which refuses anything outside the folder.
 */
import { resolve } from 'node:path';
import { readConflicts } from '../engine/conflict-log.ts';
import type { FolderConfig } from '../engine/folder-loop.ts';
import { explainPath } from '../control/why.ts';
import type { ConflictList, TrashListing, TrashRestoreResult, WhyResult } from '../ipc/contract.ts';
import { addConflictMark, conflictKey, conflictMarksFile, readConflictMarks } from './conflict-marks.ts';
import type { FolderRegistry } from './folder-registry.ts';
import { listServerTrash, restoreServerTrash } from './server-trash.ts';

export class FolderItems {
  readonly #reg: FolderRegistry;

  constructor(registry: FolderRegistry) {
    this.#reg = registry;
  }

  /**
   * A full pass now, which also retries failed items; a paused or halted folder waits for the
   * user. With a server paused on its own, the others sync and that one stays paused.
   */
  syncNow(id: string): void {
    const r = this.#reg.mustGet(id);
    const sync = this.#reg.runningSync(id);
    const status = sync.status();
    const paused = (status.targets ?? [status]).every((t) => t.state === 'paused');
    if (paused) throw new Error(`${sync.config.localRoot} is paused: resume it to sync.`);
    if (status.state === 'halted') throw new Error(`${sync.config.localRoot} is halted: decide on the halt first.`);
    sync.retryFailed();
    for (const t of sync.targets) if (!r.saved.pausedTargets?.includes(t)) sync.resume(t);
  }

  /** Why `path` (relative to the folder) is or is not on the server, as `ferry why` says it. */
  async why(id: string, path: string): Promise<WhyResult> {
    const r = this.#reg.mustGet(id);
    const status = this.#reg.entryOf(r).status;
    const answer = await explainPath(
      this.localPathOf(id, path),
      [
        {
          id,
          localRoot: resolve(r.saved.localPath),
          remote: status.remote,
          stateDir: r.sync?.config.stateDir ?? r.stateDir,
          ignore: r.saved.ignore,
          status,
        },
      ],
      'running',
    );
    return { verdict: answer.verdict, text: answer.text };
  }

  /** Retries failed items now; for a folder in error this also reconnects at once. */
  retryFailed(id: string): void {
    this.#reg.runningSync(id).retryFailed();
  }

  /** Retries one failed path now (the rest keep their backoff). */
  retryPath(id: string, path: string): void {
    const root = resolve(this.#reg.mustGet(id).saved.localPath);
    const rel = this.localPathOf(id, path)
      .slice(root.length + 1)
      .split('\\')
      .join('/');
    if (!rel) throw new Error('Retry a file or folder inside the folder, not the folder itself.');
    this.#reg.runningSync(id).retryPath(rel);
  }

  async listTrash(id: string): Promise<TrashListing> {
    return { folderId: id, ...(await listServerTrash(this.#trashConfig(id))) };
  }

  async restoreFromTrash(id: string, path: string, stamp: string): Promise<TrashRestoreResult> {
    return restoreServerTrash(this.#trashConfig(id), path, stamp);
  }

  #trashConfig(id: string): FolderConfig {
    const r = this.#reg.mustGet(id);
    if (!r.config) throw new Error(`${r.saved.localPath} is not running, so Ferry cannot reach its server.`);
    if (!r.config.trash)
      throw new Error(`${r.saved.localPath} keeps no server trash: turn it on under Edit, Advanced.`);
    return r.config;
  }

  confirmMassDelete(id: string): void {
    this.#reg.runningSync(id).confirmMassDelete();
  }

  /** Keeps the server's copies of the pending deletes (push mode); throws a sentence otherwise. */
  cancelMassDelete(id: string): void {
    this.#reg.runningSync(id).cancelMassDelete();
  }

  async conflicts(id: string): Promise<ConflictList> {
    const r = this.#reg.mustGet(id);
    const log = r.sync ? await readConflicts(r.sync.conflictFile) : { records: [], malformed: 0 };
    const marks = await readConflictMarks(conflictMarksFile(r.stateDir));
    const records = log.records.map((c) => ({ ...c, resolved: marks.has(conflictKey(c.time, c.path)) })).reverse();
    return { folderId: id, records, malformed: log.malformed };
  }

  async markConflictResolved(id: string, time: string, path: string): Promise<void> {
    await addConflictMark(conflictMarksFile(this.#reg.mustGet(id).stateDir), time, path);
    await this.#reg.countConflicts(id);
    this.#reg.changed();
  }

  /** Absolute local path of `rel` inside folder `id`; refuses anything outside it. */
  localPathOf(id: string, rel: string): string {
    const root = resolve(this.#reg.mustGet(id).saved.localPath);
    const abs = resolve(root, rel);
    if (abs !== root && !abs.startsWith(root + '/') && !abs.startsWith(root + '\\')) {
      throw new Error(`${rel} is not inside the folder ${root}.`);
    }
    return abs;
  }
}
