/**
 * Wires the contract to ipcMain: one handler per command (validated as `unknown` by
 * dispatchCommand), answered only for our own window's top frame on app://ferry; events
 * go to that window only.
 */
import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import {
  COMMAND_NAMES,
  commandChannel,
  eventChannel,
  type CommandHandlers,
  type EventName,
  type Events,
} from '../ipc/contract.ts';
import { dispatchCommand } from '../ipc/handlers.ts';
import { isAppUrl } from './security.ts';
import { mainWindow } from './window.ts';

function trustedSender(event: IpcMainInvokeEvent): boolean {
  const win = mainWindow();
  const frame = event.senderFrame;
  // Our window, its top frame (no subframe can exist, but do not rely on it), our origin.
  return !!win && event.sender === win.webContents && !!frame && frame.parent === null && isAppUrl(frame.url);
}

export function setupIpc(handlers: CommandHandlers): void {
  for (const name of COMMAND_NAMES) {
    ipcMain.handle(commandChannel(name), (event, ...args: unknown[]) => {
      if (!trustedSender(event))
        return { ok: false, error: 'Refused: this request did not come from the Ferry window.' };
      return dispatchCommand(handlers, name, args);
    });
  }
}

export function sendEvent<K extends EventName>(name: K, payload: Events[K]): void {
  const win = mainWindow();
  if (win && !win.webContents.isDestroyed()) win.webContents.send(eventChannel(name), payload);
}
