/**
 * The tray icon and menu, rebuilt from the Electron-free tray model whenever a folder's
 * status changes (at most every 500 ms). One image per overall state: PNG on Linux,
 * template images (with @2x) on macOS, .ico on Windows.
 */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import type { MenuAction, MenuItemModel, TrayMenuInput } from '../app-core/tray-menu.ts';
import { trayModel } from '../app-core/tray-menu.ts';
import { trayIconFor, type TrayIcon } from '../app-core/tray-state.ts';
import { ASSETS_DIR } from './paths.ts';

function iconFor(state: TrayIcon) {
  const dir = join(ASSETS_DIR, 'tray');
  if (process.platform === 'darwin') {
    const img = nativeImage.createFromPath(join(dir, `${state}Template.png`));
    img.setTemplateImage(true);
    return img;
  }
  if (process.platform === 'win32') return nativeImage.createFromPath(join(dir, `${state}.ico`));
  return nativeImage.createFromPath(join(dir, `${state}.png`));
}

function toElectron(items: MenuItemModel[], run: (a: MenuAction) => void): MenuItemConstructorOptions[] {
  return items.map((i): MenuItemConstructorOptions => {
    switch (i.kind) {
      case 'label':
        return { label: i.label, enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'action':
        return { label: i.label, enabled: i.enabled, click: () => run(i.action) };
      case 'checkbox':
        return { label: i.label, type: 'checkbox', checked: i.checked, click: () => run(i.action) };
      case 'submenu':
        return { label: i.label, submenu: toElectron(i.items, run) };
    }
  });
}

export interface TrayController {
  refresh(): void;
  destroy(): void;
}

export function setupTray(
  input: () => TrayMenuInput,
  run: (action: MenuAction) => void,
  onClick: () => void,
): TrayController {
  let state: TrayIcon = 'in-sync';
  const tray = new Tray(iconFor(state));
  tray.on('click', onClick);
  let timer: NodeJS.Timeout | undefined;
  const apply = () => {
    timer = undefined;
    const model = trayModel(input());
    if (trayIconFor(model.state) !== state) {
      state = trayIconFor(model.state);
      tray.setImage(iconFor(state));
    }
    tray.setToolTip(model.title);
    tray.setContextMenu(Menu.buildFromTemplate(toElectron(model.items, run)));
  };
  apply();
  return {
    refresh: () => {
      timer ??= setTimeout(apply, 500);
    },
    destroy: () => {
      if (timer) clearTimeout(timer);
      tray.destroy();
    },
  };
}
