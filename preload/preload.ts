/**
 * The preload: exposes exactly the contract's functions on `window.ferry` (built by
 * buildFerryApi from the contract), never ipcRenderer itself. Runs sandboxed, so it is
 * bundled into one CommonJS file (main/build/build.ts) and imports nothing but electron.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { buildFerryApi } from '../main/ipc/bridge-api.ts';
import { commandChannel, eventChannel, isCommandName, type IpcResult } from '../main/ipc/contract.ts';

const api = buildFerryApi({
  invoke: async (command, args) => {
    if (!isCommandName(command)) return { ok: false, error: `Ferry has no command ${command}.` };
    return (await ipcRenderer.invoke(commandChannel(command), ...args)) as IpcResult<unknown>;
  },
  subscribe: (event, listener) => {
    const channel = eventChannel(event);
    // Never hand the IpcRendererEvent (it holds `sender`, an ipcRenderer) to the page.
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => void ipcRenderer.removeListener(channel, wrapped);
  },
  getPathForFile: (file) => webUtils.getPathForFile(file),
});

contextBridge.exposeInMainWorld('ferry', api);
