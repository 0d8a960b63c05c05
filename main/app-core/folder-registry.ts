/**
 * The app's running folders and their saved list: one FolderSync per saved folder, started
 * from its StoredFolder with its secrets, and the FolderEntry the window sees. The folder
 * lifecycle (folder-manager.ts), the targets (folder-targets.ts) and the per-path actions
 * (folder-items.ts) all work through this one registry.
 *
 * Invariants:
 * - The saved list (through the SettingsStore) and the running FolderSyncs change together:
 *   a folder is saved before it starts, and stopped before it is forgotten.
 * - Secrets go to the SecretStore under the folder's id, never into the settings. When the
 *   store cannot keep them (Linux without a keyring), a restarted folder does not start: its
 *   entry says which secret it needs, and provideSecret starts it.
 * - A paused folder (or target) is paused before its loop starts, so it never connects at launch.
 */
import type { EventEmitter } from 'node:events';
import { readConflicts, type ConflictRecord } from '../engine/conflict-log.ts';
import { FolderSync, type FolderConfig } from '../engine/folder-loop.ts';
import { folderConfigFrom } from '../engine/folder-options.ts';
import { newFolderStatus, type FolderStatus, type HookReport } from '../engine/status.ts';
import type { TransportChoice } from '../transport/open-transport.ts';
import { checkKeyPassphrase } from '../ssh/key-file.ts';
import type { AppSettings, Events, FolderEntry, UpdateFolderRequest } from '../ipc/contract.ts';
import { conflictMarksFile, countUnresolved, readConflictMarks } from './conflict-marks.ts';
import { targetSpecOf } from './connection.ts';
import type { PersistedSettings, StoredFolder } from './settings-migrations.ts';
import type { SecretStore, SettingsStore } from './settings-store.ts';
import { TimedPauses } from './timed-pause.ts';
import { PromptBroker, type PromptBrokerEvents } from './prompt-broker.ts';

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

export interface FolderManagerEvents extends PromptBrokerEvents {
  folderStatus: [FolderStatus];
  fileActivity: [Events['fileActivity']];
  conflict: [{ folderId: string; record: ConflictRecord }];
  foldersChanged: [{ folderIds: string[] }];
  hookRun: [{ folderId: string; report: HookReport }];
  settingsChanged: [AppSettings];
}

export interface Running {
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

export const secretKey = (id: string, what: 'password' | 'passphrase') => `folder:${id}:${what}`;

export class FolderRegistry {
  readonly opts: FolderManagerOptions;
  settings: PersistedSettings;
  readonly folders = new Map<string, Running>();
  /** Unresolved conflict-log records per folder (a new conflict adds one; a mark recounts). */
  readonly unresolved = new Map<string, number>();
  readonly timedPauses = new TimedPauses();
  readonly #events: EventEmitter<FolderManagerEvents>;
  /** Login prompts only a person can answer (a one-time code), asked in the window. */
  readonly prompts = new PromptBroker();

  constructor(opts: FolderManagerOptions, settings: PersistedSettings, events: EventEmitter<FolderManagerEvents>) {
    this.opts = opts;
    this.settings = settings;
    this.#events = events;
    this.prompts.on('loginPrompt', (p) => events.emit('loginPrompt', p));
    this.prompts.on('loginPromptClosed', (c) => events.emit('loginPromptClosed', c));
  }

  mustGet(id: string): Running {
    const r = this.folders.get(id);
    if (!r) throw new Error(`No folder with id ${id}; it may have been removed. Reload the folder list.`);
    return r;
  }

  runningSync(id: string): FolderSync {
    const r = this.mustGet(id);
    if (!r.sync)
      throw new Error(`${r.saved.localPath} is not running: ${r.failure?.lastError ?? 'it could not be started'}`);
    return r.sync;
  }

  entryOf(r: Running): FolderEntry {
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
      ...(s.remoteAfterSync ? { remoteAfterSync: s.remoteAfterSync } : {}),
      ...(s.canary ? { canary: true } : {}),
      ...(s.moreTargets?.length ? { moreTargets: s.moreTargets.map((m) => targetSpecOf(m)) } : {}),
      ...(s.pausedTargets?.length ? { pausedTargets: s.pausedTargets } : {}),
      ...(r.sync && s.moreTargets?.length ? { targetCommands: targetCommandsOf(s, r.sync.targets) } : {}),
      paused: s.paused,
      ...(this.timedPauses.until(s.id) ? { pausedUntil: this.timedPauses.until(s.id) } : {}),
      unresolvedConflicts: this.unresolved.get(s.id) ?? 0,
      status: status as FolderStatus,
      ...(r.needsSecret ? { needsSecret: r.needsSecret } : {}),
      ...(r.secretSessionOnly ? { secretSessionOnly: true } : {}),
    };
  }

  entry(id: string): FolderEntry {
    return this.entryOf(this.mustGet(id));
  }

  async configFor(saved: StoredFolder, secrets: { password?: string; passphrase?: string }): Promise<FolderConfig> {
    const config = await folderConfigFrom({
      local: saved.localPath,
      target: targetSpecOf(saved),
      mode: saved.mode,
      ignore: saved.ignore,
      ...(saved.trashDays ? { trash: true, trashDays: saved.trashDays } : {}),
      ...(saved.afterSync ? { afterSync: saved.afterSync } : {}),
      ...(saved.remoteAfterSync ? { remoteAfterSync: saved.remoteAfterSync } : {}),
      ...(saved.canary ? { canary: true } : {}),
      hostKeyPolicy: 'strict',
      stateDir: this.opts.stateRoot,
      ...(saved.moreTargets?.length
        ? {
            moreTargets: saved.moreTargets.map((m) => ({
              target: targetSpecOf(m),
              ...(m.afterSync ? { afterSync: m.afterSync } : {}),
              ...(m.remoteAfterSync ? { remoteAfterSync: m.remoteAfterSync } : {}),
            })),
          }
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

  /** Starts a folder from the settings at launch, or records why it cannot start. */
  async startSaved(saved: StoredFolder): Promise<void> {
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

  /** Starts (or restarts, after the caller stopped the old one) the folder's FolderSync. */
  async run(saved: StoredFolder, config: FolderConfig): Promise<void> {
    const sync = new FolderSync(config, { answerPrompts: this.prompts.answerer(saved.localPath) });
    const id = saved.id;
    const events = this.#events;
    sync.on('status', (s) => events.emit('folderStatus', s));
    // The server is named only when there are several: a one-server folder's rows stay as they were.
    sync.on('file', (outcome, target) =>
      events.emit('fileActivity', {
        folderId: id,
        outcome,
        time: new Date().toISOString(),
        ...(config.moreTargets?.length ? { target } : {}),
      }),
    );
    sync.on('conflict', (record) => {
      this.unresolved.set(id, (this.unresolved.get(id) ?? 0) + 1);
      events.emit('conflict', { folderId: id, record });
    });
    sync.on('hook', (report) => events.emit('hookRun', { folderId: id, report }));
    this.folders.set(id, { saved, sync, stateDir: config.stateDir, config });
    await this.countConflicts(id);
    if (saved.paused) sync.pause();
    else for (const t of saved.pausedTargets ?? []) if (sync.targets.includes(t)) sync.pause(t);
    await sync.start();
  }

  async countConflicts(id: string): Promise<void> {
    const r = this.folders.get(id);
    if (!r?.sync) return;
    const log = await readConflicts(r.sync.conflictFile).catch(() => ({ records: [] }));
    this.unresolved.set(id, countUnresolved(log.records, await readConflictMarks(conflictMarksFile(r.stateDir))));
  }

  /**
   * Resumes a running folder's targets, except those paused on their own (`pausedTargets`):
   * when every target is, all of them resume and those pauses are forgotten. Returns the
   * saved folder as it should now be (not yet saved).
   */
  resumeTargets(id: string): StoredFolder {
    const r = this.mustGet(id);
    const sync = this.runningSync(id);
    const own = (r.saved.pausedTargets ?? []).filter((t) => sync.targets.includes(t));
    if (own.length === sync.targets.length) {
      sync.resume();
      const { pausedTargets: _gone, ...rest } = r.saved;
      return rest;
    }
    for (const t of sync.targets) if (!own.includes(t)) sync.resume(t);
    return r.saved;
  }

  async setPaused(ids: string[], paused: boolean): Promise<void> {
    for (const id of ids) {
      const r = this.folders.get(id);
      if (r) r.saved = { ...r.saved, paused };
    }
    await this.saveFolders(this.settings.folders.map((f) => (ids.includes(f.id) ? { ...f, paused } : f)));
  }

  /** Saves `saved` in place of the folder `id` (in memory and on disk). */
  async replaceSaved(id: string, saved: StoredFolder): Promise<void> {
    const r = this.folders.get(id);
    if (r) r.saved = saved;
    await this.saveFolders(this.settings.folders.map((f) => (f.id === id ? saved : f)));
  }

  async saveFolders(folders: StoredFolder[]): Promise<void> {
    this.settings = { ...this.settings, folders };
    await this.opts.store.save(this.settings);
  }

  changed(): void {
    this.#events.emit('foldersChanged', { folderIds: [...this.folders.keys()] });
  }
}

/** A request's folder as saved (no secrets, no id yet). */
export function storedFrom(req: UpdateFolderRequest, localPath: string, paused: boolean): StoredFolder {
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
    ...(req.remoteAfterSync ? { remoteAfterSync: req.remoteAfterSync } : {}),
    ...(req.canary ? { canary: true } : {}),
    paused,
  };
}

export function secretsOf(req: UpdateFolderRequest): { password?: string; passphrase?: string } {
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

/** Each server's commands after sync, named as the running folder names its targets (the first first). */
function targetCommandsOf(s: StoredFolder, names: readonly string[]): FolderEntry['targetCommands'] {
  return [s, ...(s.moreTargets ?? [])].map((t, i) => ({
    target: names[i] ?? '',
    ...(t.afterSync ? { afterSync: t.afterSync } : {}),
    ...(t.remoteAfterSync ? { remoteAfterSync: t.remoteAfterSync } : {}),
  }));
}
