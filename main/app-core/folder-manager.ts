/**
 * The app's folders: one FolderSync per saved folder, the saved list, and the events the
 * window and tray follow. Electron-free, so tests drive it in plain Node.
 *
 * Invariants:
 * - The saved list (through the SettingsStore) and the running FolderSyncs change together:
 *   a folder is saved before it starts, and stopped before it is forgotten.
 * - One local folder syncs to at most one target (a second add of the same path is refused).
 * - Secrets go to the SecretStore under the folder's id, never into the settings. When the
 *   store cannot keep them (Linux without a keyring), a restarted folder does not start: its
 *   entry says which secret it needs, and provideSecret starts it.
 * - A paused folder is paused before its loop starts, so it never connects at launch.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FileOutcome } from '../engine/apply-plan.ts';
import { readConflicts, type ConflictRecord } from '../engine/conflict-log.ts';
import { FolderSync, type FolderConfig } from '../engine/folder-loop.ts';
import type { TransportChoice } from '../transport/open-transport.ts';
import { newFolderStatus, type FolderStatus } from '../engine/status.ts';
import { folderConfigFrom } from '../engine/folder-options.ts';
import { ControlServer } from '../control/server.ts';
import { explainPath } from '../control/why.ts';
import { previewFolder, type PlanPreview } from '../engine/preview.ts';
import { checkKeyPassphrase } from '../ssh/key-file.ts';
import type {
  AddFolderRequest,
  AppSettings,
  ConnectionRequest,
  ConflictList,
  FolderEntry,
  LocalPathInfo,
  TrashListing,
  TrashRestoreResult,
  UpdateFolderRequest,
  WhyResult,
} from '../ipc/contract.ts';
import {
  addConflictMark,
  conflictKey,
  conflictMarksFile,
  countUnresolved,
  readConflictMarks,
} from './conflict-marks.ts';
import { TimedPauses } from './timed-pause.ts';
import { listServerTrash, restoreServerTrash } from './server-trash.ts';
import { targetSpecOf } from './connection.ts';
import { migrateSettings, type PersistedSettings, type StoredFolder } from './settings-migrations.ts';
import type { SecretStore, SettingsStore } from './settings-store.ts';

export interface FolderManagerOptions {
  store: SettingsStore;
  secrets: SecretStore;
  /** Root of the per-folder state directories (index, conflict log). */
  stateRoot: string;
  knownHostsPath?: string;
  /** ssh config for aliases; default ~/.ssh/config (a missing file means none). */
  sshConfigPath?: string;
  transport?: TransportChoice;
  pollIntervalMs?: number;
}

export interface FolderManagerEvents {
  folderStatus: [FolderStatus];
  fileActivity: [{ folderId: string; outcome: FileOutcome; time: string }];
  conflict: [{ folderId: string; record: ConflictRecord }];
  foldersChanged: [{ folderIds: string[] }];
  settingsChanged: [AppSettings];
}

interface Running {
  saved: StoredFolder;
  /** Absent when the folder could not be started (its status explains why). */
  sync?: FolderSync;
  stateDir: string;
  /** The config it runs with (secrets included: a session-only secret survives an edit). */
  config?: FolderConfig;
  failure?: FolderStatus;
  /** Not started because this secret is not stored (no system keyring); see provideSecret. */
  needsSecret?: 'password' | 'passphrase';
  /** The secret it runs with could not be stored safely and lives in memory only. */
  secretSessionOnly?: boolean;
}

const secretKey = (id: string, what: 'password' | 'passphrase') => `folder:${id}:${what}`;

export class FolderManager extends EventEmitter<FolderManagerEvents> {
  private readonly opts: FolderManagerOptions;
  private settings: PersistedSettings;
  private readonly folders = new Map<string, Running>();
  /** `ferry status` and friends reach the app's folders through this (main/control/). */
  private control: ControlServer | undefined;
  /** Unresolved conflict-log records per folder (a new conflict adds one; a mark recounts). */
  private readonly unresolved = new Map<string, number>();
  private readonly timedPauses = new TimedPauses();

  private constructor(opts: FolderManagerOptions, settings: PersistedSettings) {
    super();
    this.opts = opts;
    this.settings = settings;
  }

  /** Loads (and migrates) the settings, then starts every saved folder. */
  static async open(opts: FolderManagerOptions): Promise<FolderManager> {
    const { settings, migratedFrom } = migrateSettings(await opts.store.load(), opts.store.location);
    if (migratedFrom !== undefined && migratedFrom > 0) await opts.store.save(settings);
    const manager = new FolderManager(opts, settings);
    for (const saved of settings.folders) await manager.startSaved(saved);
    await manager.listenForControl();
    return manager;
  }

  getSettings(): AppSettings {
    return { language: this.settings.language, openAtLogin: this.settings.openAtLogin };
  }

  async setSettings(patch: Partial<AppSettings>): Promise<AppSettings> {
    this.settings = { ...this.settings, ...patch };
    await this.opts.store.save(this.settings);
    const now = this.getSettings();
    this.emit('settingsChanged', now);
    return now;
  }

  list(): FolderEntry[] {
    return [...this.folders.values()].map((r) => this.entryOf(r));
  }

  statuses(): FolderStatus[] {
    return this.list().map((f) => f.status);
  }

  async inspectLocalPath(path: string): Promise<LocalPathInfo> {
    const abs = resolve(path);
    const st = await stat(abs).catch(() => undefined);
    const kind = !st ? 'missing' : st.isDirectory() ? 'dir' : 'file';
    const owner = [...this.folders.values()].find((r) => resolve(r.saved.localPath) === abs);
    return { path: abs, kind, ...(owner ? { alreadySyncedBy: owner.saved.id } : {}) };
  }

  async add(req: AddFolderRequest): Promise<FolderEntry> {
    const info = await this.inspectLocalPath(req.localPath);
    if (info.kind === 'missing') throw new Error(`${info.path} does not exist. Drop or choose an existing folder.`);
    if (info.kind === 'file')
      throw new Error(`${info.path} is a file. Ferry syncs folders: drop the folder that contains it.`);
    if (info.alreadySyncedBy) {
      const other = this.folders.get(info.alreadySyncedBy);
      throw new Error(
        `${info.path} already syncs to ${other?.sync?.status().remote ?? other?.saved.host ?? 'a server'}. Remove that folder first to sync it somewhere else.`,
      );
    }
    const draft = storedFrom(req, info.path, false);
    const config = await this.configFor(draft, secretsOf(req));
    if (this.folders.has(config.id)) throw new Error(`${info.path} already syncs to ${config.endpoint.displayName}.`);
    // The id comes from the resolved endpoint, and the remote path as the server spells it.
    const saved: StoredFolder = { ...draft, id: config.id, remotePath: config.endpoint.remoteRoot };
    let kept = true;
    if (req.auth.kind === 'password')
      kept = await this.opts.secrets.set(secretKey(saved.id, 'password'), req.auth.password);
    if (req.auth.kind === 'key' && req.auth.passphrase)
      kept = await this.opts.secrets.set(secretKey(saved.id, 'passphrase'), req.auth.passphrase);
    await this.saveFolders([...this.settings.folders, saved]);
    await this.run(saved, config);
    if (!kept) this.mustGet(saved.id).secretSessionOnly = true;
    this.changed();
    return this.entryOf(this.mustGet(saved.id));
  }

  /**
   * Starts a folder that waits for its password or key passphrase (`needsSecret`). A
   * passphrase is checked against the key first; the secret is stored where the SecretStore
   * can keep it, in memory otherwise.
   */
  async provideSecret(id: string, secret: string): Promise<FolderEntry> {
    const r = this.mustGet(id);
    const what = r.needsSecret;
    if (!what) throw new Error(`${r.saved.localPath} is not waiting for a password or passphrase.`);
    if (
      what === 'passphrase' &&
      r.saved.keyPath &&
      (await checkKeyPassphrase(r.saved.keyPath, secret)) === 'wrong-passphrase'
    ) {
      throw new Error(`That passphrase does not decrypt the key ${r.saved.keyPath}. Check it and try again.`);
    }
    const config = await this.configFor(r.saved, { [what]: secret });
    const kept = await this.opts.secrets.set(secretKey(id, what), secret);
    await this.run(r.saved, config);
    if (!kept) this.mustGet(id).secretSessionOnly = true;
    this.changed();
    return this.entryOf(this.mustGet(id));
  }

  /** The dry run of a folder about to be added: what its first sync would do. */
  async preview(req: AddFolderRequest): Promise<PlanPreview> {
    const info = await this.inspectLocalPath(req.localPath);
    if (info.kind !== 'dir') throw new Error(`${info.path} is not a folder Ferry can sync.`);
    return previewFolder(await this.configFor(storedFrom(req, info.path, false), secretsOf(req)));
  }

  /**
   * New settings for a saved folder: the new config is built (and checked) first, then the
   * folder restarts with it. A new server or remote path is a new target, so a new id.
   */
  async update(id: string, req: UpdateFolderRequest): Promise<FolderEntry> {
    const r = this.mustGet(id);
    const next: StoredFolder = {
      ...storedFrom(req, r.saved.localPath, r.saved.paused),
      ...(r.saved.moreTargets ? { moreTargets: r.saved.moreTargets } : {}),
    };
    const kept = async (what: 'password' | 'passphrase') =>
      (await this.opts.secrets.get(secretKey(id, what))) ?? r.config?.endpoint[what];
    const given = secretsOf(req);
    const secrets = {
      ...given,
      ...(req.auth.kind === 'password' && !given.password ? { password: (await kept('password')) ?? '' } : {}),
      ...(req.auth.kind === 'key' && !given.passphrase && (await kept('passphrase'))
        ? { passphrase: (await kept('passphrase')) as string }
        : {}),
    };
    const config = await this.configFor(next, secrets);
    const saved: StoredFolder = { ...next, id: config.id, remotePath: config.endpoint.remoteRoot };
    if (config.id !== id && this.folders.has(config.id))
      throw new Error(`${r.saved.localPath} already syncs to ${config.endpoint.displayName}.`);
    if (JSON.stringify(saved) === JSON.stringify(r.saved) && !given.password && !given.passphrase && r.sync)
      return this.entryOf(r);
    await r.sync?.stop();
    this.folders.delete(id);
    this.timedPauses.clear(id);
    this.unresolved.delete(id);
    for (const what of ['password', 'passphrase'] as const) await this.opts.secrets.delete(secretKey(id, what));
    let stored = true;
    if (secrets.password) stored = await this.opts.secrets.set(secretKey(saved.id, 'password'), secrets.password);
    if (secrets.passphrase) stored = await this.opts.secrets.set(secretKey(saved.id, 'passphrase'), secrets.passphrase);
    await this.saveFolders(this.settings.folders.map((f) => (f.id === id ? saved : f)));
    await this.run(saved, config);
    if (!stored) this.mustGet(saved.id).secretSessionOnly = true;
    this.changed();
    return this.entryOf(this.mustGet(saved.id));
  }

  /** Ignores exactly `path` (an anchored pattern) from now on; restarts the folder. */
  async ignorePath(id: string, path: string): Promise<FolderEntry> {
    const r = this.mustGet(id);
    const rel = this.localPathOf(id, path)
      .slice(resolve(r.saved.localPath).length + 1)
      .split('\\')
      .join('/');
    if (!rel) throw new Error('The folder itself cannot be ignored; remove it instead.');
    const pattern = `/${rel.replace(/([*?[\]!#\\])/g, '\\$1')}`;
    if (r.saved.ignore.includes(pattern)) return this.entryOf(r);
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
    });
  }

  /** A full pass now, which also retries failed items; a paused or halted folder waits for the user. */
  syncNow(id: string): void {
    const sync = this.runningSync(id);
    const state = sync.status().state;
    if (state === 'paused') throw new Error(`${sync.config.localRoot} is paused: resume it to sync.`);
    if (state === 'halted') throw new Error(`${sync.config.localRoot} is halted: decide on the halt first.`);
    sync.retryFailed();
    sync.resume();
  }

  /** Why `path` (relative to the folder) is or is not on the server, as `ferry why` says it. */
  async why(id: string, path: string): Promise<WhyResult> {
    const r = this.mustGet(id);
    const status = this.entryOf(r).status;
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

  /** Pauses now; resumes by itself at `until`. */
  async pauseUntil(id: string, until: string): Promise<void> {
    const at = new Date(until);
    this.runningSync(id);
    this.timedPauses.set(
      id,
      at,
      Date.now(),
      () => void this.resume(id).catch((err: Error) => console.error(`Ferry: timed resume: ${err.message}`)),
    );
    await this.pause(id, true);
    this.changed();
  }

  unresolvedConflicts(id: string): number {
    return this.unresolved.get(id) ?? 0;
  }

  async remove(id: string): Promise<void> {
    const r = this.mustGet(id);
    this.timedPauses.clear(id);
    this.unresolved.delete(id);
    await r.sync?.stop();
    this.folders.delete(id);
    await this.saveFolders(this.settings.folders.filter((f) => f.id !== id));
    await this.opts.secrets.delete(secretKey(id, 'password'));
    await this.opts.secrets.delete(secretKey(id, 'passphrase'));
    this.changed();
  }

  async pause(id: string, timed = false): Promise<void> {
    if (!timed) this.timedPauses.clear(id);
    this.runningSync(id).pause();
    await this.setPaused([id], true);
  }

  async resume(id: string): Promise<void> {
    this.timedPauses.clear(id);
    this.runningSync(id).resume();
    await this.setPaused([id], false);
  }

  async pauseAll(): Promise<void> {
    const ids = [...this.folders.values()].filter((r) => r.sync).map((r) => r.saved.id);
    for (const id of ids) this.runningSync(id).pause();
    await this.setPaused(ids, true);
  }

  async resumeAll(): Promise<void> {
    const ids = [...this.folders.values()].filter((r) => r.sync && r.saved.paused).map((r) => r.saved.id);
    for (const id of ids) (this.timedPauses.clear(id), this.runningSync(id).resume());
    await this.setPaused(ids, false);
  }

  /** Retries failed items now; for a folder in error this also reconnects at once. */
  retryFailed(id: string): void {
    this.runningSync(id).retryFailed();
  }

  /** Retries one failed path now (the rest keep their backoff). */
  retryPath(id: string, path: string): void {
    const root = resolve(this.mustGet(id).saved.localPath);
    const rel = this.localPathOf(id, path)
      .slice(root.length + 1)
      .split('\\')
      .join('/');
    if (!rel) throw new Error('Retry a file or folder inside the folder, not the folder itself.');
    this.runningSync(id).retryPath(rel);
  }

  /**
   * Adds a server to a folder: it logs in the way the folder does (a key folder may name this
   * server's own key file). The folder restarts with both; its id stays the first server's.
   */
  async addTarget(id: string, req: ConnectionRequest): Promise<FolderEntry> {
    const r = this.mustGet(id);
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
    const config = await this.configFor(saved, {
      ...(r.config?.endpoint.password !== undefined ? { password: r.config.endpoint.password } : {}),
      ...(r.config?.endpoint.passphrase !== undefined ? { passphrase: r.config.endpoint.passphrase } : {}),
    });
    await r.sync?.stop();
    await this.saveFolders(this.settings.folders.map((f) => (f.id === id ? saved : f)));
    await this.run(saved, config);
    this.changed();
    return this.entryOf(this.mustGet(id));
  }

  async listTrash(id: string): Promise<TrashListing> {
    return { folderId: id, ...(await listServerTrash(this.trashConfig(id))) };
  }

  async restoreFromTrash(id: string, path: string, stamp: string): Promise<TrashRestoreResult> {
    return restoreServerTrash(this.trashConfig(id), path, stamp);
  }

  private trashConfig(id: string): FolderConfig {
    const r = this.mustGet(id);
    if (!r.config) throw new Error(`${r.saved.localPath} is not running, so Ferry cannot reach its server.`);
    if (!r.config.trash)
      throw new Error(`${r.saved.localPath} keeps no server trash: turn it on under Edit, Advanced.`);
    return r.config;
  }

  confirmMassDelete(id: string): void {
    this.runningSync(id).confirmMassDelete();
  }

  /** Keeps the server's copies of the pending deletes (push mode); throws a sentence otherwise. */
  cancelMassDelete(id: string): void {
    this.runningSync(id).cancelMassDelete();
  }

  async conflicts(id: string): Promise<ConflictList> {
    const r = this.mustGet(id);
    const log = r.sync ? await readConflicts(r.sync.conflictFile) : { records: [], malformed: 0 };
    const marks = await readConflictMarks(conflictMarksFile(r.stateDir));
    const records = log.records.map((c) => ({ ...c, resolved: marks.has(conflictKey(c.time, c.path)) })).reverse();
    return { folderId: id, records, malformed: log.malformed };
  }

  async markConflictResolved(id: string, time: string, path: string): Promise<void> {
    await addConflictMark(conflictMarksFile(this.mustGet(id).stateDir), time, path);
    await this.countConflicts(id);
    this.changed();
  }

  private async countConflicts(id: string): Promise<void> {
    const r = this.folders.get(id);
    if (!r?.sync) return;
    const log = await readConflicts(r.sync.conflictFile).catch(() => ({ records: [] }));
    this.unresolved.set(id, countUnresolved(log.records, await readConflictMarks(conflictMarksFile(r.stateDir))));
  }

  /** Absolute local path of `rel` inside folder `id`; refuses anything outside it. */
  localPathOf(id: string, rel: string): string {
    const root = resolve(this.mustGet(id).saved.localPath);
    const abs = resolve(root, rel);
    if (abs !== root && !abs.startsWith(root + '/') && !abs.startsWith(root + '\\')) {
      throw new Error(`${rel} is not inside the folder ${root}.`);
    }
    return abs;
  }

  /** Stops every folder: in-flight transfers finish and each index is saved. */
  async stopAll(): Promise<void> {
    this.timedPauses.clearAll();
    await this.control?.close().catch(() => undefined);
    this.control = undefined;
    await Promise.all([...this.folders.values()].map((r) => r.sync?.stop()));
  }

  /** A control socket in the state root; the app runs without one (and says why) when it is unsafe. */
  private async listenForControl(): Promise<void> {
    try {
      this.control = await ControlServer.listen(this.opts.stateRoot, {
        syncs: () => [...this.folders.values()].flatMap((r) => (r.sync ? [r.sync] : [])),
        pause: (s) => this.pause(s.config.id),
        resume: (s) => this.resume(s.config.id),
      });
      this.on('folderStatus', (s) => this.control?.publish(s));
    } catch (err) {
      console.error(`Ferry: no control socket (ferry status will not see the app): ${(err as Error).message}`);
    }
  }

  private mustGet(id: string): Running {
    const r = this.folders.get(id);
    if (!r) throw new Error(`No folder with id ${id}; it may have been removed. Reload the folder list.`);
    return r;
  }

  private runningSync(id: string): FolderSync {
    const r = this.mustGet(id);
    if (!r.sync)
      throw new Error(`${r.saved.localPath} is not running: ${r.failure?.lastError ?? 'it could not be started'}`);
    return r.sync;
  }

  private entryOf(r: Running): FolderEntry {
    const s = r.saved;
    const status = r.sync?.status() ?? r.failure;
    return {
      id: s.id,
      localPath: s.localPath,
      host: s.host,
      ...(s.user ? { user: s.user } : {}),
      ...(s.port ? { port: s.port } : {}),
      authKind: s.authKind,
      ...(s.keyPath ? { keyPath: s.keyPath } : {}),
      remotePath: s.remotePath,
      mode: s.mode,
      ignore: s.ignore,
      ...(s.trashDays ? { trashDays: s.trashDays } : {}),
      ...(s.afterSync ? { afterSync: s.afterSync } : {}),
      ...(s.moreTargets?.length ? { moreTargets: s.moreTargets.map((m) => targetSpecOf(m)) } : {}),
      paused: s.paused,
      ...(this.timedPauses.until(s.id) ? { pausedUntil: this.timedPauses.until(s.id) } : {}),
      unresolvedConflicts: this.unresolved.get(s.id) ?? 0,
      status: status as FolderStatus,
      ...(r.needsSecret ? { needsSecret: r.needsSecret } : {}),
      ...(r.secretSessionOnly ? { secretSessionOnly: true } : {}),
    };
  }

  private async configFor(
    saved: StoredFolder,
    secrets: { password?: string; passphrase?: string },
  ): Promise<FolderConfig> {
    const config = await folderConfigFrom({
      local: saved.localPath,
      target: targetSpecOf(saved),
      mode: saved.mode,
      ignore: saved.ignore,
      ...(saved.trashDays ? { trash: true, trashDays: saved.trashDays } : {}),
      ...(saved.afterSync ? { afterSync: saved.afterSync } : {}),
      hostKeyPolicy: 'strict',
      stateDir: this.opts.stateRoot,
      ...(saved.moreTargets?.length
        ? { moreTargets: saved.moreTargets.map((m) => ({ target: targetSpecOf(m) })) }
        : {}),
      ...(saved.authKind === 'key' && saved.keyPath
        ? { identity: [saved.keyPath, ...(saved.moreTargets ?? []).flatMap((m) => (m.keyPath ? [m.keyPath] : []))] }
        : {}),
      ...(this.opts.knownHostsPath ? { knownHosts: this.opts.knownHostsPath } : {}),
      ...(this.opts.sshConfigPath ? { sshConfig: this.opts.sshConfigPath } : {}),
      ...(this.opts.transport ? { transport: this.opts.transport } : {}),
      ...(this.opts.pollIntervalMs ? { pollIntervalMs: this.opts.pollIntervalMs } : {}),
      ...secrets,
    });
    // The chosen method only: a key or password folder does not also try the agent.
    if (saved.authKind !== 'agent') config.endpoint.agentSocket = null;
    return config;
  }

  private async startSaved(saved: StoredFolder): Promise<void> {
    const password =
      saved.authKind === 'password' ? await this.opts.secrets.get(secretKey(saved.id, 'password')) : undefined;
    const passphrase =
      saved.authKind === 'key' ? await this.opts.secrets.get(secretKey(saved.id, 'passphrase')) : undefined;
    const who = `${saved.user ?? ''}${saved.user ? '@' : ''}${saved.host}`;
    const missing =
      saved.authKind === 'password' && password === undefined
        ? 'password'
        : saved.authKind === 'key' &&
            saved.keyPath &&
            passphrase === undefined &&
            (await checkKeyPassphrase(saved.keyPath)) === 'needs-passphrase'
          ? 'passphrase'
          : undefined;
    if (missing) {
      const secret =
        missing === 'password' ? `the password for ${who}` : `the passphrase of the key ${saved.keyPath ?? ''}`;
      const message = `Ferry needs ${secret} to start this folder: no system keyring was available to keep it across restarts. Enter it to start syncing.`;
      this.folders.set(saved.id, {
        saved,
        stateDir: '',
        failure: { ...failedStatus(saved, message), lastErrorKind: 'needs-secret' },
        needsSecret: missing,
      });
      return;
    }
    try {
      const config = await this.configFor(saved, {
        ...(password !== undefined ? { password } : {}),
        ...(passphrase !== undefined ? { passphrase } : {}),
      });
      await this.run(saved, config);
    } catch (err) {
      this.folders.set(saved.id, { saved, stateDir: '', failure: failedStatus(saved, (err as Error).message) });
    }
  }

  private async run(saved: StoredFolder, config: FolderConfig): Promise<void> {
    const sync = new FolderSync(config);
    const id = saved.id;
    sync.on('status', (s) => this.emit('folderStatus', s));
    sync.on('file', (outcome) => this.emit('fileActivity', { folderId: id, outcome, time: new Date().toISOString() }));
    sync.on('conflict', (record) => {
      this.unresolved.set(id, (this.unresolved.get(id) ?? 0) + 1);
      this.emit('conflict', { folderId: id, record });
    });
    this.folders.set(id, { saved, sync, stateDir: config.stateDir, config });
    await this.countConflicts(id);
    if (saved.paused) sync.pause();
    await sync.start();
  }

  private async setPaused(ids: string[], paused: boolean): Promise<void> {
    for (const id of ids) {
      const r = this.folders.get(id);
      if (r) r.saved = { ...r.saved, paused };
    }
    await this.saveFolders(this.settings.folders.map((f) => (ids.includes(f.id) ? { ...f, paused } : f)));
  }

  private async saveFolders(folders: StoredFolder[]): Promise<void> {
    this.settings = { ...this.settings, folders };
    await this.opts.store.save(this.settings);
  }

  private changed(): void {
    this.emit('foldersChanged', { folderIds: [...this.folders.keys()] });
  }
}

/** A request's folder as saved (no secrets, no id yet). */
function storedFrom(req: UpdateFolderRequest, localPath: string, paused: boolean): StoredFolder {
  return {
    id: '',
    localPath,
    host: req.host,
    ...(req.user ? { user: req.user } : {}),
    ...(req.port ? { port: req.port } : {}),
    authKind: req.auth.kind,
    ...(req.auth.kind === 'key' ? { keyPath: req.auth.keyPath } : {}),
    remotePath: req.remotePath,
    mode: req.mode,
    ignore: req.ignore,
    ...(req.trashDays ? { trashDays: req.trashDays } : {}),
    ...(req.afterSync ? { afterSync: req.afterSync } : {}),
    paused,
  };
}

function secretsOf(req: UpdateFolderRequest): { password?: string; passphrase?: string } {
  return {
    ...(req.auth.kind === 'password' && req.auth.password ? { password: req.auth.password } : {}),
    ...(req.auth.kind === 'key' && req.auth.passphrase ? { passphrase: req.auth.passphrase } : {}),
  };
}

function failedStatus(saved: StoredFolder, message: string): FolderStatus {
  return newFolderStatus({
    id: saved.id,
    localRoot: saved.localPath,
    remote: `${saved.user ? `${saved.user}@` : ''}${saved.host}:${saved.remotePath}`,
    mode: saved.mode,
    state: 'error',
    lastError: message,
  });
}
