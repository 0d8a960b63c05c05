/**
 * A smaller stand for new Chromium test files: the built renderer served locally, the real
 * IPC handlers (every call recorded in `calls`) over the test bridge, the real engine and a
 * real sshd whose host key is already trusted. The app-*.test.ts files have their own stand
 * (app-harness.ts: it checks the first connection's host-key confirmation, so it can start with
 * an empty known_hosts), which reuses the helpers below.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ConnectionService } from '../../main/app-core/connection.ts';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { buildRenderer } from '../../main/build/build.ts';
import { EVENT_NAMES } from '../../main/ipc/contract.ts';
import { createHandlers, dispatchCommand } from '../../main/ipc/handlers.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shots = join(root, 'test-output', 'screenshots');
export const SYNC_TIMEOUT = 30_000;

export interface UiStand {
  sshd: TestSshd;
  tmp: string;
  manager: FolderManager;
  page: Page;
  /** Every IPC command the page sent, in order: `[name, args]`. */
  calls: [string, unknown[]][];
  /** Uncaught page exceptions and undeliverable events; tests assert it stays empty. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Serves the built renderer in `dir` on a free port of 127.0.0.1. */
export function serve(dir: string): Promise<{ server: Server; url: string }> {
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

export async function startStand(): Promise<UiStand> {
  mkdirSync(shots, { recursive: true });
  const bridge = await build({
    entryPoints: [join(root, 'test', 'ui', 'bridge.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  });
  const sshd = await startSshd();
  const tmp = mkdtempSync(join(tmpdir(), 'ferry-ui-features-'));
  // Its own build directory: another file's stand may be building at the same time.
  const rendererDir = await buildRenderer(join(tmp, 'renderer'));
  const noSshConfig = join(tmp, 'no-ssh-config');
  const manager = await FolderManager.open({
    store: new JsonFileSettingsStore(join(tmp, 'settings.json')),
    secrets: new MemorySecretStore(),
    stateRoot: join(tmp, 'state'),
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: noSshConfig,
    pollIntervalMs: 5_000,
  });
  const handlers = createHandlers(
    manager,
    new ConnectionService({
      knownHostsPath: sshd.knownHostsPath,
      sshConfigPath: noSshConfig,
      answerPrompts: manager.prompts.answerer(),
    }),
    { chooseFolder: async () => null, openPath: async () => undefined, listSshAliases: () => [] },
  );
  const served = await serve(rendererDir);
  const browser: Browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = await (await browser.newContext({ viewport: { width: 980, height: 680 }, locale: 'en-US' })).newPage();
  const pageErrors: string[] = [];
  const calls: [string, unknown[]][] = [];
  let closing = false;
  page.on('pageerror', (err) => pageErrors.push(`page error: ${err.stack ?? err.message}`));
  await page.exposeBinding('__ferryInvoke', (_source, name: unknown, args: unknown) => {
    calls.push([String(name), Array.isArray(args) ? args : []]);
    return dispatchCommand(handlers, name, args);
  });
  await page.addInitScript({ content: bridge.outputFiles[0]?.text ?? '' });
  for (const name of EVENT_NAMES) {
    manager.on(name as 'folderStatus', (payload: unknown) => {
      void page
        .evaluate(
          ([n, p]) => (globalThis as unknown as { __ferryEmit(n: unknown, p: unknown): void }).__ferryEmit(n, p),
          [name, payload] as const,
        )
        .catch((err: Error) => {
          if (!closing) pageErrors.push(`delivering ${name} failed: ${err.message}`);
        });
    });
  }
  await page.goto(served.url);
  await page.locator('body[data-ready="true"]').waitFor();
  return {
    sshd,
    tmp,
    manager,
    page,
    calls,
    pageErrors,
    close: async () => {
      closing = true;
      await browser.close();
      await manager.stopAll();
      served.server.close();
      await sshd.dispose();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core at WCAG 2.1 AA on the page as it is now: no violation allowed. */
export async function checkAxe(page: Page, state: string): Promise<void> {
  // page.evaluate runs through the debugging protocol, so the page's CSP does not block it.
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(`axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })
    .then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`)) as string[];
  assert.deepEqual(violations, [], `axe-core violations in state "${state}"`);
}

/** axe-core at WCAG 2.1 AA on the page as it is now (no violation allowed), then a screenshot. */
export async function checkAndShoot(page: Page, name: string): Promise<void> {
  await checkAxe(page, name);
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

export async function eventually(check: () => boolean, what: string, timeoutMs = SYNC_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
