/**
 * A STAND-IN for Electron's main-process API, not Electron: just enough of `app`, `protocol`,
 * `BrowserWindow`, `Tray`, `ipcMain` and friends for Ferry's built shell (out/main/main.js)
 * to boot in plain Node, where the Electron binary cannot be downloaded. It records what the
 * shell asks for, so a test can check it, and enforces the ordering rules Electron itself
 * enforces, throwing as Electron would:
 *   - `protocol.registerSchemesAsPrivileged` only before `ready`, and only once;
 *   - `BrowserWindow`, `Tray`, `protocol.handle`, `session`, `dialog` only after `ready`;
 *   - one `ipcMain.handle` handler per channel.
 * Every broken rule is also kept in `record.violations`, in case the shell swallows the throw.
 *
 * Invariants: the stand-in never reaches a display, a keyring or the network; `ready` is
 * emitted only when the boot runner calls {@link emitReady} (after main.js has been
 * evaluated, as in Electron); `net.fetch` of a missing file rejects like Chromium's network
 * stack (`net::ERR_FILE_NOT_FOUND`). It is checked against nothing: the shell's types are
 * checked against electron.d.ts by `npm run typecheck:app`, and real Electron behaviour by
 * running the app.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

type Listener = (...args: any[]) => unknown;

export interface WindowRecord {
  options: any;
  loadedUrl?: string;
  loadStatus?: number;
  shown: boolean;
}

/** What the shell did, in JSON-safe form (sent to the test over the IPC channel). */
export const record = {
  /** Every API call that matters for ordering, in order: 'ready' marks the app becoming ready. */
  calls: [] as string[],
  violations: [] as string[],
  singleInstanceLockRequests: 0,
  privilegedSchemes: [] as { scheme: string; privileges?: Record<string, boolean> }[],
  handledSchemes: [] as string[],
  ipcHandleChannels: [] as string[],
  windows: [] as WindowRecord[],
  imagePaths: [] as string[],
  trays: 0,
  traysDestroyed: 0,
  errorBoxes: [] as string[],
  exitCode: undefined as number | undefined,
};

/** Tests may set this before booting to play a second instance. */
export const control = { singleInstanceLockGranted: true, userData: '' };

let ready = false;
let resolveReady: () => void = () => undefined;
const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));

function call(name: string): void {
  record.calls.push(name);
}

function needsReady(what: string): void {
  call(what);
  if (!ready) {
    const message = `${what} used before the app is ready (Electron refuses this)`;
    record.violations.push(message);
    throw new Error(message);
  }
}

// ---- app ----------------------------------------------------------------------------------

class App extends EventEmitter {
  isPackaged = false;
  dock = undefined;
  private quitting = false;
  requestSingleInstanceLock(): boolean {
    call('app.requestSingleInstanceLock');
    record.singleInstanceLockRequests++;
    return control.singleInstanceLockGranted;
  }
  isReady(): boolean {
    return ready;
  }
  whenReady(): Promise<void> {
    return readyPromise;
  }
  getPath(name: string): string {
    if (name !== 'userData') throw new Error(`stand-in: app.getPath('${name}') is not modelled`);
    return control.userData;
  }
  getAppPath(): string {
    return process.cwd();
  }
  getVersion(): string {
    return '0.0.0';
  }
  getLocale(): string {
    return 'en-US';
  }
  setLoginItemSettings(): void {
    call('app.setLoginItemSettings');
  }
  /** Electron: emit before-quit (cancellable), then will-quit and quit, then end the process. */
  quit(): void {
    call('app.quit');
    if (this.quitting) return;
    const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
    this.emit('before-quit', event);
    if (event.defaultPrevented) return;
    this.quitting = true;
    this.emit('will-quit', { preventDefault: () => undefined });
    this.emit('quit', {}, 0);
    this.exit(0);
  }
  exit(code = 0): void {
    call(`app.exit(${code})`);
    record.exitCode = code;
    // Like Electron, end the process at once; the runner reports the record on 'exit'.
    process.exit(code);
  }
}
export const app = new App();

/** Called by the boot runner once main.js has been evaluated, as Electron does. */
export function emitReady(): void {
  ready = true;
  call('ready');
  app.emit('will-finish-launching');
  app.emit('ready', {}, {});
  resolveReady();
}

// ---- protocol and net ---------------------------------------------------------------------

type ProtocolHandler = (request: Request) => Response | Promise<Response>;
const protocolHandlers = new Map<string, ProtocolHandler>();
let schemesRegistered = false;

export const protocol = {
  registerSchemesAsPrivileged(schemes: { scheme: string; privileges?: Record<string, boolean> }[]): void {
    call('protocol.registerSchemesAsPrivileged');
    if (ready || schemesRegistered) {
      const message = 'protocol.registerSchemesAsPrivileged must be called once, before the app is ready';
      record.violations.push(message);
      throw new Error(message);
    }
    schemesRegistered = true;
    record.privilegedSchemes.push(...schemes);
  },
  handle(scheme: string, handler: ProtocolHandler): void {
    needsReady('protocol.handle');
    if (protocolHandlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
    protocolHandlers.set(scheme, handler);
    record.handledSchemes.push(scheme);
  },
  isProtocolHandled(scheme: string): boolean {
    return protocolHandlers.has(scheme);
  },
};

/** What Chromium would do with a request to a custom scheme: ask its handler. */
export async function requestScheme(url: string): Promise<Response> {
  const handler = protocolHandlers.get(new URL(url).protocol.slice(0, -1));
  if (!handler) throw new Error(`net::ERR_UNKNOWN_URL_SCHEME ${url}`);
  return handler(new Request(url));
}

export const net = {
  /** file: URLs only (all the shell fetches); a missing file rejects, as Electron's net.fetch does. */
  async fetch(input: string | Request): Promise<Response> {
    const url = typeof input === 'string' ? input : input.url;
    if (!url.startsWith('file:')) throw new Error(`stand-in: net.fetch of ${url} is not modelled`);
    try {
      return new Response(await readFile(fileURLToPath(url)), { status: 200 });
    } catch (err) {
      throw new Error(`net::ERR_FILE_NOT_FOUND ${url}`, { cause: err });
    }
  },
};

// ---- windows, web contents, session -------------------------------------------------------

export class WebContents extends EventEmitter {
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  readonly sent: { channel: string; payload: unknown }[] = [];
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  isDestroyed(): boolean {
    return false;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
}

export const windows: BrowserWindow[] = [];

export class BrowserWindow extends EventEmitter {
  readonly webContents = new WebContents();
  private readonly rec: WindowRecord;
  constructor(options: any) {
    needsReady('new BrowserWindow');
    super();
    this.rec = { options: structuredClone(options), shown: false };
    record.windows.push(this.rec);
    windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  /** Loads through the registered scheme handler, then emits ready-to-show on success. */
  async loadURL(url: string): Promise<void> {
    call('BrowserWindow.loadURL');
    this.rec.loadedUrl = url;
    try {
      const response = await requestScheme(url);
      this.rec.loadStatus = response.status;
      if (!response.ok) throw new Error(`ERR_FAILED (${response.status}) loading '${url}'`);
      this.emit('ready-to-show');
    } finally {
      settleWindowLoaded();
    }
  }
  isDestroyed(): boolean {
    return false;
  }
  isMinimized(): boolean {
    return false;
  }
  isFocused(): boolean {
    return this.rec.shown;
  }
  restore(): void {}
  show(): void {
    this.rec.shown = true;
  }
  hide(): void {
    this.rec.shown = false;
  }
  focus(): void {}
}

/** Settles when a window has loaded its page (or failed to): the end of the shell's boot. */
let settleWindowLoaded: () => void = () => undefined;
export const windowLoaded = new Promise<void>((resolve) => (settleWindowLoaded = resolve));

type PermissionRequestHandler = (wc: unknown, permission: string, callback: (granted: boolean) => void) => void;
type PermissionCheckHandler = (wc: unknown, permission: string) => boolean;
const defaultSession = {
  permissionRequestHandler: undefined as PermissionRequestHandler | undefined,
  permissionCheckHandler: undefined as PermissionCheckHandler | undefined,
  setPermissionRequestHandler(handler: PermissionRequestHandler): void {
    this.permissionRequestHandler = handler;
  },
  setPermissionCheckHandler(handler: PermissionCheckHandler): void {
    this.permissionCheckHandler = handler;
  },
};
export const session = {
  get defaultSession() {
    needsReady('session.defaultSession');
    return defaultSession;
  },
};
export { defaultSession as sessionForTests };

// ---- ipcMain ------------------------------------------------------------------------------

export const ipcMain = new (class IpcMain extends EventEmitter {
  readonly handlers = new Map<string, Listener>();
  handle(channel: string, handler: Listener): void {
    if (this.handlers.has(channel)) {
      const message = `Attempted to register a second handler for '${channel}'`;
      record.violations.push(message);
      throw new Error(message);
    }
    this.handlers.set(channel, handler);
    record.ipcHandleChannels.push(channel);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
})();

// ---- tray, menu, images, notifications, dialogs, shell, safeStorage -----------------------

export const nativeImage = {
  /** Electron answers an empty image for a missing file, silently: the test checks the paths. */
  createFromPath(path: string) {
    record.imagePaths.push(path);
    return { path, setTemplateImage: () => undefined, isEmpty: () => false };
  },
};

export class Tray extends EventEmitter {
  constructor(_image: unknown) {
    needsReady('new Tray');
    super();
    record.trays++;
  }
  setImage(): void {}
  setToolTip(): void {}
  setContextMenu(): void {}
  destroy(): void {
    call('Tray.destroy');
    record.traysDestroyed++;
  }
}

export const Menu = {
  buildFromTemplate: (template: unknown[]) => ({ items: template }),
};

export class Notification extends EventEmitter {
  static isSupported(): boolean {
    return ready;
  }
  show(): void {}
}

export const dialog = {
  showErrorBox(title: string, content: string): void {
    needsReady('dialog.showErrorBox');
    record.errorBoxes.push(`${title}: ${content}`);
  },
  async showOpenDialog(): Promise<{ canceled: boolean; filePaths: string[] }> {
    needsReady('dialog.showOpenDialog');
    return { canceled: true, filePaths: [] };
  },
};

export const shell = {
  opened: [] as string[],
  async openPath(path: string): Promise<string> {
    this.opened.push(path);
    return '';
  },
  async openExternal(url: string): Promise<void> {
    this.opened.push(url);
  },
};

/** A Linux machine without a keyring: secrets stay in memory for the session. */
export const safeStorage = {
  getSelectedStorageBackend: () => 'basic_text',
  isAsyncEncryptionAvailable: async () => false,
  async encryptStringAsync(): Promise<Buffer> {
    throw new Error('stand-in: no keyring');
  },
  async decryptStringAsync(): Promise<{ result: string }> {
    throw new Error('stand-in: no keyring');
  },
};

export default {
  app,
  protocol,
  net,
  BrowserWindow,
  session,
  ipcMain,
  nativeImage,
  Tray,
  Menu,
  Notification,
  dialog,
  shell,
  safeStorage,
};
