/**
 * The servers (targets) of a saved folder: adding one, removing one, pausing and resuming
 * one. The first server is the folder's own (its id, its state directory); the others are
 * `moreTargets` in the settings, each with its own state directory named as if the folder
 * synced to it alone. The window names a target by its status `remote` (the lane's name).
 *
 * Invariants:
 * - A change of targets is saved, then the folder restarts with the new list. The folder's
 *   id is its first server's: removing the first server makes the next one first, and the
 *   folder takes that server's id (and its state directory, which it already had).
 * - Removing a server touches nothing on it, and its state directory (index, conflict log)
 *   stays on disk: adding the server again picks up where it was. The last server is not
 *   removed (that is removing the folder).
 * - Each server has its own commands after sync: the first server's are the folder's
 *   `afterSync`/`remoteAfterSync`, the others' are in their `moreTargets` entry, and they
 *   move with the server when the first is removed.
 * - A server paused on its own is in `pausedTargets` and stays paused across restarts and
 *   a folder's pause and resume (folder-registry.ts resumeTargets).
 */
import type { AddTargetRequest, FolderEntry, TargetCommands } from '../ipc/contract.ts';
import { secretKey, type FolderRegistry, type Running } from './folder-registry.ts';
import type { StoredFolder } from './settings-migrations.ts';

export class FolderTargets {
  readonly #reg: FolderRegistry;

  constructor(registry: FolderRegistry) {
    this.#reg = registry;
  }

  /**
   * Adds a server to a folder: it logs in the way the folder does (a key folder may name this
   * server's own key file). The folder restarts with both; its id stays the first server's.
   */
  async add(id: string, req: AddTargetRequest): Promise<FolderEntry> {
    const r = this.#reg.mustGet(id);
    if (req.auth.kind !== r.saved.authKind)
      throw new Error(
        `A server added to ${r.saved.localPath} logs in the way its first server does (${r.saved.authKind}).`,
      );
    const more = {
      host: req.host,
      ...(req.user ? { user: req.user } : {}),
      ...(req.port ? { port: req.port } : {}),
      ...(req.auth.kind === 'key' ? { keyPath: req.auth.keyPath } : {}),
      remotePath: req.remotePath,
      ...(req.remoteAfterSync ? { remoteAfterSync: req.remoteAfterSync } : {}),
    };
    const saved: StoredFolder = { ...r.saved, moreTargets: [...(r.saved.moreTargets ?? []), more] };
    return this.#reg.entry(await this.#restart(id, saved));
  }

  /** Stops syncing to `target` (refused for the folder's last server); the folder restarts without it. */
  async remove(id: string, target: string): Promise<FolderEntry> {
    const r = this.#reg.mustGet(id);
    const names = this.#names(r);
    const i = names.indexOf(target);
    if (i < 0) throw new Error(`${r.saved.localPath} does not sync to ${target}. Reload the folder list.`);
    if (names.length === 1)
      throw new Error(`${target} is the only server of ${r.saved.localPath}: remove the folder to stop syncing it.`);
    const more = r.saved.moreTargets ?? [];
    const { moreTargets: _more, pausedTargets: _paused, ...base } = r.saved;
    const first: StoredFolder = i > 0 ? base : promote(base, more[0]!);
    const rest = i > 0 ? more.filter((_, j) => j !== i - 1) : more.slice(1);
    const paused = (r.saved.pausedTargets ?? []).filter((t) => t !== target);
    const saved: StoredFolder = {
      ...first,
      ...(rest.length ? { moreTargets: rest } : {}),
      ...(paused.length ? { pausedTargets: paused } : {}),
    };
    return this.#reg.entry(await this.#restart(id, saved));
  }

  /**
   * Sets one server's commands after sync (a command left out is none). The first server's
   * are the folder's own `afterSync` and `remoteAfterSync`. The folder restarts with them.
   */
  async setCommands(id: string, target: string, commands: TargetCommands): Promise<FolderEntry> {
    const r = this.#reg.mustGet(id);
    const i = this.#names(r).indexOf(target);
    if (i < 0) throw new Error(`${r.saved.localPath} does not sync to ${target}. Reload the folder list.`);
    const set = <T extends { afterSync?: string; remoteAfterSync?: string }>(t: T): T => {
      const { afterSync: _a, remoteAfterSync: _r, ...rest } = t;
      return {
        ...rest,
        ...(commands.afterSync ? { afterSync: commands.afterSync } : {}),
        ...(commands.remoteAfterSync ? { remoteAfterSync: commands.remoteAfterSync } : {}),
      } as T;
    };
    const more = r.saved.moreTargets ?? [];
    const saved: StoredFolder =
      i === 0 ? set(r.saved) : { ...r.saved, moreTargets: more.map((m, j) => (j === i - 1 ? set(m) : m)) };
    return this.#reg.entry(await this.#restart(id, saved));
  }

  /** Pauses one server of a running folder; the others go on syncing. */
  async pause(id: string, target: string): Promise<void> {
    const r = this.#reg.mustGet(id);
    this.#running(id, target).pause(target);
    const pausedTargets = [...new Set([...(r.saved.pausedTargets ?? []), target])];
    await this.#reg.replaceSaved(id, { ...r.saved, pausedTargets });
    this.#reg.changed();
  }

  /** Resumes one server; in a paused folder, the others stay paused (each on its own from now on). */
  async resume(id: string, target: string): Promise<void> {
    const r = this.#reg.mustGet(id);
    const sync = this.#running(id, target);
    const pausedTargets = r.saved.paused
      ? sync.targets.filter((t) => t !== target)
      : (r.saved.pausedTargets ?? []).filter((t) => t !== target);
    if (r.saved.paused) this.#reg.timedPauses.clear(id);
    sync.resume(target);
    const { pausedTargets: _old, ...rest } = r.saved;
    await this.#reg.replaceSaved(id, { ...rest, paused: false, ...(pausedTargets.length ? { pausedTargets } : {}) });
    this.#reg.changed();
  }

  #running(id: string, target: string) {
    const sync = this.#reg.runningSync(id);
    if (!sync.targets.includes(target))
      throw new Error(`${sync.config.localRoot} does not sync to ${target}. Reload the folder list.`);
    return sync;
  }

  /** The folder's targets as their statuses name them, the first server first. */
  #names(r: Running): string[] {
    if (r.sync) return r.sync.targets;
    throw new Error(
      `${r.saved.localPath} is not running (${r.failure?.lastError ?? 'it could not be started'}): start it before changing its servers.`,
    );
  }

  /**
   * Stops the folder, saves `saved` and starts it again with the secrets it ran with. When
   * its first server changed, so does its id: the stored secrets move to the new id.
   * Returns the folder's id.
   */
  async #restart(id: string, next: StoredFolder): Promise<string> {
    const reg = this.#reg;
    const r = reg.mustGet(id);
    const secrets = {
      ...(r.config?.endpoint.password !== undefined ? { password: r.config.endpoint.password } : {}),
      ...(r.config?.endpoint.passphrase !== undefined ? { passphrase: r.config.endpoint.passphrase } : {}),
    };
    const config = await reg.configFor(next, secrets);
    const saved: StoredFolder = { ...next, id: config.id };
    if (config.id !== id && reg.folders.has(config.id))
      throw new Error(`${r.saved.localPath} already syncs to ${config.endpoint.displayName}.`);
    await r.sync?.stop();
    if (config.id !== id) {
      reg.folders.delete(id);
      reg.timedPauses.clear(id);
      reg.unresolved.delete(id);
      for (const what of ['password', 'passphrase'] as const) {
        const secret = await reg.opts.secrets.get(secretKey(id, what));
        if (secret !== undefined) await reg.opts.secrets.set(secretKey(config.id, what), secret);
        await reg.opts.secrets.delete(secretKey(id, what));
      }
    }
    await reg.saveFolders(reg.settings.folders.map((f) => (f.id === id ? saved : f)));
    await reg.run(saved, config);
    if (r.secretSessionOnly) reg.mustGet(config.id).secretSessionOnly = true;
    reg.changed();
    return config.id;
  }
}

/** The folder with its first server (and its commands) replaced by `next` (the second, when the first is removed). */
function promote(base: StoredFolder, next: NonNullable<StoredFolder['moreTargets']>[number]): StoredFolder {
  const {
    host: _h,
    user: _u,
    port: _p,
    keyPath: _k,
    remotePath: _r,
    afterSync: _a,
    remoteAfterSync: _c,
    ...rest
  } = base;
  const keyPath = next.keyPath ?? base.keyPath;
  return {
    ...rest,
    host: next.host,
    ...(next.user ? { user: next.user } : {}),
    ...(next.port ? { port: next.port } : {}),
    ...(base.authKind === 'key' && keyPath ? { keyPath } : {}),
    remotePath: next.remotePath,
    ...(next.afterSync ? { afterSync: next.afterSync } : {}),
    ...(next.remoteAfterSync ? { remoteAfterSync: next.remoteAfterSync } : {}),
  };
}
