/** The only way the renderer reaches main: `window.ferry`, typed from the IPC contract. */
import type { FerryApi } from '../main/ipc/contract.ts';

declare global {
  interface Window {
    readonly ferry: FerryApi;
  }
}

export function ferry(): FerryApi {
  return window.ferry;
}
