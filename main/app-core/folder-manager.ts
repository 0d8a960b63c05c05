/**
 * The app's folders: their lifecycle (add, edit, remove, pause, resume), the app settings
 * and the events the window and tray follow. Electron-free, so tests drive it in plain Node.
 * The running folders live in one FolderRegistry (folder-registry.ts); a folder's servers
 * are managed by FolderTargets (folder-targets.ts), its paths and logs by FolderItems
 * (folder-items.ts). This class keeps the one public API the IPC handlers and the tray use.
 *
 * Invariants:
 * - The saved list (through the SettingsStore) and the running FolderSyncs change together:
 *   a folder is saved before it starts, and stopped before it is forgotten.
 * - One local folder is one saved folder (a second add of the same path is refused); it may
 *   sync to several servers (FolderTargets).
 * - Secrets go to the SecretStore under the folder's id, never into the settings (see
 *   folder-registry.ts for a store that cannot keep them).
 * - A paused folder is paused before its loop starts, so it never connects at launch.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FolderStatus } from '../engine/status.ts';
import { ControlServer } from '../control/server.ts';
import { previewFolder, type PlanPreview } from '../engine/preview.ts';
import { openTransports } from '../transport/open-transport.ts';
import { checkKeyPassphrase } from '../ssh/key-file.ts';
import type {
  AddFolderRequest,
  AppSettings,
  AddTargetRequest,
  ConflictList,
  FolderEntry,
  LocalPathInfo,
  TrashListing,
  TrashRestoreResult,
  UpdateFolderRequest,
  WhyResult,
} from '../ipc/contract.ts';
import {
  FolderRegistry,
  secretKey,
  secretsOf,
  storedFrom,
  type FolderManagerEvents,
  type FolderManagerOptions,
} from './folder-registry.ts';
import { FolderItems } from './folder-items.ts';
import { FolderTargets } from './folder-targets.ts';
import type { PromptBroker } from './prompt-broker.ts';
import { migrateSettings, type StoredFolder } from './settings-migrations.ts';

export type { FolderManagerEvents, FolderManagerOptions } from './folder-registry.ts';

export class FolderManager extends EventEmitter<FolderManagerEvents> {
  readonly #reg: FolderRegistry;
  /** A folder's servers after the first. */
  readonly targets: FolderTargets;
  /** A running folder's paths, halts, conflict log and server trash. */
  readonly items: FolderItems;
  /** Login prompts (one-time codes) waiting for the window; see prompt-broker.ts. */
  readonly prompts: PromptBroker;
  /** `ferry status` and friends reach the app's folders through this (main/control/). */
  private control: ControlServer | undefined;

  private constructor(opts: FolderManagerOptions, settings: FolderRegistry['settings']) {
    super();
    this.#reg = new FolderRegistry(opts, settings, this);
    this.targets = new FolderTargets(this.#reg);
    this.items = new FolderItems(this.#reg);
    this.prompts = this.#reg.prompts;
  }

  /** Loads (and migrates) the settings, then starts every saved folder. */
  static async open(opts: FolderManagerOptions): Promise<FolderManager> {
    const { settings, migratedFrom } = migrateSettings(await opts.store.load(), opts.store.location);
    if (migratedFrom !== undefined && migratedFrom > 0) await opts.store.save(settings);
    const manager = new FolderManager(opts, settings);
    for (const saved of settings.folders) await manager.#reg.startSaved(saved);
    await manager.listenForControl();
    return manager;
  }

  getSettings(): AppSettings {
    const s = this.#reg.settings;
    return { language: s.language, openAtLogin: s.openAtLogin };
  }

  async setSettings(patch: Partial<AppSettings>): Promise<AppSettings> {
    this.#reg.settings = { ...this.#reg.settings, ...patch };
    await this.#reg.opts.store.save(this.#reg.settings);
    const now = this.getSettings();
    this.emit('settingsChanged', now);
    return now;
  }

  list(): FolderEntry[] {
    return [...this.#reg.folders.values()].map((r) => this.#reg.entryOf(r));
  }

  statuses(): FolderStatus[] {
    return this.list().map((f) => f.status);
  }

  async inspectLocalPath(path: string): Promise<LocalPathInfo> {
    const abs = resolve(path);
    const st = await stat(abs).catch(() => undefined);
    const kind = !st ? 'missing' : st.isDirectory() ? 'dir' : 'file';
    const owner = [...this.#reg.folders.values()].find((r) => resolve(r.saved.localPath) === abs);
    return { path: abs, kind, ...(owner ? { alreadySyncedBy: owner.saved.id } : {}) };
  }

  async add(req: AddFolderRequest): Promise<FolderEntry> {
    const info = await this.inspectLocalPath(req.localPath);
    if (info.kind === 'missing') throw new Error(`${info.path} does not exist. Drop or choose an existing folder.`);
    if (info.kind === 'file')
      throw new Error(`${info.path} is a file. Ferry syncs folders: drop the folder that contains it.`);
    if (info.alreadySyncedBy) {
      const other = this.#reg.folders.get(info.alreadySyncedBy);
      throw new Error(
        `${info.path} already syncs to ${other?.sync?.status().remote ?? other?.saved.host ?? 'a server'}. Remove that folder first to sync it somewhere else.`,
      );
    }
    const draft = storedFrom(req, info.path, false);
    const config = await this.#reg.configFor(draft, secretsOf(req));
    if (this.#reg.folders.has(config.id))
      throw new Error(`${info.path} already syncs to ${config.endpoint.displayName}.`);
    // The id comes from the resolved endpoint, and the remote path as the server spells it.
    const saved: StoredFolder = { ...draft, id: config.id, remotePath: config.endpoint.remoteRoot };
    let kept = true;
    if (req.auth.kind === 'password')
      kept = await this.#reg.opts.secrets.set(secretKey(saved.id, 'password'), req.auth.password);
    if (req.auth.kind === 'key' && req.auth.passphrase)
      kept = await this.#reg.opts.secrets.set(secretKey(saved.id, 'passphrase'), req.auth.passphrase);
    await this.#reg.saveFolders([...this.#reg.settings.folders, saved]);
    await this.#reg.run(saved, config);
    if (!kept) this.#reg.mustGet(saved.id).secretSessionOnly = true;
    this.#reg.changed();
    return this.#reg.entryOf(this.#reg.mustGet(saved.id));
  }

  /**
   * Starts a folder that waits for its password or key passphrase (`needsSecret`). A
   * passphrase is checked against the key first; the secret is stored where the SecretStore
   * can keep it, in memory otherwise.
   */
  async provideSecret(id: string, secret: string): Promise<FolderEntry> {
    const r = this.#reg.mustGet(id);
    const what = r.needsSecret;
    if (!what) throw new Error(`${r.saved.localPath} is not waiting for a password or passphrase.`);
    if (
      what === 'passphrase' &&
      r.saved.keyPath &&
      (await checkKeyPassphrase(r.saved.keyPath, secret)) === 'wrong-passphrase'
    ) {
      throw new Error(`That passphrase does not decrypt the key ${r.saved.keyPath}. Check it and try again.`);
    }
    const config = await this.#reg.configFor(r.saved, { [what]: secret });
    const kept = await this.#reg.opts.secrets.set(secretKey(id, what), secret);
    await this.#reg.run(r.saved, config);
    if (!kept) this.#reg.mustGet(id).secretSessionOnly = true;
    this.#reg.changed();
    return this.#reg.entryOf(this.#reg.mustGet(id));
  }

  /** The dry run of a folder about to be added: what its first sync would do. */
  async preview(req: AddFolderRequest): Promise<PlanPreview> {
    const info = await this.inspectLocalPath(req.localPath);
    if (info.kind !== 'dir') throw new Error(`${info.path} is not a folder Ferry can sync.`);
    const answerPrompts = this.prompts.answerer(info.path);
    return previewFolder(await this.#reg.configFor(storedFrom(req, info.path, false), secretsOf(req)), {
      openTransports: (ep, root, choice, o) => openTransports(ep, root, choice, { ...o, answerPrompts }),
    });
  }

  /**
   * New settings for a saved folder: the new config is built (and checked) first, then the
   * folder restarts with it. A new server or remote path is a new target, so a new id.
   */
  async update(id: string, req: UpdateFolderRequest): Promise<FolderEntry> {
    const r = this.#reg.mustGet(id);
    const next: StoredFolder = {
      ...storedFrom(req, r.saved.localPath, r.saved.paused),
      ...(r.saved.moreTargets ? { moreTargets: r.saved.moreTargets } : {}),
      ...(r.saved.pausedTargets ? { pausedTargets: r.saved.pausedTargets } : {}),
    };
    const kept = async (what: 'password' | 'passphrase') =>
      (await this.#reg.opts.secrets.get(secretKey(id, what))) ?? r.config?.endpoint[what];
    const given = secretsOf(req);
    const secrets = {
      ...given,
      ...(req.auth.kind === 'password' && !given.password ? { password: (await kept('password')) ?? '' } : {}),
      ...(req.auth.kind === 'key' && !given.passphrase && (await kept('passphrase'))
        ? { passphrase: (await kept('passphrase')) as string }
        : {}),
    };
    const config = await this.#reg.configFor(next, secrets);
    const saved: StoredFolder = { ...next, id: config.id, remotePath: config.endpoint.remoteRoot };
    if (config.id !== id && this.#reg.folders.has(config.id))
      throw new Error(`${r.saved.localPath} already syncs to ${config.endpoint.displayName}.`);
    if (JSON.stringify(saved) === JSON.stringify(r.saved) && !given.password && !given.passphrase && r.sync)
      return this.#reg.entryOf(r);
    await r.sync?.stop();
    this.#reg.folders.delete(id);
    this.#reg.timedPauses.clear(id);
    this.#reg.unresolved.delete(id);
    for (const what of ['password', 'passphrase'] as const) await this.#reg.opts.secrets.delete(secretKey(id, what));
    let stored = true;
    if (secrets.password) stored = await this.#reg.opts.secrets.set(secretKey(saved.id, 'password'), secrets.password);
    if (secrets.passphrase)
      stored = await this.#reg.opts.secrets.set(secretKey(saved.id, 'passphrase'), secrets.passphrase);
    await this.#reg.saveFolders(this.#reg.settings.folders.map((f) => (f.id === id ? saved : f)));
    await this.#reg.run(saved, config);
    if (!stored) this.#reg.mustGet(saved.id).secretSessionOnly = true;
    this.#reg.changed();
    return this.#reg.entryOf(this.#reg.mustGet(saved.id));
  }

  /** Ignores exactly `path` (an anchored pattern) from now on; restarts the folder. */
  async ignorePath(id: string, path: string): Promise<FolderEntry> {
    const r = this.#reg.mustGet(id);
    const rel = this.items
      .localPathOf(id, path)
      .slice(resolve(r.saved.localPath).length + 1)
      .split('\\')
      .join('/');
    if (!rel) throw new Error('The folder itself cannot be ignored; remove it instead.');
    const pattern = `/${rel.replace(/([*?[\]!#\\])/g, '\\$1')}`;
    if (r.saved.ignore.includes(pattern)) return this.#reg.entryOf(r);
    const auth =
      r.saved.authKind === 'key'
        ? { kind: 'key' as const, keyPath: r.saved.keyPath ?? '' }
        : r.saved.authKind === 'password'
          ? { kind: 'password' as const, password: '' }
          : { kind: 'agent' as const };
    return this.update(id, {
      host: r.saved.host,
      ...(r.saved.user ? { user: r.saved.user } : {}),
      ...(r.saved.port ? { port: r.saved.port } : {}),
      auth,
      remotePath: r.saved.remotePath,
      mode: r.saved.mode,
      ignore: [...r.saved.ignore, pattern],
      ...(r.saved.trashDays ? { trashDays: r.saved.trashDays } : {}),
      ...(r.saved.afterSync ? { afterSync: r.saved.afterSync } : {}),
      ...(r.saved.remoteAfterSync ? { remoteAfterSync: r.saved.remoteAfterSync } : {}),
      ...(r.saved.canary ? { canary: true } : {}),
    });
  }

  /** A full pass now, which also retries failed items; a paused or halted folder waits for the user. */
  syncNow(id: string): void {
    this.items.syncNow(id);
  }

  why(id: string, path: string): Promise<WhyResult> {
    return this.items.why(id, path);
  }

  /** Pauses now; resumes by itself at `until`. */
  async pauseUntil(id: string, until: string): Promise<void> {
    const at = new Date(until);
    this.#reg.runningSync(id);
    this.#reg.timedPauses.set(
      id,
      at,
      Date.now(),
      () => void this.resume(id).catch((err: Error) => console.error(`Ferry: timed resume: ${err.message}`)),
    );
    await this.pause(id, true);
    this.#reg.changed();
  }

  unresolvedConflicts(id: string): number {
    return this.#reg.unresolved.get(id) ?? 0;
  }

  async remove(id: string): Promise<void> {
    const r = this.#reg.mustGet(id);
    this.#reg.timedPauses.clear(id);
    this.#reg.unresolved.delete(id);
    await r.sync?.stop();
    this.#reg.folders.delete(id);
    await this.#reg.saveFolders(this.#reg.settings.folders.filter((f) => f.id !== id));
    await this.#reg.opts.secrets.delete(secretKey(id, 'password'));
    await this.#reg.opts.secrets.delete(secretKey(id, 'passphrase'));
    this.#reg.changed();
  }

  async pause(id: string, timed = false): Promise<void> {
    if (!timed) this.#reg.timedPauses.clear(id);
    this.#reg.runningSync(id).pause();
    await this.#reg.setPaused([id], true);
  }

  /** Resumes the folder; a server paused on its own stays paused (unless every one is). */
  async resume(id: string): Promise<void> {
    this.#reg.timedPauses.clear(id);
    const saved = this.#reg.resumeTargets(id);
    await this.#reg.replaceSaved(id, { ...saved, paused: false });
  }

  async pauseAll(): Promise<void> {
    const ids = [...this.#reg.folders.values()].filter((r) => r.sync).map((r) => r.saved.id);
    for (const id of ids) this.#reg.runningSync(id).pause();
    await this.#reg.setPaused(ids, true);
  }

  async resumeAll(): Promise<void> {
    const ids = [...this.#reg.folders.values()].filter((r) => r.sync && r.saved.paused).map((r) => r.saved.id);
    for (const id of ids) this.#reg.timedPauses.clear(id);
    const resumed = new Map(ids.map((id) => [id, { ...this.#reg.resumeTargets(id), paused: false }]));
    for (const r of this.#reg.folders.values()) r.saved = resumed.get(r.saved.id) ?? r.saved;
    await this.#reg.saveFolders(this.#reg.settings.folders.map((f) => resumed.get(f.id) ?? f));
  }

  retryFailed(id: string): void {
    this.items.retryFailed(id);
  }

  retryPath(id: string, path: string): void {
    this.items.retryPath(id, path);
  }

  addTarget(id: string, req: AddTargetRequest): Promise<FolderEntry> {
    return this.targets.add(id, req);
  }

  listTrash(id: string): Promise<TrashListing> {
    return this.items.listTrash(id);
  }

  restoreFromTrash(id: string, path: string, stamp: string): Promise<TrashRestoreResult> {
    return this.items.restoreFromTrash(id, path, stamp);
  }

  confirmMassDelete(id: string): void {
    this.items.confirmMassDelete(id);
  }

  cancelMassDelete(id: string): void {
    this.items.cancelMassDelete(id);
  }

  conflicts(id: string): Promise<ConflictList> {
    return this.items.conflicts(id);
  }

  markConflictResolved(id: string, time: string, path: string): Promise<void> {
    return this.items.markConflictResolved(id, time, path);
  }

  localPathOf(id: string, rel: string): string {
    return this.items.localPathOf(id, rel);
  }

  /** Stops every folder: in-flight transfers finish and each index is saved. */
  async stopAll(): Promise<void> {
    this.#reg.timedPauses.clearAll();
    await this.control?.close().catch(() => undefined);
    this.control = undefined;
    await Promise.all([...this.#reg.folders.values()].map((r) => r.sync?.stop()));
  }

  /** A control socket in the state root; the app runs without one (and says why) when it is unsafe. */
  private async listenForControl(): Promise<void> {
    try {
      this.control = await ControlServer.listen(this.#reg.opts.stateRoot, {
        syncs: () => [...this.#reg.folders.values()].flatMap((r) => (r.sync ? [r.sync] : [])),
        pause: (s) => this.pause(s.config.id),
        resume: (s) => this.resume(s.config.id),
        // One server paused from the CLI is saved like one paused from the window.
        pauseTarget: (s, target) => this.targets.pause(s.config.id, target),
        resumeTarget: (s, target) => this.targets.resume(s.config.id, target),
      });
      this.on('folderStatus', (s) => this.control?.publish(s));
    } catch (err) {
      console.error(`Ferry: no control socket (ferry status will not see the app): ${(err as Error).message}`);
    }
  }
}
