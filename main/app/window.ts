/**
 * The one window. Hardened (contextIsolation, sandbox, no Node), loads app://ferry/, and
 * hides instead of closing: Ferry keeps running in the tray until Quit.
 */
import { BrowserWindow } from 'electron';
import { APP_ORIGIN, PRELOAD_FILE } from './paths.ts';

let win: BrowserWindow | undefined;
let quitting = false;

export function markQuitting(): void {
  quitting = true;
}

export function mainWindow(): BrowserWindow | undefined {
  return win && !win.isDestroyed() ? win : undefined;
}

export function showWindow(): void {
  const w = mainWindow() ?? createWindow();
  if (w.isMinimized()) w.restore();
  w.show();
  w.focus();
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 980,
    height: 680,
    minWidth: 560,
    minHeight: 400,
    show: false,
    title: 'Ferry',
    autoHideMenuBar: true,
    webPreferences: {
      preload: PRELOAD_FILE,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  w.on('close', (event) => {
    if (!quitting) {
      event.preventDefault();
      w.hide();
    }
  });
  w.once('ready-to-show', () => w.show());
  void w.loadURL(`${APP_ORIGIN}/index.html`);
  win = w;
  return w;
}
