/**
 * Builds the `window.ferry` object from the contract: one function per command name, an
 * `on` for events, and `getPathForFile`. The preload builds it over ipcRenderer; the
 * Chromium tests build the very same object over a page binding, so what the renderer is
 * tested against is what it runs against.
 *
 * Invariants: the object has exactly the contract's commands plus `on` and `getPathForFile`
 * (no generic `invoke`/`send` a page script could abuse); `{ ok: false }` answers become
 * thrown Errors carrying main's message.
 */
import { COMMAND_NAMES, type EventName, type Events, type FerryApi, type IpcResult } from './contract.ts';

export interface BridgeTransport {
  invoke(command: string, args: unknown[]): Promise<IpcResult<unknown>>;
  /** Subscribes to one event; returns the unsubscribe function. */
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
  getPathForFile(file: File): string;
}

export function buildFerryApi(transport: BridgeTransport): FerryApi {
  const api: Record<string, unknown> = {};
  for (const name of COMMAND_NAMES) {
    api[name] = async (...args: unknown[]) => {
      const answer = await transport.invoke(name, args);
      if (!answer.ok) throw new Error(answer.error);
      return answer.value;
    };
  }
  api.on = <K extends EventName>(event: K, listener: (payload: Events[K]) => void) =>
    transport.subscribe(event, (payload) => listener(payload as Events[K]));
  api.getPathForFile = (file: File) => transport.getPathForFile(file);
  return Object.freeze(api) as unknown as FerryApi;
}
