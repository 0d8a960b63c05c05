/**
 * The built renderer in a real Chromium, against the real IPC handlers, the real engine and
 * a real OpenSSH sshd. Only the preload is replaced (test/ui/bridge.ts builds the same
 * `window.ferry` over a page binding) and the drop's path comes from that bridge, as
 * webUtils.getPathForFile would give it.
 *
 * The tests of this file share one page and one folder and run in order. Screenshots of
 * each main screen go to test-output/screenshots/ (ignored by git).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ConnectionService } from '../../main/app-core/connection.ts';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { EVENT_NAMES } from '../../main/ipc/contract.ts';
import { createHandlers, dispatchCommand } from '../../main/ipc/handlers.ts';
import { fingerprintSha256 } from '../../main/ssh/host-key.ts';
import { buildRenderer } from '../../main/build/build.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, readTree } from '../harness/trees.ts';

/**
 * The page's globals this file touches inside page.evaluate callbacks (which run in the
 * page). Declared here because the repo's main tsconfig has no DOM library.
 */
interface PageGlobals {
  document: { body: { dispatchEvent(event: unknown): boolean }; documentElement: { lang: string } };
  DataTransfer: new () => { items: { add(file: unknown): void } };
  DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
  File: new (parts: string[], name: string) => unknown;
  __ferryDropPaths: Record<string, string>;
  __ferryEmit(name: unknown, payload: unknown): void;
  ferry: object;
  [name: string]: unknown;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = join(root, 'test-output', 'screenshots');
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SYNC_TIMEOUT = 30_000;

let sshd: TestSshd;
let tmp: string;
let local: string;
let remote: string;
let knownHosts: string;
let manager: FolderManager;
let server: Server;
let browser: Browser;
let page: Page;
const opened: string[] = [];
/** Uncaught exceptions in the page, and events the test process failed to deliver to it. */
const pageErrors: string[] = [];
let closing = false;

function serve(dir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.map': 'application/json',
  };
  const srv = createServer(async (req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path === dir + sep || path === dir ? join(dir, 'index.html') : path;
    if (!file.startsWith(dir + sep)) return void res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      resolve({ server: srv, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` });
    }),
  );
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** States axe-core checked, for the summary assertion at the end. */
const axeStates: string[] = [];

/** axe-core at WCAG 2.1 AA on the page as it is now: no violation allowed. */
async function axe(state: string): Promise<void> {
  // page.evaluate runs through the debugging protocol, so the page's CSP does not block it.
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(`axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })
    .then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`)) as string[];
  assert.deepEqual(violations, [], `axe-core violations in state "${state}"`);
  axeStates.push(state);
}

/** Checks the state with axe-core and saves its screenshot at the default size. */
async function shot(name: string): Promise<void> {
  await axe(name);
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** Screenshots at the default (980x680) and minimum (560x400) sizes, light and dark, each checked by axe. */
async function shotsAllSizes(name: string): Promise<void> {
  for (const [w, hgt] of [
    [980, 680],
    [560, 400],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: hgt });
      await page.emulateMedia({ colorScheme: scheme });
      await axe(`${name} ${w}x${hgt} ${scheme}`);
      await page.screenshot({ path: join(shots, `${name}-${w}x${hgt}-${scheme}.png`) });
    }
  }
  await page.setViewportSize({ width: 980, height: 680 });
  await page.emulateMedia({ colorScheme: 'light' });
}

const active = () =>
  page.evaluate(() => {
    const el = (
      globalThis as unknown as {
        document: {
          activeElement: {
            className: string;
            textContent: string;
            tagName: string;
            getAttribute(n: string): string | null;
          } | null;
        };
      }
    ).document.activeElement;
    return el ? `${el.tagName}[${el.getAttribute('type') ?? ''}].${el.className}|${el.textContent}` : '';
  });

/** Keyboard only: Tab (or Shift+Tab) until the focused element's description matches. */
async function tabTo(re: RegExp, back = false): Promise<void> {
  for (let i = 0; i < 60 && !re.test(await active()); i++) await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  assert.match(await active(), re);
}

/** The card of the folder the tests add through the window (a control folder comes and goes). */
const card = () => page.locator('.card', { hasText: local }).first();
const waitForState = (state: string, timeout = SYNC_TIMEOUT) =>
  page.locator(`.card[data-state="${state}"]`, { hasText: local }).waitFor({ timeout });

async function drop(name: string, path: string): Promise<void> {
  await page.evaluate(
    ({ name, path }) => {
      const w = globalThis as unknown as PageGlobals;
      w.__ferryDropPaths[name] = path;
      const dt = new w.DataTransfer();
      dt.items.add(new w.File(['x'], name));
      w.document.body.dispatchEvent(
        new w.DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }),
      );
      w.document.body.dispatchEvent(new w.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { name, path },
  );
}

async function eventually(check: () => boolean, what: string, timeoutMs = SYNC_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  const rendererDir = await buildRenderer(join(root, 'out', 'renderer'));
  const bridge = await build({
    entryPoints: [join(root, 'test', 'ui', 'bridge.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  });
  sshd = await startSshd();
  tmp = mkdtempSync(join(tmpdir(), 'ferry-ui-'));
  local = join(tmp, 'Projects');
  mkdirSync(join(local, 'docs'), { recursive: true });
  writeFileSync(join(local, 'a.txt'), 'local version 1\n');
  writeFileSync(join(local, 'docs', 'readme.md'), '# hello\n');
  writeFileSync(join(tmp, 'notes.txt'), 'a file, not a folder');
  remote = join(sshd.remoteRoot, 'projects');
  knownHosts = join(tmp, 'ssh', 'known_hosts'); // empty: the first connection must be confirmed
  const noSshConfig = join(tmp, 'no-ssh-config');
  manager = await FolderManager.open({
    store: new JsonFileSettingsStore(join(tmp, 'settings.json')),
    secrets: new MemorySecretStore(),
    stateRoot: join(tmp, 'state'),
    knownHostsPath: knownHosts,
    sshConfigPath: noSshConfig,
    pollIntervalMs: 5_000,
  });
  const handlers = createHandlers(
    manager,
    new ConnectionService({ knownHostsPath: knownHosts, sshConfigPath: noSshConfig }),
    {
      chooseFolder: async () => null,
      openPath: async (p) => void opened.push(p),
      listSshAliases: () => ['build-box', 'nas'],
    },
  );
  const served = await serve(rendererDir);
  server = served.server;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({
    viewport: { width: 980, height: 680 },
    locale: 'en-US',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`page error: ${err.stack ?? err.message}`));
  await page.exposeBinding('__ferryInvoke', (_source, name: unknown, args: unknown) =>
    dispatchCommand(handlers, name, args),
  );
  await page.addInitScript({ content: bridge.outputFiles[0]?.text ?? '' });
  for (const name of EVENT_NAMES) {
    manager.on(name as 'folderStatus', (payload: unknown) => {
      void page
        .evaluate(([n, p]) => (globalThis as unknown as PageGlobals).__ferryEmit(n, p), [name, payload] as const)
        .catch((err: Error) => {
          // Only the page's own teardown may drop an event.
          if (!closing) pageErrors.push(`delivering ${name} failed: ${err.message}`);
        });
    });
  }
  await page.goto(served.url);
  await page.locator('body[data-ready="true"]').waitFor();
});

// Every test fails on a renderer exception or an event that could not be delivered.
afterEach(() => {
  assert.deepEqual(pageErrors.splice(0), [], 'no uncaught error in the page');
});

after(async () => {
  closing = true;
  await browser?.close();
  await manager?.stopAll();
  server?.close();
  await sshd?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Ferry window in Chromium', () => {
  test('the page has no Node or Electron globals and shows the empty state', async () => {
    const globals = await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      return {
        require: typeof w.require,
        process: typeof w.process,
        ipcRenderer: typeof w.ipcRenderer,
        ferry: typeof w.ferry,
      };
    });
    assert.deepEqual(globals, {
      require: 'undefined',
      process: 'undefined',
      ipcRenderer: 'undefined',
      ferry: 'object',
    });
    const api = await page.evaluate(() => Object.keys((globalThis as unknown as PageGlobals).ferry).sort());
    assert.ok(
      api.includes('addFolder') && api.includes('on') && api.includes('getPathForFile') && !api.includes('invoke'),
      api.join(','),
    );
    await page.getByRole('heading', { name: 'No folders yet' }).waitFor();
    assert.equal(
      await page.locator('.overall').innerText(),
      'No folders yet',
      'never "Everything in sync" with no folders',
    );
    await shotsAllSizes('01-empty');
  });

  test('the CSP blocks inline scripts, inline event handlers and scripts from another origin', async () => {
    // Another origin that would serve a script (and count the requests it gets).
    let requests = 0;
    const other = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'text/javascript' }).end('window.__remoteRan = true;');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const addr = other.address();
    const remoteUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/evil.js`;
    try {
      // A string, evaluated in the page: the repo's tsconfig has no DOM types.
      const probe = await page.evaluate(`(async () => {
        const violations = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        const inline = document.createElement('script');
        inline.textContent = 'window.__inlineRan = true;';
        document.body.append(inline);
        const remote = document.createElement('script');
        const remoteOutcome = new Promise((r) => { remote.onload = () => r('loaded'); remote.onerror = () => r('blocked'); });
        remote.src = ${JSON.stringify(remoteUrl)};
        document.body.append(remote);
        const button = document.createElement('button');
        button.setAttribute('onclick', 'window.__handlerRan = true');
        document.body.append(button);
        button.click();
        const outcome = await remoteOutcome;
        await new Promise((r) => setTimeout(r, 50));
        inline.remove(); remote.remove(); button.remove();
        return { inline: window.__inlineRan === true, remote: window.__remoteRan === true, outcome, handler: window.__handlerRan === true, violations: [...new Set(violations)].sort() };
      })()`);
      const { violations, ...ran } = probe as { violations: string[] } & Record<string, unknown>;
      assert.deepEqual(ran, { inline: false, remote: false, outcome: 'blocked', handler: false });
      assert.ok(
        violations.includes('script-src-elem') && violations.includes('script-src-attr'),
        `the page saw the violations: ${JSON.stringify(violations)}`,
      );
      assert.equal(requests, 0, 'the script from the other origin was never even requested');
    } finally {
      other.close();
    }
  });

  test('dropping a file says Ferry syncs folders', async () => {
    await drop('notes.txt', join(tmp, 'notes.txt'));
    const message = page.locator('.message.error').last();
    await message.waitFor();
    assert.match(await message.innerText(), /notes\.txt is a file\. Ferry syncs folders/);
    await message.locator('button').click();
  });

  test('dropping a folder opens the add flow; the first connection shows the host key to confirm', async () => {
    await drop('Projects', local);
    const dialog = page.locator('dialog.add-dialog');
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Local folder').inputValue(), local);
    assert.deepEqual(
      await dialog
        .locator('datalist option')
        .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value)),
      ['build-box', 'nas'],
    );
    // Keyboard only from here: focus starts in the form (the host, the local path being known).
    assert.match(await active(), /^INPUT/);
    await page.keyboard.type('127.0.0.1');
    await page.keyboard.press('Tab');
    await page.keyboard.type(sshd.user);
    await tabTo(/^INPUT\[radio\]/); // the first auth radio (ssh-agent)
    await page.keyboard.press('ArrowRight'); // Key file
    await page.keyboard.press('Tab');
    await page.keyboard.type(sshd.clientKeyPath);
    await tabTo(/^INPUT\[password\]/); // passphrase: left empty
    await page.keyboard.press('Tab');
    await page.keyboard.type(remote);
    await tabTo(/^SUMMARY/);
    await page.keyboard.press('Enter'); // opens Advanced
    await page.keyboard.press('Tab');
    await page.keyboard.type(String(sshd.port));
    await tabTo(/^TEXTAREA/);
    await page.keyboard.type('*.tmp');
    assert.equal(await dialog.getByLabel('Private key file').inputValue(), sshd.clientKeyPath);
    assert.equal(await dialog.getByLabel('Port').inputValue(), String(sshd.port));
    assert.match(await dialog.locator('.advanced').innerText(), /\.ferryignore/, 'the dialog mentions .ferryignore');
    assert.ok(await dialog.locator('.add-button').isDisabled(), 'cannot add before a successful test');
    // The dialog fits the default window: title and buttons in view, the fields scroll.
    const box = await dialog.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 680, `dialog inside the window: ${JSON.stringify(box)}`);
    const footer = await dialog.locator('.dialog-buttons').boundingBox();
    assert.ok(footer && footer.y + footer.height <= 680, 'the buttons are visible');
    await tabTo(/test-button/);
    await page.keyboard.press('Enter');
    const confirm = dialog.locator('.hostkey-confirm');
    await confirm.waitFor({ timeout: SYNC_TIMEOUT });
    const expected = fingerprintSha256(
      Buffer.from(readFileSync(sshd.hostPublicKeyPath, 'utf8').split(/\s+/)[1] ?? '', 'base64'),
    );
    assert.match(
      await confirm.locator('.fingerprint').innerText(),
      new RegExp(`ssh-ed25519 ${expected.replace(/[+/]/g, '\\$&')}$`),
    );
    assert.equal(existsSync(knownHosts), false, 'nothing is pinned before the user confirms');
    assert.ok(await dialog.locator('.add-button').isDisabled());
    assert.match(await active(), /trust-button/, 'the trust button has focus');
    await shotsAllSizes('02-add-confirm-host-key');

    await page.keyboard.press('Enter');
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(await active(), /add-button\|Start syncing/, 'after trusting, focus is on Start');
    assert.match(
      await dialog.locator('.ok-text').innerText(),
      new RegExp(`Host key ${expected.replace(/[+/]/g, '\\$&')} is known`),
    );
    assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
    await shot('03-add-connected');
  });

  test('Start first shows the dry run with Start and Cancel; Start adds a card that reaches "In sync"', async () => {
    await page.keyboard.press('Enter');
    const preview = page.locator('dialog.add-dialog .preview');
    await preview.waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(await preview.innerText(), /Upload 2 file\(s\)/);
    assert.match(await active(), /add-button\|Start$/);
    await shot('03b-add-preview');
    await page.keyboard.press('Enter');
    await page.locator('dialog.add-dialog').waitFor({ state: 'detached' });
    await waitForState('in-sync');
    assert.equal(await card().locator('.state-text').innerText(), 'In sync');
    assert.match(
      await card().locator('.paths').innerText(),
      new RegExp(`${local.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
    );
    assert.match(await card().locator('.last-synced').innerText(), /^Last synced/);
    assert.match(await card().locator('.details').innerText(), /SFTP|rsync/);
    assert.match(await card().locator('.details').innerText(), /Watching for changes|Polling/);
    assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
    const [saved] = (
      JSON.parse(readFileSync(join(tmp, 'settings.json'), 'utf8')) as {
        folders: { localPath: string; authKind: string; ignore: string[] }[];
      }
    ).folders;
    assert.deepEqual(
      { localPath: saved?.localPath, authKind: saved?.authKind, ignore: saved?.ignore },
      { localPath: local, authKind: 'key', ignore: ['*.tmp'] },
    );
    await page.getByText('Everything in sync').waitFor();
    await shotsAllSizes('04-in-sync');
  });

  test('dropping the same folder again says it already syncs and opens no add flow', async () => {
    await drop('Projects', local);
    const message = page.locator('.message.error').last();
    await message.waitFor();
    assert.match(await message.innerText(), /Projects is already synced\. Remove it first/);
    assert.equal(await page.locator('dialog.add-dialog').count(), 0);
    await message.locator('button').click();
  });

  test('a file edited on the server and then locally shows up in the conflict log', async () => {
    writeFileSync(join(remote, 'a.txt'), 'edited on the server, longer than before\n');
    const past = new Date(Date.now() - 3600_000);
    utimesSync(join(remote, 'a.txt'), past, past);
    writeFileSync(join(local, 'a.txt'), 'local version 2\n');
    await card().locator('.conflicts-button', { hasText: '1 unresolved conflict' }).waitFor({ timeout: SYNC_TIMEOUT });
    await waitForState('in-sync');
    assert.equal(await page.locator('.overall').innerText(), '⚠ 1 unresolved conflict(s)', 'the header counts it');
    assert.equal(readFileSync(join(remote, 'a.txt'), 'utf8'), 'local version 2\n');
    await card().locator('.conflicts-button').click();
    const dialog = page.locator('dialog.conflicts-dialog');
    const row = dialog.locator('tr.conflict');
    await row.waitFor();
    assert.equal(await row.locator('td').nth(1).innerText(), 'a.txt');
    const what = await row.locator('td').nth(2).innerText();
    const copy = /kept as (a\.ferry-conflict-\d{8}-\d{6}\.txt)/.exec(what)?.[1];
    assert.ok(copy, what);
    assert.equal(readFileSync(join(remote, copy), 'utf8'), 'edited on the server, longer than before\n');
    await shot('05-conflict-log');
    await row.getByRole('button', { name: 'Open local file' }).click();
    await eventually(() => opened.length === 1, 'openPath');
    assert.deepEqual(opened, [join(local, 'a.txt')]);
    await row.getByRole('button', { name: 'Mark resolved' }).focus();
    await page.keyboard.press('Enter');
    await dialog.locator('tr.conflict.resolved').waitFor();
    assert.match(await active(), /\|Close$/, 'after Mark resolved, focus is on Close');
    await page.keyboard.press('Enter');
    await card().locator('.conflicts-button', { hasText: 'Conflict log' }).waitFor();
    await page.locator('.overall', { hasText: 'Everything in sync' }).waitFor();
    assert.match(await active(), /conflicts-button/, 'focus returns to the card');
  });

  test('pause holds local changes back; resume sends them', async () => {
    // A control folder to the same server, never paused: a file written there after the
    // paused folder's file reaching the server is the positive signal that the watchers and
    // the server had every chance to send the paused file. If pause did nothing, that file
    // would have arrived first (checked by breaking pause on purpose).
    const controlLocal = join(tmp, 'Control');
    const controlRemote = join(sshd.remoteRoot, 'control');
    mkdirSync(controlLocal);
    writeFileSync(join(controlLocal, 'c0.txt'), 'control\n');
    const control = await manager.add({
      host: '127.0.0.1',
      user: sshd.user,
      port: sshd.port,
      auth: { kind: 'key', keyPath: sshd.clientKeyPath },
      remotePath: controlRemote,
      localPath: controlLocal,
      mode: 'push',
      ignore: [],
    });
    try {
      await page.locator('.card[data-state="in-sync"]', { hasText: controlLocal }).waitFor({ timeout: SYNC_TIMEOUT });
      // The folder itself syncs right now: a file written before the pause arrives.
      writeFileSync(join(local, 'before-pause.txt'), 'written before the pause\n');
      await eventually(() => existsSync(join(remote, 'before-pause.txt')), 'before-pause.txt on the server');
      await waitForState('in-sync');

      await card().getByRole('button', { name: 'Pause' }).click();
      await waitForState('paused');
      assert.equal(await card().locator('.state-text').innerText(), 'Paused');
      writeFileSync(join(local, 'while-paused.txt'), 'written while paused\n');
      for (const n of [1, 2]) {
        writeFileSync(join(controlLocal, `c${n}.txt`), `control ${n}\n`);
        await eventually(() => existsSync(join(controlRemote, `c${n}.txt`)), `control file c${n}.txt on the server`);
      }
      assert.equal(existsSync(join(remote, 'while-paused.txt')), false, 'the paused folder sent nothing');
      assert.equal(await card().getAttribute('data-state'), 'paused');
      await shot('06-paused');
    } finally {
      await manager.remove(control.id);
    }
    await page.locator('.card', { hasText: controlLocal }).waitFor({ state: 'detached' });
    await card().getByRole('button', { name: 'Resume' }).click();
    await eventually(() => existsSync(join(remote, 'while-paused.txt')), 'while-paused.txt on the server');
    await waitForState('in-sync');
    // The conflict copy of the previous test lives on the server only, by design.
    assert.deepEqual(diffTrees(readTree(local), readTree(remote, { skip: (n) => n.includes('.ferry-conflict-') })), []);
  });

  test('when the server stops the card shows the error; when it is back the folder recovers', async () => {
    await sshd.stop();
    await waitForState('error');
    const problem = card().locator('.problem');
    await problem.waitFor();
    assert.match(await problem.innerText(), /Cannot sync right now/);
    assert.match(await problem.locator('.error-text').innerText(), /127\.0\.0\.1/);
    await page.locator('.overall[data-state="error"]').waitFor();
    await shotsAllSizes('07-error');
    await problem.getByRole('button', { name: 'Retry now' }).focus();
    await sshd.start();
    writeFileSync(join(local, 'after-outage.txt'), 'written after the outage\n');
    await waitForState('in-sync', 60_000);
    await eventually(() => existsSync(join(remote, 'after-outage.txt')), 'after-outage.txt on the server');
    assert.equal(await card().locator('.problem').isVisible(), false);
    assert.match(await active(), /pause-button/, 'Retry now had focus: it moves to the card, not the page');
    await shot('08-recovered');
  });

  test('a mass delete halts the folder; "Cancel the deletes" keeps the files on the server and the folder syncs on', async () => {
    mkdirSync(join(local, 'many'));
    for (let i = 0; i < 150; i++) writeFileSync(join(local, 'many', `f${i}.txt`), `${i}\n`);
    await eventually(() => existsSync(join(remote, 'many', 'f149.txt')), 'many/ on the server');
    await waitForState('in-sync');
    // The activity chart counted those uploads (shorter than a second or not).
    await page.locator('.chart-label', { hasText: /peak [1-9][\d.]* (B|KiB)\/s/ }).waitFor({ timeout: 5_000 });
    const area = (await page.locator('.chart polygon').getAttribute('points')) ?? '';
    assert.ok(
      area.split(' ').some((p) => Number(p.split(',')[1]) < 30),
      `the chart shows the burst: ${area}`,
    );
    for (let i = 0; i < 120; i++) rmSync(join(local, 'many', `f${i}.txt`));
    await waitForState('halted');
    const problem = card().locator('.problem');
    assert.match(await problem.innerText(), /would delete 120 of \d+ file\(s\) on the server/);
    assert.doesNotMatch(await problem.innerText(), /--|command line/, 'no command-line text in the window');
    assert.equal(await problem.locator('.halt-paths li').count(), 50, 'the first 50 paths are listed');
    assert.match(await problem.locator('.halt-paths li').first().innerText(), /^many\/f\d+\.txt$/);
    assert.match(await problem.innerText(), /…and 70 more/);
    const buttons = problem.locator('.actions button');
    assert.deepEqual(
      await buttons.evaluateAll((bs) => bs.map((b) => (b as unknown as { className: string }).className)),
      ['primary cancel-deletes', 'danger confirm-deletes'],
    );
    assert.equal(readdirSync(join(remote, 'many')).length, 150, 'nothing deleted while halted');
    await shotsAllSizes('09-halted-mass-delete');
    // At the minimum size every button of the halted card can be reached on screen.
    await page.setViewportSize({ width: 560, height: 400 });
    for (const b of await card().locator('button:visible').all()) {
      await b.scrollIntoViewIfNeeded();
      const r = await b.boundingBox();
      assert.ok(
        r && r.x >= 0 && r.x + r.width <= 560 && r.y >= 0 && r.y + r.height <= 400,
        `${await b.innerText()} on screen`,
      );
    }
    await page.setViewportSize({ width: 980, height: 680 });
    await problem.getByRole('button', { name: 'Cancel the deletes: keep the files on the server' }).focus();
    await page.keyboard.press('Enter');
    await waitForState('in-sync');
    assert.match(await active(), /pause-button/, 'after "Cancel the deletes" focus stays in the card');
    assert.equal(readdirSync(join(remote, 'many')).length, 150, 'the server keeps the files');
    // The folder keeps syncing, and the kept files are not deleted by a later pass.
    writeFileSync(join(local, 'many', 'f149.txt'), 'edited after the cancel\n');
    await eventually(
      () => readFileSync(join(remote, 'many', 'f149.txt'), 'utf8') === 'edited after the cancel\n',
      'the edit after the cancel',
    );
    await waitForState('in-sync');
    assert.equal(readdirSync(join(remote, 'many')).length, 150);
  });

  test('keyboard only: Tab reaches the card, Enter pauses and resumes, Escape closes the conflict log', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const focused = () =>
      page.evaluate(() => {
        const el = (
          globalThis as unknown as { document: { activeElement: { className: string; textContent: string } | null } }
        ).document.activeElement;
        return el ? `${el.className}|${el.textContent}` : '';
      });
    let presses = 0;
    while (!(await focused()).startsWith('pause-button') && presses++ < 30) await page.keyboard.press('Tab');
    assert.match(await focused(), /^pause-button\|Pause$/, 'Tab reaches the Pause button');
    await page.keyboard.press('Enter');
    await waitForState('paused');
    assert.match(await focused(), /^pause-button\|Resume$/, 'focus stays on the button while the card updates');
    await page.keyboard.press('Enter');
    await waitForState('in-sync');
    while (!(await focused()).startsWith('conflicts-button') && presses++ < 60) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog.conflicts-dialog');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  test('the window switches to Simplified Chinese from the settings', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Language').focus();
    await page.keyboard.press('ArrowDown'); // English: applied at once, Settings stays open
    await page.locator('dialog.settings-dialog').waitFor();
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('button', { name: '添加文件夹' }).waitFor();
    assert.equal(await page.locator('dialog.settings-dialog[open]').count(), 1, 'Settings stays open');
    assert.match(await active(), /^SELECT/, 'focus stays on the language select');
    await page.locator('dialog.settings-dialog').getByRole('button', { name: '关闭' }).click();
    assert.equal(await card().locator('.state-text').innerText(), '已同步');
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.lang),
      'zh-CN',
    );
    await shotsAllSizes('10-zh-CN');
    assert.deepEqual(manager.getSettings().language, 'zh-CN');
  });

  test('back in English; editing a folder: pre-filled form, a new ignore pattern saved, the folder restarts', async () => {
    await page.getByRole('button', { name: '设置' }).click();
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('button', { name: 'Add folder' }).waitFor();
    await page.keyboard.press('Escape');
    await card().getByRole('button', { name: 'Edit…' }).click();
    const dialog = page.locator('dialog.add-dialog');
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Server (host or ssh alias)').inputValue(), '127.0.0.1');
    assert.equal(await dialog.getByLabel('Private key file').inputValue(), sshd.clientKeyPath);
    assert.equal(await dialog.getByLabel('Port').inputValue(), String(sshd.port));
    assert.match(await dialog.getByLabel(/Ignore patterns/).inputValue(), /^\*\.tmp$/);
    assert.ok(await dialog.locator('.add-button').isEnabled(), 'same connection: no new test needed');
    await shot('11-edit');
    await dialog.getByLabel(/Ignore patterns/).fill('*.tmp\n*.log');
    await dialog.getByRole('button', { name: 'Save and restart' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitForState('in-sync');
    const [saved] = (
      JSON.parse(readFileSync(join(tmp, 'settings.json'), 'utf8')) as { folders: { ignore: string[] }[] }
    ).folders;
    assert.deepEqual(saved?.ignore, ['*.tmp', '*.log']);
    writeFileSync(join(local, 'debug.log'), 'ignored\n');
    writeFileSync(join(local, 'after-edit.txt'), 'synced\n');
    await eventually(() => existsSync(join(remote, 'after-edit.txt')), 'after-edit.txt on the server');
    assert.equal(existsSync(join(remote, 'debug.log')), false, 'the new pattern applies');
    await card().locator('.why summary').click();
    await card().getByLabel('File in this folder').fill('debug.log');
    await card().getByRole('button', { name: 'Explain' }).click();
    await card()
      .locator('.why-answer', { hasText: /ignored by the rule "\*\.log"/ })
      .waitFor();
  });

  test('Escape on a half-filled add form asks first; Remove asks in the window', async () => {
    await page.getByRole('button', { name: 'Add folder' }).click();
    const dialog = page.locator('dialog.add-dialog');
    await dialog.getByLabel('Local folder').fill('/tmp/half');
    await page.keyboard.press('Escape');
    const ask = page.locator('dialog.confirm-dialog');
    await ask.waitFor();
    assert.match(await active(), /confirm-cancel\|Keep editing/, 'the safe choice has focus');
    await shot('12-discard-confirm');
    await page.keyboard.press('Enter');
    await ask.waitFor({ state: 'detached' });
    assert.equal(await dialog.getByLabel('Local folder').inputValue(), '/tmp/half', 'still there');
    await page.keyboard.press('Escape');
    await ask.getByRole('button', { name: 'Discard' }).click();
    await dialog.waitFor({ state: 'detached' });

    await card().getByRole('button', { name: 'Remove' }).click();
    await ask.waitFor();
    assert.match(await active(), /confirm-cancel\|Cancel/);
    await page.keyboard.press('Escape');
    await ask.waitFor({ state: 'detached' });
    assert.equal(await card().count(), 1, 'Escape keeps the folder');
  });

  test('failed items say "1 file not synced"; a row is copied and ignored; toasts leave focus alone', async () => {
    const entry = manager.list()[0];
    assert.ok(entry);
    const next = new Date(Date.now() + 60_000).toISOString();
    const failing = {
      ...entry.status,
      state: 'idle',
      inSync: false,
      failedItems: [{ path: 'locked.bin', error: 'Permission denied', attempts: 2, nextRetryAt: next }],
    };
    // A status as the engine sends it for a file the server refuses (the real folder's id).
    await page.evaluate(([p]) => (globalThis as unknown as PageGlobals).__ferryEmit('folderStatus', p), [failing]);
    assert.equal(await card().locator('.state-text').innerText(), '1 file not synced');
    await card().locator('.failed summary').click();
    await shot('13-failed-items');
    const row = card().locator('.failed-item');
    await row.getByRole('button', { name: 'Copy error: locked.bin' }).click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'locked.bin: Permission denied');
    assert.match(await active(), /copy-item/, 'the toast did not take focus');
    await page.locator('.message', { hasText: 'Copied' }).getByRole('button').click();
    assert.doesNotMatch(await active(), /^BODY|^$/, 'closing a toast leaves focus somewhere');
    await row.getByRole('button', { name: 'Ignore: locked.bin' }).click();
    await eventually(() => manager.list()[0]?.ignore.includes('/locked.bin') === true, 'the pattern saved');
    await waitForState('in-sync');
  });

  test('layout: cards keep a readable width, the activity panel scrolls by itself', async () => {
    await page.setViewportSize({ width: 1600, height: 900 });
    const w = (await card().boundingBox())?.width ?? 0;
    assert.ok(w > 0 && w <= 880, `card width ${w}`);
    const doc = (await page.evaluate('[document.documentElement.scrollHeight, innerHeight]')) as number[];
    assert.ok((doc[0] ?? 0) <= (doc[1] ?? 0), `the page itself does not scroll: ${doc.join(' > ')}`);
    assert.equal(await page.evaluate("getComputedStyle(document.querySelector('.activity-scroll')).overflowY"), 'auto');
    assert.match(await page.locator('.activity-list li').first().innerText(), /\d\d:\d\d:\d\d( [AP]M)? Projects · /);
    assert.deepEqual(await page.locator('.axis-x span').allInnerTexts(), ['60 s ago', 'now']);
    await page.setViewportSize({ width: 980, height: 680 });
    assert.ok(axeStates.length >= 20, `axe-core ran in ${axeStates.length} states`);
  });
});
