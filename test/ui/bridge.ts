/**
 * The test stand-in for the preload, injected into the page before its scripts run: it
 * builds `window.ferry` with the same buildFerryApi the preload uses, over a Playwright
 * binding (`__ferryInvoke`) that calls the real IPC handlers in the test process. Events
 * arrive through `__ferryEmit` (a listener that throws surfaces as an uncaught page error,
 * which fails the test); dropped files' paths come from `__ferryDropPaths` (what
 * webUtils.getPathForFile would answer), keyed by file name.
 */
import { buildFerryApi } from '../../main/ipc/bridge-api.ts';
import type { IpcResult } from '../../main/ipc/contract.ts';

interface TestHooks {
  __ferryInvoke(command: string, args: unknown[]): Promise<IpcResult<unknown>>;
  __ferryEmit(event: string, payload: unknown): void;
  __ferryDropPaths: Record<string, string>;
}

// `globalThis` is the page's window (this file is typechecked without the DOM library).
const hooks = globalThis as unknown as TestHooks;
const listeners = new Map<string, Set<(payload: unknown) => void>>();
hooks.__ferryDropPaths = {};
hooks.__ferryEmit = (event, payload) => {
  // As with Electron's ipcRenderer: every listener gets the event, and one that throws is an
  // uncaught error of the page (a 'pageerror' the tests fail on), never swallowed.
  for (const l of listeners.get(event) ?? []) {
    try {
      l(payload);
    } catch (err) {
      setTimeout(() => {
        throw err;
      });
    }
  }
};

Object.defineProperty(globalThis, 'ferry', {
  value: buildFerryApi({
    invoke: (command, args) => hooks.__ferryInvoke(command, args),
    subscribe: (event, listener) => {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
    getPathForFile: (file) => hooks.__ferryDropPaths[file.name] ?? '',
  }),
  writable: false,
  configurable: false,
});
