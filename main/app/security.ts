/**
 * App-wide web security: the window only ever shows our own files. Navigation, new
 * windows, webviews and every permission request are refused, for every webContents.
 */
import { app, session, shell, type WebContents } from 'electron';
import { APP_HOST, APP_SCHEME } from './paths.ts';

/**
 * Whether `url` is one of ours (app://ferry/...). Compares scheme and host, not `origin`:
 * Node's URL gives every non-special scheme, app: included, the opaque origin 'null'.
 */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

export function setupSecurity(): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event) => {
      if (!isAppUrl(event.url)) event.preventDefault();
    });
    contents.on('will-redirect', (event) => {
      if (!isAppUrl(event.url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Links to the web (docs) open in the user's browser, never inside Ferry.
      if (/^https:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
  app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
  });
}
