/**
 * The implementation of every IPC command, Electron-free: main/app wires these to
 * ipcMain.handle, and the Chromium tests wire them to a page binding. Both go through
 * {@link dispatchCommand}, so arguments are always validated as `unknown` first.
 *
 * Invariants:
 * - `dispatchCommand` never throws: it answers an IpcResult, with the error's message (the
 *   sentences written for users), never a stack.
 * - What needs the desktop (folder picker, opening a file) comes in as {@link DesktopDeps};
 *   the handlers do not know whether Electron is there.
 */
import type { CommandHandlers, CommandName, IpcResult } from './contract.ts';
import { isCommandName } from './contract.ts';
import { validateArgs } from './validate.ts';
import type { ConnectionService } from '../app-core/connection.ts';
import type { FolderManager } from '../app-core/folder-manager.ts';

export interface DesktopDeps {
  /** Shows the system folder picker; null when cancelled. */
  chooseFolder(): Promise<string | null>;
  /** Opens a local file with its default application. */
  openPath(absolutePath: string): Promise<void>;
  listSshAliases(): string[];
}

export function createHandlers(
  manager: FolderManager,
  connections: ConnectionService,
  desktop: DesktopDeps,
): CommandHandlers {
  return {
    listFolders: async () => manager.list(),
    inspectLocalPath: (path) => manager.inspectLocalPath(path),
    chooseLocalFolder: () => desktop.chooseFolder(),
    addFolder: (req) => manager.add(req),
    previewFolder: (req) => manager.preview(req),
    updateFolder: (id, req) => manager.update(id, req),
    ignorePath: (id, path) => manager.ignorePath(id, path),
    syncNow: async (id) => manager.syncNow(id),
    openFolder: (id) => desktop.openPath(manager.localPathOf(id, '.')),
    whyPath: (id, path) => manager.why(id, path),
    removeFolder: (id) => manager.remove(id),
    pauseFolder: (id) => manager.pause(id),
    resumeFolder: (id) => manager.resume(id),
    pauseFolderUntil: (id, until) => manager.pauseUntil(id, until),
    pauseAll: () => manager.pauseAll(),
    resumeAll: () => manager.resumeAll(),
    retryFailed: async (id) => manager.retryFailed(id),
    retryPath: async (id, path) => manager.retryPath(id, path),
    addTarget: (id, req) => manager.addTarget(id, req),
    removeTarget: (id, target) => manager.targets.remove(id, target),
    pauseTarget: (id, target) => manager.targets.pause(id, target),
    resumeTarget: (id, target) => manager.targets.resume(id, target),
    setTargetCommands: (id, target, commands) => manager.targets.setCommands(id, target, commands),
    listTrash: (id) => manager.listTrash(id),
    restoreFromTrash: (id, path, stamp) => manager.restoreFromTrash(id, path, stamp),
    confirmMassDelete: async (id) => manager.confirmMassDelete(id),
    cancelMassDelete: async (id) => manager.cancelMassDelete(id),
    provideSecret: (id, secret) => manager.provideSecret(id, secret),
    getConflicts: (id) => manager.conflicts(id),
    markConflictResolved: (id, time, path) => manager.markConflictResolved(id, time, path),
    openLocalFile: (id, path) => desktop.openPath(manager.localPathOf(id, path)),
    testConnection: (req) => connections.testConnection(req),
    trustHostKey: (req) => connections.trustHostKey(req),
    listSshAliases: async () => desktop.listSshAliases(),
    browseRemote: (req) => connections.browseRemote(req),
    makeRemoteDir: (req) => connections.makeRemoteDir(req),
    getSettings: async () => manager.getSettings(),
    setSettings: (patch) => manager.setSettings(patch),
    listLoginPrompts: async () => manager.prompts.pending(),
    answerLoginPrompt: async (id, answers) => manager.prompts.answer(id, answers),
  };
}

/** Validates `args` (untrusted) for `name` and runs the handler. */
export async function dispatchCommand(
  handlers: CommandHandlers,
  name: unknown,
  args: unknown,
): Promise<IpcResult<unknown>> {
  if (!isCommandName(name)) return { ok: false, error: `Ferry has no command ${JSON.stringify(name)}.` };
  try {
    return { ok: true, value: await run(handlers, name, args) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function run<K extends CommandName>(handlers: CommandHandlers, name: K, args: unknown): Promise<unknown> {
  const valid = validateArgs(name, args);
  const handler = handlers[name] as (...a: unknown[]) => Promise<unknown>;
  return handler(...(valid as unknown[]));
}
