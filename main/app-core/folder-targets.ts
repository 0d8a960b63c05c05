/**
 * The servers (targets) of a saved folder after its first: adding one. The first server is
 * the folder's own (its id, its state directory); the others are `moreTargets` in the
 * settings, each with its own state directory named as if the folder synced to it alone.
 *
 * Invariant: a change of targets is saved, then the folder restarts with the new list; the
 * folder keeps its id (the first server's) throughout.
 */
import type { ConnectionRequest, FolderEntry } from '../ipc/contract.ts';
import type { FolderRegistry } from './folder-registry.ts';
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
  async add(id: string, req: ConnectionRequest): Promise<FolderEntry> {
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
    };
    const saved: StoredFolder = { ...r.saved, moreTargets: [...(r.saved.moreTargets ?? []), more] };
    await this.#restart(id, saved);
    return this.#reg.entry(id);
  }

  /** Stops the folder, saves `saved` and starts it again with the secrets it ran with. */
  async #restart(id: string, saved: StoredFolder): Promise<void> {
    const r = this.#reg.mustGet(id);
    const config = await this.#reg.configFor(saved, {
      ...(r.config?.endpoint.password !== undefined ? { password: r.config.endpoint.password } : {}),
      ...(r.config?.endpoint.passphrase !== undefined ? { passphrase: r.config.endpoint.passphrase } : {}),
    });
    await r.sync?.stop();
    await this.#reg.saveFolders(this.#reg.settings.folders.map((f) => (f.id === id ? saved : f)));
    await this.#reg.run(saved, config);
    this.#reg.changed();
  }
}
