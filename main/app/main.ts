/**
 * The Electron entry: a thin shell that wires Electron-free modules (app-core, ipc) to
 * Electron APIs. Every decision (tray state and menu, notifications, settings migrations,
 * IPC validation) is made in code that the unit tests run in plain Node.
 *
 * Lifecycle: one instance (a second launch shows the window); closing the window hides it;
 * Quit stops every folder (in-flight transfers finish, indexes are saved) and then exits.
 */
import { app, dialog, shell } from 'electron';
import { join } from 'node:path';
import { ConnectionService } from '../app-core/connection.ts';
import { FolderManager } from '../app-core/folder-manager.ts';
import { NotificationRules } from '../app-core/notifications.ts';
import { shellLanguageFor } from '../app-core/shell-strings.ts';
import { listSshAliases } from '../app-core/ssh-aliases.ts';
import type { MenuAction } from '../app-core/tray-menu.ts';
import { defaultStateRoot } from '../engine/folder-state-dir.ts';
import { createHandlers } from '../ipc/handlers.ts';
import { sendEvent, setupIpc } from './ipc.ts';
import { setOpenAtLogin } from './login-item.ts';
import { showNotices } from './notify.ts';
import { registerAppScheme, serveRenderer } from './protocol.ts';
import { SafeStorageSecretStore } from './secret-store.ts';
import { ElectronSettingsStore } from './electron-settings-store.ts';
import { setupSecurity } from './security.ts';
import { setupTray, type TrayController } from './tray.ts';
import { mainWindow, markQuitting, showWindow } from './window.ts';

function setupSingleInstance(): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', () => showWindow());
  return true;
}

async function setupApp(): Promise<void> {
  const userData = app.getPath('userData');
  const secrets = new SafeStorageSecretStore(join(userData, 'secrets.json'));
  let manager: FolderManager;
  try {
    manager = await FolderManager.open({
      store: new ElectronSettingsStore(),
      secrets,
      stateRoot: defaultStateRoot(),
    });
  } catch (err) {
    dialog.showErrorBox('Ferry cannot start', (err as Error).message);
    app.exit(1);
    return;
  }
  if (!(await secrets.canPersist())) {
    console.warn(
      'Ferry: no system keyring (safeStorage backend basic_text); passwords are kept for this session only and asked for again at the next start.',
    );
  }
  const language = () => shellLanguageFor(manager.getSettings().language, app.getLocale());
  const rules = new NotificationRules({ language: language() });

  // A connection test asks a one-time code in the window too.
  const connections = new ConnectionService({ answerPrompts: manager.prompts.answerer() });
  const handlers = createHandlers(manager, connections, {
    chooseFolder: async () => {
      const win = mainWindow();
      const options = { properties: ['openDirectory' as const, 'createDirectory' as const] };
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    openPath: async (path) => {
      const error = await shell.openPath(path);
      if (error) throw new Error(`Could not open ${path}: ${error}`);
    },
    listSshAliases: () => listSshAliases(),
  });
  setupIpc(handlers);

  const run = (action: MenuAction): void => {
    const done = (p: Promise<unknown> | void) =>
      void Promise.resolve(p).catch((err: Error) => console.error(err.message));
    switch (action.type) {
      case 'pauseAll':
        return done(manager.pauseAll());
      case 'resumeAll':
        return done(manager.resumeAll());
      case 'pauseFolder':
        return done(manager.pause(action.folderId));
      case 'resumeFolder':
        return done(manager.resume(action.folderId));
      case 'pauseFolderUntil':
        return done(manager.pauseUntil(action.folderId, action.until));
      case 'syncNow':
        return done(manager.syncNow(action.folderId));
      case 'openFolder':
        return done(shell.openPath(manager.localPathOf(action.folderId, '.')));
      case 'showConflicts':
        showWindow();
        return sendEvent('showConflicts', { folderId: action.folderId });
      case 'openWindow':
        return showWindow();
      case 'toggleOpenAtLogin':
        return done(manager.setSettings({ openAtLogin: !manager.getSettings().openAtLogin }));
      case 'quit':
        return void app.quit();
    }
  };
  const tray: TrayController = setupTray(
    () => ({
      folders: manager.list().map((f) => ({
        status: f.status,
        conflictsNeedingAttention: f.unresolvedConflicts,
        ...(f.pausedUntil ? { pausedUntil: f.pausedUntil } : {}),
      })),
      now: Date.now(),
      openAtLogin: manager.getSettings().openAtLogin,
      language: language(),
    }),
    run,
    showWindow,
  );

  manager.on('folderStatus', (s) => {
    sendEvent('folderStatus', s);
    tray.refresh();
    showNotices(rules.onStatus(s, Date.now()), showWindow);
  });
  // Folders that could not start (e.g. waiting for a password) emit no status events.
  for (const s of manager.statuses()) showNotices(rules.onStatus(s, Date.now()), showWindow);
  manager.on('fileActivity', (a) => sendEvent('fileActivity', a));
  // A login waits for a person (a one-time code): the window comes up to ask.
  manager.on('loginPrompt', (p) => {
    showWindow();
    sendEvent('loginPrompt', p);
  });
  manager.on('loginPromptClosed', (c) => sendEvent('loginPromptClosed', c));
  manager.on('conflict', (c) => {
    sendEvent('conflict', c);
    tray.refresh();
    const folder = manager.statuses().find((s) => s.id === c.folderId);
    if (folder) showNotices(rules.onConflict(c.folderId, folder, c.record), showWindow);
  });
  manager.on('foldersChanged', (f) => {
    sendEvent('foldersChanged', f);
    tray.refresh();
  });
  manager.on('settingsChanged', (s) => {
    rules.setLanguage(language());
    tray.refresh();
    void setOpenAtLogin(s.openAtLogin).catch((err: Error) => console.error(`Open at login: ${err.message}`));
  });
  // Relative times in the tray ("Last synced 5 minutes ago") move on without a status event.
  const ticker = setInterval(() => {
    showNotices(rules.tick(Date.now()), showWindow);
    tray.refresh();
  }, 30_000);

  let stopped = false;
  app.on('before-quit', (event) => {
    markQuitting();
    if (stopped) return;
    event.preventDefault();
    clearInterval(ticker);
    void manager.stopAll().finally(() => {
      stopped = true;
      tray.destroy();
      app.quit();
    });
  });

  if (!process.argv.includes('--hidden')) showWindow();
}

function main(): void {
  if (!setupSingleInstance()) return;
  registerAppScheme();
  setupSecurity();
  if (process.platform === 'darwin') app.dock?.hide();
  // A tray app: closing the last window must not quit.
  app.on('window-all-closed', () => undefined);
  app.whenReady().then(async () => {
    serveRenderer();
    await setupApp();
  });
}

main();
