/**
 * The stand of the app-*.test.ts files: the built renderer in a real Chromium, against the real
 * IPC handlers, the real engine and a real OpenSSH sshd. Only the preload is replaced
 * (test/ui/bridge.ts builds the same `window.ferry` over a page binding) and the drop's path
 * comes from that bridge, as webUtils.getPathForFile would give it.
 *
 * A test file calls `useAppStand()` once, at its top level: that registers the hooks which
 * start the stand, fail every test on a page exception or an undeliverable event, and tear it
 * down. The file's tests then share one page and one folder (`local`, synced to `remote`) and
 * run in order. node --test runs each file in its own process, so the bindings exported here
 * (`page`, `manager`, …) are that file's own. Screenshots of each main screen go to
 * test-output/screenshots/ (ignored by git).
 */
import { after, afterEach, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ConnectionService } from '../../main/app-core/connection.ts';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { EVENT_NAMES } from '../../main/ipc/contract.ts';
import { createHandlers, dispatchCommand } from '../../main/ipc/handlers.ts';
import { buildRenderer } from '../../main/build/build.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { checkAxe, root, serve, shots, SYNC_TIMEOUT } from './harness.ts';

export { eventually, SYNC_TIMEOUT } from './harness.ts';

/**
 * The page's globals the tests touch inside page.evaluate callbacks (which run in the
 * page). Declared here because the repo's main tsconfig has no DOM library.
 */
export interface PageGlobals {
  document: { body: { dispatchEvent(event: unknown): boolean }; documentElement: { lang: string } };
  DataTransfer: new () => { items: { add(file: unknown): void } };
  DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
  File: new (parts: string[], name: string) => unknown;
  __ferryDropPaths: Record<string, string>;
  __ferryEmit(name: unknown, payload: unknown): void;
  ferry: object;
  [name: string]: unknown;
}

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

export let sshd: TestSshd;
export let tmp: string;
/** The folder the tests sync (tmp/Projects: a.txt and docs/readme.md), and where it goes. */
export let local: string;
export let remote: string;
export let knownHosts: string;
export let manager: FolderManager;
export let page: Page;
/** The paths the window asked the desktop to open. */
export const opened: string[] = [];
/** States axe-core checked, for the summary assertion of a file. */
export const axeStates: string[] = [];
let server: Server;
let browser: Browser;
/** Uncaught exceptions in the page, and events the test process failed to deliver to it. */
const pageErrors: string[] = [];
let closing = false;

export interface AppStandOptions {
  /**
   * 'empty' (a first connection: the window must ask to trust the host key) or 'trusted' (the
   * host key pinned as the window's Trust leaves it).
   */
  knownHosts: 'empty' | 'trusted';
}

/**
 * Registers the hooks that start the stand before the file's tests and stop it after them.
 * A file's own set-up on top of the stand goes in a `before` of its describe block: a second
 * top-level `before` would start at once, beside this one (node:test runs a hook registered
 * on the already started root right away), and find nothing set up.
 */
export function useAppStand(options: AppStandOptions): void {
  before(async () => {
    mkdirSync(shots, { recursive: true });
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
    // Its own build directory: another file's stand may be building at the same time.
    const rendererDir = await buildRenderer(join(tmp, 'renderer'));
    local = join(tmp, 'Projects');
    mkdirSync(join(local, 'docs'), { recursive: true });
    writeFileSync(join(local, 'a.txt'), 'local version 1\n');
    writeFileSync(join(local, 'docs', 'readme.md'), '# hello\n');
    writeFileSync(join(tmp, 'notes.txt'), 'a file, not a folder');
    remote = join(sshd.remoteRoot, 'projects');
    knownHosts = join(tmp, 'ssh', 'known_hosts');
    if (options.knownHosts === 'trusted') {
      mkdirSync(dirname(knownHosts), { recursive: true });
      copyFileSync(sshd.knownHostsPath, knownHosts);
    }
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
}

/** axe-core at WCAG 2.1 AA on the page as it is now: no violation allowed. */
async function axe(state: string): Promise<void> {
  await checkAxe(page, state);
  axeStates.push(state);
}

/** Checks the state with axe-core and saves its screenshot at the default size. */
export async function shot(name: string): Promise<void> {
  await axe(name);
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** Screenshots at the default (980x680) and minimum (560x400) sizes, light and dark, each checked by axe. */
export async function shotsAllSizes(name: string): Promise<void> {
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

/** The focused element as `TAG[type].class|text`, or '' when nothing has focus. */
export const active = () =>
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
export async function tabTo(re: RegExp, back = false): Promise<void> {
  for (let i = 0; i < 60 && !re.test(await active()); i++) await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  assert.match(await active(), re);
}

/** The card of the folder the tests sync (a control folder comes and goes). */
export const card = () => page.locator('.card', { hasText: local }).first();
export const waitForState = (state: string, timeout = SYNC_TIMEOUT) =>
  page.locator(`.card[data-state="${state}"]`, { hasText: local }).waitFor({ timeout });

/** Drops `path` on the window as a file named `name`. */
export async function drop(name: string, path: string): Promise<void> {
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
