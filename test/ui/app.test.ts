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

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
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
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, locale: 'en-US' });
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
    await shot('01-empty');
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
    await dialog.getByLabel('Server (host or ssh alias)').fill('127.0.0.1');
    await dialog.getByLabel('User', { exact: true }).fill(sshd.user);
    await dialog.getByLabel('Port').fill(String(sshd.port));
    await dialog.getByLabel('Key file', { exact: true }).check();
    await dialog.getByLabel('Private key file').fill(sshd.clientKeyPath);
    await dialog.getByLabel('Folder on the server').fill(remote);
    await dialog.getByLabel('Ignore patterns').fill('*.tmp');
    assert.ok(await dialog.locator('.add-button').isDisabled(), 'cannot add before a successful test');
    await dialog.getByRole('button', { name: 'Test connection' }).click();
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
    await shot('02-add-confirm-host-key');

    await confirm.getByRole('button', { name: /trust this server/ }).click();
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(
      await dialog.locator('.ok-text').innerText(),
      new RegExp(`Host key ${expected.replace(/[+/]/g, '\\$&')} is known`),
    );
    assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
    await shot('03-add-connected');
  });

  test('starting the sync adds a card that reaches "In sync" with the server holding the folder', async () => {
    await page.locator('dialog.add-dialog .add-button').click();
    await page.locator('dialog.add-dialog').waitFor({ state: 'detached' });
    await waitForState('in-sync');
    assert.equal(await card().locator('.state-text').innerText(), 'In sync');
    assert.match(
      await card().locator('.paths').innerText(),
      new RegExp(`${local.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
    );
    assert.match(await card().locator('.last-synced').innerText(), /^Last synced/);
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
    await shot('04-in-sync');
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
    await card().locator('.conflicts-button', { hasText: '1 conflict(s)' }).waitFor({ timeout: SYNC_TIMEOUT });
    await waitForState('in-sync');
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
    await row.getByRole('button', { name: 'Mark resolved' }).click();
    await dialog.locator('tr.conflict.resolved').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
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
    await shot('07-error');
    await sshd.start();
    writeFileSync(join(local, 'after-outage.txt'), 'written after the outage\n');
    await waitForState('in-sync', 60_000);
    await eventually(() => existsSync(join(remote, 'after-outage.txt')), 'after-outage.txt on the server');
    assert.equal(await card().locator('.problem').isVisible(), false);
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
    assert.equal(readdirSync(join(remote, 'many')).length, 150, 'nothing deleted while halted');
    await shot('09-halted-mass-delete');
    await problem.getByRole('button', { name: 'Cancel the deletes: keep the files on the server' }).click();
    await waitForState('in-sync');
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
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('button', { name: '添加文件夹' }).waitFor();
    assert.equal(await card().locator('.state-text').innerText(), '已同步');
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.lang),
      'zh-CN',
    );
    await shot('10-zh-CN');
    assert.deepEqual(manager.getSettings().language, 'zh-CN');
  });
});
