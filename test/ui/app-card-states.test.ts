/**
 * A synced folder's card through what happens to it, in a real Chromium (the stand:
 * test/ui/app-harness.ts): a conflict and its log, pause and resume, the server going away
 * and coming back, a mass delete halted and cancelled, and the card driven by keyboard only.
 *
 * The folder is added as the window's add flow adds it (app-window.test.ts tests that flow),
 * the host key already trusted. The tests of this file share one page and one folder and run
 * in order. Screenshots of each main screen go to test-output/screenshots/ (ignored by git).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffTrees, readTree } from '../harness/trees.ts';
import {
  active,
  card,
  eventually,
  local,
  manager,
  opened,
  page,
  remote,
  shot,
  shotsAllSizes,
  sshd,
  SYNC_TIMEOUT,
  tmp,
  useAppStand,
  waitForState,
} from './app-harness.ts';

useAppStand({ knownHosts: 'trusted' });

describe('Ferry window in Chromium', () => {
  // The request the add dialog of app-window.test.ts sends; the folder is in sync before the
  // tests. In the describe block: it must run after the stand's own (top-level) before hook.
  before(async () => {
    await manager.add({
      host: '127.0.0.1',
      user: sshd.user,
      port: sshd.port,
      auth: { kind: 'key', keyPath: sshd.clientKeyPath },
      remotePath: remote,
      localPath: local,
      mode: 'push',
      ignore: ['*.tmp'],
    });
    await waitForState('in-sync');
    assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
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
    // A halted folder rescans on each later local change (lane-loop.ts), so the 120 deletes
    // may halt it more than once, scanning in between: wait for the halt that saw them all.
    await problem.filter({ hasText: /would delete 120 of/ }).waitFor();
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
});
