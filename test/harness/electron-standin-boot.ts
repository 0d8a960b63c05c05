/**
 * Child-process entry that boots Ferry's built shell under the Electron STAND-IN
 * (electron-standin.ts), for test/integration/electron-shell-boot.test.ts:
 *
 *   node electron-standin-boot.ts <out/main/main.js> <userData dir> <record file> [--second-instance]
 *
 * A module-resolution hook answers every `import 'electron'` (the shell's and
 * electron-store's) with the stand-in. The bundle is evaluated, then `ready` is emitted (as
 * Electron does after the main script), and once the window has loaded its page the runner
 * sends `{ type: 'booted' }` over the fork IPC channel and answers requests from the test:
 * `record`, `fetch` (an app:// URL through the shell's protocol handler), `security` (probes
 * of the navigation, window-open and permission handlers), `invoke` (an IPC command as a
 * given sender) and `quit`. Whenever the process
 * ends (Electron's app.quit/app.exit end it), the final record is written to <record file>.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const standinUrl = new URL('./electron-standin.ts', import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'electron') return { url: standinUrl, shortCircuit: true };
    return nextResolve(specifier, context);
  },
});

const standin = (await import(standinUrl)) as typeof import('./electron-standin.ts');
const [mainJs, userData, recordFile, ...flags] = process.argv.slice(2);
if (!mainJs || !userData || !recordFile)
  throw new Error('usage: electron-standin-boot.ts <main.js> <userData> <record file>');
standin.control.userData = userData;
standin.control.singleInstanceLockGranted = !flags.includes('--second-instance');
process.on('exit', () => writeFileSync(recordFile, JSON.stringify(standin.record)));

export type BootOp =
  | { op: 'record' }
  | { op: 'fetch'; url: string }
  | { op: 'security' }
  | { op: 'invoke'; channel: string; from: InvokeSender; args: unknown[] }
  | { op: 'quit' };
export type BootRequest = { id: number } & BootOp;
/** Who invokes: the window's top frame at `url`, a subframe of it, or another webContents. */
export interface InvokeSender {
  contents: 'window' | 'other';
  url: string;
  subframe?: boolean;
}
export interface FetchAnswer {
  status?: number;
  body?: string;
  /** Set when the protocol handler threw instead of answering. */
  error?: string;
}
export interface SecurityAnswer {
  navigateAwayPrevented: boolean;
  navigateInsidePrevented: boolean;
  webviewPrevented: boolean;
  windowOpenActions: string[];
  openedExternally: string[];
  permissionGranted: boolean | undefined;
  permissionCheck: boolean | undefined;
}

async function fetchThroughShell(url: string): Promise<FetchAnswer> {
  try {
    const response = await standin.requestScheme(url);
    return { status: response.status, body: await response.text() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function probeSecurity(): SecurityAnswer {
  const contents = standin.windows[0]?.webContents;
  if (!contents) throw new Error('no window to probe');
  const fire = (name: string, url: string): boolean => {
    const event = { url, defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
    contents.emit(name, event, url);
    return event.defaultPrevented;
  };
  const windowOpenActions = ['https://example.org/docs', 'file:///etc/passwd', 'app://ferry/index.html'].map(
    (url) => contents.windowOpenHandler?.({ url }).action ?? 'no handler',
  );
  let permissionGranted: boolean | undefined;
  standin.sessionForTests.permissionRequestHandler?.(contents, 'media', (granted) => (permissionGranted = granted));
  return {
    navigateAwayPrevented: fire('will-navigate', 'https://evil.example/'),
    navigateInsidePrevented: fire('will-navigate', 'app://ferry/index.html'),
    webviewPrevented: fire('will-attach-webview', 'https://evil.example/'),
    windowOpenActions,
    openedExternally: [...standin.shell.opened],
    permissionGranted,
    permissionCheck: standin.sessionForTests.permissionCheckHandler?.(contents, 'notifications'),
  };
}

/** Calls the shell's ipcMain.handle handler as Electron would for a renderer's invoke. */
async function invoke(channel: string, from: InvokeSender, args: unknown[]): Promise<unknown> {
  const handler = standin.ipcMain.handlers.get(channel);
  if (!handler) throw new Error(`no handler for ${channel}`);
  const sender = from.contents === 'window' ? standin.windows[0]?.webContents : new standin.WebContents();
  const senderFrame = { url: from.url, parent: from.subframe ? { url: from.url, parent: null } : null };
  return handler({ sender, senderFrame }, ...args);
}

await import(pathToFileURL(mainJs).href);
standin.emitReady();
await standin.windowLoaded;
process.on('message', (message: BootRequest) => {
  const answer = async (): Promise<unknown> => {
    switch (message.op) {
      case 'record':
        return standin.record;
      case 'fetch':
        return fetchThroughShell(message.url);
      case 'security':
        return probeSecurity();
      case 'invoke':
        return invoke(message.channel, message.from, message.args);
      case 'quit':
        standin.app.quit();
        return 'quitting';
    }
  };
  void answer().then(
    (result) => process.send?.({ id: message.id, result }),
    (err: Error) => process.send?.({ id: message.id, error: err.message }),
  );
});
process.send?.({ type: 'booted' });
