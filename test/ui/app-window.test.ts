/**
 * The Ferry window in a real Chromium (the stand: test/ui/app-harness.ts), from the first run
 * on: no Node in the page and a CSP that holds, the empty state, a drop of a file and of a
 * folder, the add flow with the first connection's host-key confirmation and the dry run, and
 * then, on the folder it added: the language setting, editing the folder, the confirmations
 * of a half-filled form and of Remove, failed items, and the layout at a large size.
 *
 * The tests of this file share one page and one folder and run in order. Screenshots of
 * each main screen go to test-output/screenshots/ (ignored by git).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintSha256 } from '../../main/ssh/host-key.ts';
import { diffTrees, readTree } from '../harness/trees.ts';
import {
  active,
  axeStates,
  card,
  drop,
  eventually,
  knownHosts,
  local,
  manager,
  page,
  type PageGlobals,
  remote,
  shot,
  shotsAllSizes,
  sshd,
  SYNC_TIMEOUT,
  tabTo,
  tmp,
  useAppStand,
  waitForState,
} from './app-harness.ts';

// An empty known_hosts: the first connection must be confirmed.
useAppStand({ knownHosts: 'empty' });

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
