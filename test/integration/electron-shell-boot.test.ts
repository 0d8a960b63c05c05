/**
 * Boots the built Electron shell (out/main/main.js) in plain Node under a STAND-IN for
 * Electron's API (test/harness/electron-standin.ts), since the Electron binary cannot be
 * downloaded here. The stand-in records what the shell asks for and enforces Electron's
 * ordering rules (privileged schemes before ready; windows, trays, protocol.handle after).
 * It is not Electron: typechecking against electron.d.ts (`npm run typecheck:app`) still
 * applies, and rendering, the real tray and the real protocol stack are only exercised by
 * running the app.
 *
 * The bundles are built into a temporary directory laid out like the packaged app
 * (out/{main,preload,renderer} next to assets/), so concurrent builds of ./out don't interfere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMain, buildPreload, buildRenderer } from '../../main/build/build.ts';
import { COMMAND_NAMES, commandChannel } from '../../main/ipc/contract.ts';
import type {
  BootOp,
  BootRequest,
  FetchAnswer,
  InvokeSender,
  SecurityAnswer,
} from '../harness/electron-standin-boot.ts';
import type { record as StandinRecord } from '../harness/electron-standin.ts';

type Record = typeof StandinRecord;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runner = join(root, 'test', 'harness', 'electron-standin-boot.ts');

const dir = mkdtempSync(join(tmpdir(), 'ferry-shell-'));
const out = join(dir, 'out');
const mainJs = join(out, 'main', 'main.js');

interface Booted {
  child: ChildProcess;
  stderr: () => string;
  /** Settles with the exit code; the final record is then in `recordFile`. */
  exited: Promise<number | null>;
  recordFile: string;
}

/** Starts the shell under the stand-in; resolves once its window has loaded, or it has exited. */
async function boot(name: string, flags: string[] = []): Promise<Booted> {
  const home = join(dir, name);
  const recordFile = join(dir, `${name}.record.json`);
  const child = fork(runner, [mainJs, join(home, 'userData'), recordFile, ...flags], {
    execArgv: [],
    env: {
      ...process.env,
      FERRY_STATE_DIR: join(home, 'state'),
      HOME: home,
      XDG_STATE_HOME: join(home, 'state'),
      XDG_CONFIG_HOME: join(home, 'config'),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    child.on('message', (m: { type?: string }) => {
      if (m.type === 'booted') resolve();
    });
    void exited.then(() => resolve());
  });
  return { child, stderr: () => stderr, exited, recordFile };
}

let nextId = 1;
function ask<T>(b: Booted, request: BootOp): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: { id?: number; result?: T; error?: string }) => {
      if (m.id !== id) return;
      b.child.off('message', onMessage);
      if (m.error) reject(new Error(m.error));
      else resolve(m.result as T);
    };
    b.child.on('message', onMessage);
    b.child.send({ ...request, id }, (err) => err && reject(new Error(`the shell has exited: ${b.stderr()}`)));
  });
}

let shell: Booted;
before(async () => {
  await buildRenderer(join(out, 'renderer'));
  await buildPreload(join(out, 'preload'));
  await buildMain(join(out, 'main'));
  // The packaged layout: assets/ next to out/, and the production dependencies above the bundle.
  symlinkSync(join(root, 'assets'), join(dir, 'assets'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  shell = await boot('first');
  assert.equal(shell.child.exitCode, null, `the shell exited during boot:\n${shell.stderr()}`);
});
after(() => {
  if (shell?.child.exitCode === null) shell.child.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("the stand-in enforces Electron's ordering rules (so the boot test can fail)", async () => {
  // This process is not the booted shell (that runs in a child): here the stand-in is never ready.
  const standin = await import('../harness/electron-standin.ts');
  assert.throws(() => new standin.BrowserWindow({}), /before the app is ready/);
  assert.throws(() => new standin.Tray(undefined), /before the app is ready/);
  assert.throws(() => standin.protocol.handle('app', () => new Response()), /before the app is ready/);
  standin.protocol.registerSchemesAsPrivileged([{ scheme: 'app' }]);
  standin.emitReady();
  assert.throws(() => standin.protocol.registerSchemesAsPrivileged([{ scheme: 'x' }]), /before the app is ready/);
  standin.ipcMain.handle('ferry:cmd:x', () => undefined);
  assert.throws(() => standin.ipcMain.handle('ferry:cmd:x', () => undefined), /second handler/);
  assert.equal(standin.record.violations.length, 5);
});

test('the shell boots under the stand-in without breaking an Electron ordering rule', async () => {
  const r = await ask<Record>(shell, { op: 'record' });
  assert.deepEqual(r.violations, []);
  assert.deepEqual(r.errorBoxes, []);
  assert.equal(r.calls[0], 'app.requestSingleInstanceLock', 'the lock comes first');
  assert.equal(r.singleInstanceLockRequests, 1);
  const at = (call: string) => r.calls.indexOf(call);
  assert.ok(
    at('protocol.registerSchemesAsPrivileged') >= 0 && at('protocol.registerSchemesAsPrivileged') < at('ready'),
  );
  for (const call of ['protocol.handle', 'new Tray', 'new BrowserWindow'])
    assert.ok(at(call) > at('ready'), `${call} after ready: ${r.calls.join(', ')}`);
  assert.deepEqual(r.privilegedSchemes, [
    { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
  assert.deepEqual(r.handledSchemes, ['app']);
  assert.equal(r.trays, 1);
});

test('the window is hardened, has its preload and shows app://ferry/index.html', async () => {
  const r = await ask<Record>(shell, { op: 'record' });
  assert.equal(r.windows.length, 1);
  const [win] = r.windows;
  const prefs = win?.options.webPreferences;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.webviewTag, false);
  assert.notEqual(prefs.webSecurity, false);
  assert.equal(prefs.preload, join(out, 'preload', 'preload.cjs'));
  assert.ok(existsSync(prefs.preload), `preload ${prefs.preload} exists`);
  assert.equal(win?.loadedUrl, 'app://ferry/index.html');
  assert.equal(win?.loadStatus, 200);
  assert.equal(win?.shown, true, 'shown once ready-to-show');
});

test('every command of the IPC contract has exactly one handler', async () => {
  const r = await ask<Record>(shell, { op: 'record' });
  assert.equal(COMMAND_NAMES.length > 20, true);
  assert.deepEqual([...r.ipcHandleChannels].sort(), COMMAND_NAMES.map((n) => commandChannel(n)).sort());
});

test("IPC commands are answered for the window's own page and refused for any other sender", async () => {
  const getSettings = (from: InvokeSender) =>
    ask<{ ok: boolean; error?: string }>(shell, {
      op: 'invoke',
      channel: commandChannel('getSettings'),
      from,
      args: [],
    });
  const own = await getSettings({ contents: 'window', url: 'app://ferry/index.html' });
  assert.equal(own.ok, true, JSON.stringify(own));
  const strangers: InvokeSender[] = [
    { contents: 'other', url: 'app://ferry/index.html' },
    { contents: 'window', url: 'https://evil.example/' },
    { contents: 'window', url: 'app://evil/index.html' },
    { contents: 'window', url: 'app://ferry/index.html', subframe: true },
  ];
  for (const from of strangers) {
    const answer = await getSettings(from);
    assert.equal(answer.ok, false, JSON.stringify(from));
    assert.match(answer.error ?? '', /did not come from the Ferry window/);
  }
});

test('every tray icon the shell loads exists', async () => {
  const r = await ask<Record>(shell, { op: 'record' });
  assert.ok(r.imagePaths.length > 0, 'the tray loads an icon');
  for (const path of r.imagePaths) assert.ok(existsSync(path), `${path} exists`);
});

test('app://ferry/ serves the built renderer', async () => {
  const index = readFileSync(join(out, 'renderer', 'index.html'), 'utf8');
  for (const url of ['app://ferry/', 'app://ferry/index.html']) {
    assert.deepEqual(await ask<FetchAnswer>(shell, { op: 'fetch', url }), { status: 200, body: index }, url);
  }
  const js = await ask<FetchAnswer>(shell, { op: 'fetch', url: 'app://ferry/main.js' });
  assert.equal(js.status, 200);
  assert.equal(js.body, readFileSync(join(out, 'renderer', 'main.js'), 'utf8'));
});

test('app:// answers 404 for a file the renderer does not have', async () => {
  for (const url of ['app://ferry/no-such-file.js', 'app://ferry/no/such/dir/', 'app://ferry/%E0%A4%A']) {
    const answer = await ask<FetchAnswer>(shell, { op: 'fetch', url });
    assert.equal(answer.status, 404, `${url}: ${JSON.stringify(answer)}`);
  }
});

test('app:// refuses other hosts and every path outside the renderer', async () => {
  // Each of these names a file that exists (the main bundle, the preload, the package's
  // README), so a 404 means refused, not merely missing.
  const urls = [
    'app://evil/index.html',
    'app://ferry.evil/index.html',
    'app://ferry/../main/main.js',
    'app://ferry/%2e%2e/main/main.js',
    'app://ferry/..%2fmain%2fmain.js',
    'app://ferry/%2E%2E%2Fpreload%2Fpreload.cjs',
    'app://ferry/..%2f..%2fassets%2ftray%2fin-sync.png',
    `app://ferry/${encodeURIComponent(join(out, 'main', 'main.js'))}`,
  ];
  for (const url of urls) {
    const answer = await ask<FetchAnswer>(shell, { op: 'fetch', url });
    assert.equal(answer.status, 404, `${url}: ${JSON.stringify(answer).slice(0, 200)}`);
  }
});

test('navigation, new windows, webviews and permissions are refused', async () => {
  const s = await ask<SecurityAnswer>(shell, { op: 'security' });
  assert.equal(s.navigateAwayPrevented, true);
  assert.equal(s.navigateInsidePrevented, false);
  assert.equal(s.webviewPrevented, true);
  assert.deepEqual(s.windowOpenActions, ['deny', 'deny', 'deny']);
  assert.deepEqual(s.openedExternally, ['https://example.org/docs'], 'only https links go to the browser');
  assert.equal(s.permissionGranted, false);
  assert.equal(s.permissionCheck, false);
});

test('Quit stops the folders, removes the tray and ends the process with 0', async () => {
  shell.child.send({ id: 0, op: 'quit' } satisfies BootRequest);
  assert.equal(await shell.exited, 0, shell.stderr());
  const r = JSON.parse(readFileSync(shell.recordFile, 'utf8')) as Record;
  assert.equal(r.traysDestroyed, 1);
  assert.equal(r.exitCode, 0);
  assert.deepEqual(r.violations, []);
});

test('a second instance quits at once: no scheme, window or tray of its own', async () => {
  const second = await boot('second', ['--second-instance']);
  assert.equal(await second.exited, 0, second.stderr());
  const r = JSON.parse(readFileSync(second.recordFile, 'utf8')) as Record;
  assert.equal(r.singleInstanceLockRequests, 1);
  assert.deepEqual(r.calls, ['app.requestSingleInstanceLock', 'app.quit', 'app.exit(0)']);
  assert.deepEqual(r.windows, []);
  assert.equal(r.trays, 0);
});
