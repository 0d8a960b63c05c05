/**
 * The one IPC contract between the main process, the preload and the renderer.
 *
 * Invariants:
 * - Every command is `name -> { args: tuple; result }` and every event `name -> payload`.
 *   Channel names, the preload API (`window.ferry`) and the handler table are all derived
 *   from {@link Commands} and {@link Events} by mapped types; nothing is written twice.
 * - Everything that crosses IPC is plain JSON data (structured-clone safe): no class
 *   instances, no functions, no secrets in results.
 * - A command never rejects across the wire: main answers {@link IpcResult}; the preload
 *   (or a test bridge) turns `{ ok: false }` back into a thrown Error in the renderer.
 */
import type { FileOutcome } from '../engine/apply-plan.ts';
import type { ConflictRecord } from '../engine/conflict-log.ts';
import type { SyncMode } from '../core/plan.ts';
import type { FolderStatus, HookReport } from '../engine/status.ts';
import type { PlanPreview } from '../engine/preview.ts';

export type { ConflictRecord, FileOutcome, FolderStatus, HookReport, PlanPreview, SyncMode };

export type Language = 'en' | 'zh-CN' | 'system';

/** How a folder authenticates. Passwords and passphrases travel only in requests, never back. */
export type AuthChoice =
  { kind: 'agent' } | { kind: 'key'; keyPath: string; passphrase?: string } | { kind: 'password'; password: string };

/** Where to connect: a host name or an ssh config alias, plus optional overrides. */
export interface ConnectionRequest {
  host: string;
  user?: string;
  port?: number;
  auth: AuthChoice;
  /** Absolute POSIX path on the server. */
  remotePath: string;
}

export interface AddFolderRequest extends ConnectionRequest {
  localPath: string;
  mode: SyncMode;
  ignore: string[];
  /** Keep what Ferry deletes or overwrites on the server in its trash for this many days; absent: no trash. */
  trashDays?: number;
  /** A command run locally (`/bin/sh -c`, in the folder) after a pass changed something. */
  afterSync?: string;
  /** A command run on the (first) server, in the remote folder, after a pass changed something there. */
  remoteAfterSync?: string;
  /** Canary rollout: each change goes to the first server, the others once it converged and its commands exited 0. */
  canary?: boolean;
}

/** A server added to a folder, with its own command run on it after a sync. */
export interface AddTargetRequest extends ConnectionRequest {
  remoteAfterSync?: string;
}

/** One server's commands after sync; a command left out is none. */
export interface TargetCommands {
  /** Run here (`/bin/sh -c`, in the folder) after a pass changed something on that server. */
  afterSync?: string;
  /** Run on that server, in its folder, after a pass changed something there. */
  remoteAfterSync?: string;
}

/**
 * A saved folder's new settings (its local path stays). A password or passphrase left empty
 * keeps the stored one. Changing anything restarts the folder; changing the server or the
 * remote path makes it a new target (a new id).
 */
export type UpdateFolderRequest = Omit<AddFolderRequest, 'localPath'>;

/** `why` for one path of a folder: the control socket's answer, for the card. */
export interface WhyResult {
  verdict: 'outside' | 'ignored' | 'failed' | 'synced' | 'held' | 'waiting' | 'absent';
  text: string;
}

/** A folder as the window lists it: its saved settings (without secrets) and live status. */
export interface FolderEntry {
  id: string;
  localPath: string;
  host: string;
  user?: string;
  port?: number;
  authKind: AuthChoice['kind'];
  /** The private key file of a 'key' folder (a path, not a secret). */
  keyPath?: string;
  remotePath: string;
  mode: SyncMode;
  ignore: string[];
  /** Days the server trash keeps what Ferry deletes or overwrites; absent: no trash. */
  trashDays?: number;
  afterSync?: string;
  /** The first server's command after sync (run on the server). */
  remoteAfterSync?: string;
  /** Canary rollout across the folder's servers (the first is the canary). */
  canary?: boolean;
  /** Servers after the first, as `ssh://user@host:port/path`. */
  moreTargets?: string[];
  /** The servers paused on their own (their status `remote`); the others sync. */
  pausedTargets?: string[];
  /** A running folder with several servers: each one's commands after sync, the first server first. */
  targetCommands?: ({ target: string } & TargetCommands)[];
  paused: boolean;
  /** A timed pause (tray or card): when the folder resumes by itself. */
  pausedUntil?: string;
  /** Conflict-log records not marked resolved: what the card, header and tray count. */
  unresolvedConflicts: number;
  status: FolderStatus;
  /**
   * Set when the folder could not start because its password or key passphrase is not
   * stored (no system keyring): the window asks for it and sends it with `provideSecret`.
   */
  needsSecret?: 'password' | 'passphrase';
  /** The secret given for this folder is kept in memory only (no system keyring); asked for again at the next start. */
  secretSessionOnly?: boolean;
}

export interface HostKeyInfo {
  /** Host and port as connected to (after ssh config expansion); what trustHostKey pins. */
  host: string;
  port: number;
  keyType: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  knownHostsPath: string;
}

export type TestConnectionResult =
  /** Host key known and login worked. */
  | { outcome: 'ok'; hostKey: HostKeyInfo; remotePathExists: boolean; sftp: boolean }
  /** First connection: the user must confirm the fingerprint (then trustHostKey). */
  | { outcome: 'unknown-host-key'; hostKey: HostKeyInfo }
  /** The server presents a different key than known_hosts holds: a blocking warning. */
  | { outcome: 'changed-host-key'; hostKey: HostKeyInfo; knownFingerprints: string[]; message: string }
  | { outcome: 'revoked-host-key'; hostKey: HostKeyInfo; message: string }
  /** Could not connect or log in; `message` says what the user can do. */
  | { outcome: 'failed'; message: string };

export interface TrustHostKeyRequest {
  host: string;
  port: number;
  /** Must equal the fingerprint the last testConnection to host:port saw, or nothing is pinned. */
  fingerprint: string;
}

export interface RemoteDirListing {
  path: string;
  /** Sub-directory names, sorted. */
  dirs: string[];
}

export type LocalPathKind = 'dir' | 'file' | 'missing';

export interface LocalPathInfo {
  path: string;
  kind: LocalPathKind;
  /** Id of a folder that already syncs this path, if any. */
  alreadySyncedBy?: string;
}

export interface ConflictView extends ConflictRecord {
  resolved: boolean;
}

export interface ConflictList {
  folderId: string;
  /** Newest first. */
  records: ConflictView[];
  /** Lines of the log that could not be read. */
  malformed: number;
}

/** One version kept in a folder's server trash. */
export interface TrashItem {
  /** The trash stamp (`YYYYMMDD-HHMMSS`, UTC) it was kept under. */
  stamp: string;
  /** Its path relative to the folder. */
  path: string;
  size: number;
}

export interface TrashListing {
  folderId: string;
  /** Newest stamp first; at most {@link TRASH_LIST_CAP} items. */
  items: TrashItem[];
  /** How many items the trash holds in all (more than `items` when capped). */
  total: number;
}

export const TRASH_LIST_CAP = 200;

export interface TrashRestoreResult {
  stamp: string;
  /** Where (in the server trash) the server's version from before the restore went. */
  serverPreviousKeptAs?: string;
  /** The conflict copy that keeps the local file from before the restore, if it differed. */
  localKeptAs?: string;
}

/**
 * A login asks what only a person can answer (a one-time code): the window shows a dialog
 * and answers with `answerLoginPrompt`. Carries no secret; the answers travel only in that
 * request.
 */
export interface LoginPrompt {
  requestId: string;
  /** The server asking, `user@host[:port]`. */
  server: string;
  /** The local folder the login is for; absent for a connection test or a remote listing. */
  folder?: string;
  /** The server's title and instructions for this round (often empty). */
  name: string;
  instructions: string;
  /** `echo: false`: the answer must not be shown (an input of type password). */
  prompts: { prompt: string; echo: boolean }[];
}

export interface LoginPromptClosed {
  requestId: string;
  /** 'withdrawn': the login no longer needs it (it failed, timed out, or the folder stopped). */
  reason: 'answered' | 'cancelled' | 'withdrawn';
}

export interface AppSettings {
  language: Language;
  openAtLogin: boolean;
}

/** Every command: argument tuple and result. */
export interface Commands {
  listFolders: { args: []; result: FolderEntry[] };
  inspectLocalPath: { args: [path: string]; result: LocalPathInfo };
  chooseLocalFolder: { args: []; result: string | null };
  addFolder: { args: [request: AddFolderRequest]; result: FolderEntry };
  /** The dry run of a folder not added yet: what its first sync would do. Changes nothing. */
  previewFolder: { args: [request: AddFolderRequest]; result: PlanPreview };
  updateFolder: { args: [folderId: string, request: UpdateFolderRequest]; result: FolderEntry };
  /** Adds an ignore pattern matching exactly this path (anchored) and restarts the folder. */
  ignorePath: { args: [folderId: string, path: string]; result: FolderEntry };
  /** A full pass now (also retries failed items); refused while paused or halted. */
  syncNow: { args: [folderId: string]; result: void };
  openFolder: { args: [folderId: string]; result: void };
  whyPath: { args: [folderId: string, path: string]; result: WhyResult };
  removeFolder: { args: [folderId: string]; result: void };
  pauseFolder: { args: [folderId: string]; result: void };
  resumeFolder: { args: [folderId: string]; result: void };
  /** Pauses now and resumes at `until` (ISO time, within 7 days). */
  pauseFolderUntil: { args: [folderId: string, until: string]; result: void };
  pauseAll: { args: []; result: void };
  resumeAll: { args: []; result: void };
  retryFailed: { args: [folderId: string]; result: void };
  /** Retries one failed path (relative to the folder) now. */
  retryPath: { args: [folderId: string, path: string]; result: void };
  /** Adds a server to a folder (same login method as its first); restarts the folder. */
  addTarget: { args: [folderId: string, request: AddTargetRequest]; result: FolderEntry };
  /**
   * Stops syncing the folder to one of its servers (`target`: that server's status `remote`);
   * refused for the last one. Nothing on the server changes; its state directory stays.
   */
  removeTarget: { args: [folderId: string, target: string]; result: FolderEntry };
  /** Pauses one server of the folder (kept across restarts); the others go on syncing. */
  pauseTarget: { args: [folderId: string, target: string]; result: void };
  resumeTarget: { args: [folderId: string, target: string]; result: void };
  /** Sets one server's commands after sync (the first server's are the folder's own); restarts the folder. */
  setTargetCommands: { args: [folderId: string, target: string, commands: TargetCommands]; result: FolderEntry };
  /** What the folder's server trash holds (connects to the server). */
  listTrash: { args: [folderId: string]; result: TrashListing };
  /** Puts the version of `path` kept under `stamp` back, on the server and locally. */
  restoreFromTrash: { args: [folderId: string, path: string, stamp: string]; result: TrashRestoreResult };
  confirmMassDelete: { args: [folderId: string]; result: void };
  /** Push mode: the pending deletes are not run; the server keeps those files, untracked. */
  cancelMassDelete: { args: [folderId: string]; result: void };
  /** The password or passphrase of a folder whose entry has `needsSecret`; starts it. */
  provideSecret: { args: [folderId: string, secret: string]; result: FolderEntry };
  getConflicts: { args: [folderId: string]; result: ConflictList };
  markConflictResolved: { args: [folderId: string, time: string, path: string]; result: void };
  openLocalFile: { args: [folderId: string, path: string]; result: void };
  testConnection: { args: [request: ConnectionRequest]; result: TestConnectionResult };
  trustHostKey: { args: [request: TrustHostKeyRequest]; result: void };
  listSshAliases: { args: []; result: string[] };
  browseRemote: { args: [request: ConnectionRequest]; result: RemoteDirListing };
  makeRemoteDir: { args: [request: ConnectionRequest]; result: void };
  getSettings: { args: []; result: AppSettings };
  setSettings: { args: [patch: Partial<AppSettings>]; result: AppSettings };
  /** The login prompts waiting for an answer (a window that opened late shows them). */
  listLoginPrompts: { args: []; result: LoginPrompt[] };
  /** Answers a pending login prompt: one string per prompt, or null to cancel the login. */
  answerLoginPrompt: { args: [requestId: string, answers: string[] | null]; result: void };
}

/** Every event main pushes to the window: name -> payload. */
export interface Events {
  folderStatus: FolderStatus;
  /** A server operation's outcome; `target` (the server's status `remote`) when the folder has several. */
  fileActivity: { folderId: string; outcome: FileOutcome; time: string; target?: string };
  conflict: { folderId: string; record: ConflictRecord };
  foldersChanged: { folderIds: string[] };
  /** A command after sync ended (one per command run, failed or not). */
  hookRun: { folderId: string; report: HookReport };
  /** The tray's "Conflicts" item: show this folder's conflict log. */
  showConflicts: { folderId: string };
  /** A login asks for a one-time code or the like (see {@link LoginPrompt}). */
  loginPrompt: LoginPrompt;
  /** A login prompt was answered, cancelled or withdrawn: its dialog closes. */
  loginPromptClosed: LoginPromptClosed;
}

export type CommandName = keyof Commands;
export type EventName = keyof Events;
export type CommandArgs<K extends CommandName> = Commands[K]['args'];
export type CommandResult<K extends CommandName> = Commands[K]['result'];

/** The wire answer of every command. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Runtime list of command names; the Record type makes it exhaustive. */
const COMMAND_TABLE: { [K in CommandName]: true } = {
  listFolders: true,
  inspectLocalPath: true,
  chooseLocalFolder: true,
  addFolder: true,
  previewFolder: true,
  updateFolder: true,
  ignorePath: true,
  syncNow: true,
  openFolder: true,
  whyPath: true,
  removeFolder: true,
  pauseFolder: true,
  resumeFolder: true,
  pauseFolderUntil: true,
  pauseAll: true,
  resumeAll: true,
  retryFailed: true,
  retryPath: true,
  addTarget: true,
  removeTarget: true,
  pauseTarget: true,
  resumeTarget: true,
  setTargetCommands: true,
  listTrash: true,
  restoreFromTrash: true,
  confirmMassDelete: true,
  cancelMassDelete: true,
  provideSecret: true,
  getConflicts: true,
  markConflictResolved: true,
  openLocalFile: true,
  testConnection: true,
  trustHostKey: true,
  listSshAliases: true,
  browseRemote: true,
  makeRemoteDir: true,
  getSettings: true,
  setSettings: true,
  listLoginPrompts: true,
  answerLoginPrompt: true,
};
export const COMMAND_NAMES = Object.keys(COMMAND_TABLE) as CommandName[];

const EVENT_TABLE: { [K in EventName]: true } = {
  folderStatus: true,
  fileActivity: true,
  conflict: true,
  foldersChanged: true,
  hookRun: true,
  showConflicts: true,
  loginPrompt: true,
  loginPromptClosed: true,
};
export const EVENT_NAMES = Object.keys(EVENT_TABLE) as EventName[];

export type CommandChannel<K extends CommandName = CommandName> = `ferry:cmd:${K}`;
export type EventChannel<K extends EventName = EventName> = `ferry:evt:${K}`;

export function commandChannel<K extends CommandName>(name: K): CommandChannel<K> {
  return `ferry:cmd:${name}`;
}
export function eventChannel<K extends EventName>(name: K): EventChannel<K> {
  return `ferry:evt:${name}`;
}
export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.hasOwn(COMMAND_TABLE, name);
}

/** The command part of `window.ferry`: one async function per command. */
export type FerryCommandsApi = { [K in CommandName]: (...args: CommandArgs<K>) => Promise<CommandResult<K>> };

/** What the preload exposes as `window.ferry`. */
export interface FerryApi extends FerryCommandsApi {
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends EventName>(event: K, listener: (payload: Events[K]) => void): () => void;
  /** Absolute path of a dropped file or folder (Electron's webUtils.getPathForFile). */
  getPathForFile(file: File): string;
}

/** Server-side handler table, derived from the contract (args already validated). */
export type CommandHandlers = { [K in CommandName]: (...args: CommandArgs<K>) => Promise<CommandResult<K>> };
