/** Shows the notices the Electron-free NotificationRules decide on; a click opens the window. */
import { Notification } from 'electron';
import type { Notice } from '../app-core/notifications.ts';

export function showNotices(notices: Notice[], onClick: () => void): void {
  if (!Notification.isSupported()) return;
  for (const n of notices) {
    const note = new Notification({ title: n.title, body: n.body, silent: n.kind === 'conflict' });
    note.on('click', onClick);
    note.show();
  }
}
