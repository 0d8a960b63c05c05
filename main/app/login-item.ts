/** Open at login: Electron's login item on macOS and Windows, an XDG autostart file on Linux. */
import { app } from 'electron';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { autostartDesktopEntry, autostartFile } from '../app-core/autostart.ts';

export async function setOpenAtLogin(enabled: boolean): Promise<void> {
  if (process.platform === 'darwin' || process.platform === 'win32') {
    app.setLoginItemSettings({ openAtLogin: enabled });
    return;
  }
  const file = autostartFile();
  if (!enabled) return void (await rm(file, { force: true }));
  // An AppImage runs from a temporary mount: autostart must point at the AppImage file itself.
  const exec = process.env.APPIMAGE ?? process.execPath;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, autostartDesktopEntry(exec, app.isPackaged ? [] : [app.getAppPath()]));
}
