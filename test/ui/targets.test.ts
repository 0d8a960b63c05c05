/**
 * A folder's servers managed from its card, in a real Chromium against the real IPC
 * handlers, engine and two real sshd servers (test/ui/harness.ts): commands after sync on
 * the server and the canary option set in the add, Add server and edit dialogs, and a
 * server's commands set later from its row or a held rollout's panel; each
 * command's run in the activity list (a failed one marked, its output in a fold); the
 * card's file count and size; one server paused on its own; one server removed.
 * The tests share one folder and run in order. Every state is checked by axe-core;
 * screenshots at 980x680.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderId, folderStateDir } from '../../main/engine/folder-state-dir.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { checkAndShoot, eventually, startStand, SYNC_TIMEOUT, type UiStand } from './harness.ts';

let s: UiStand;
let sshd2: TestSshd;
let local: string;
let remote1: string;
let remote2: string;
let hooks1: string;
let hooks2: string;

const card = () => s.page.locator('.card', { hasText: local }).first();
const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
const row = (sshd: TestSshd) => card().locator('.target-row', { hasText: `127.0.0.1:${sshd.port}` });
const entry = () => {
  const e = s.manager.list()[0];
  assert.ok(e, 'the folder is listed');
  return e;
};
const settingsFolder = () =>
  (
    JSON.parse(readFileSync(join(s.tmp, 'settings.json'), 'utf8')) as {
      folders: {
        remoteAfterSync?: string;
        canary?: boolean;
        moreTargets?: { remoteAfterSync?: string }[];
        pausedTargets?: string[];
      }[];
    }
  ).folders[0];

/** Regular files below `dir` and their total size: what the card must show. */
function totals(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = statSync(join(dir, name));
    if (st.isFile()) (files++, (bytes += st.size));
  }
  return { files, bytes };
}

before(async () => {
  s = await startStand();
  sshd2 = await startSshd();
  // The second server's host key is trusted already (its confirmation is server-features.test.ts's).
  appendFileSync(s.sshd.knownHostsPath, readFileSync(sshd2.knownHostsPath));
  local = join(s.tmp, 'Multi');
  mkdirSync(join(local, 'sub'), { recursive: true });
  writeFileSync(join(local, 'a.txt'), 'alpha\n');
  writeFileSync(join(local, 'sub', 'b.txt'), 'beta beta\n');
  for (const [sshd, name] of [
    [s.sshd, 'one'],
    [sshd2, 'two'],
  ] as const) {
    mkdirSync(join(sshd.remoteRoot, `multi-${name}`), { recursive: true });
    mkdirSync(join(sshd.remoteRoot, 'hooks'), { recursive: true });
    sshd.own(sshd.remoteRoot);
  }
  remote1 = join(s.sshd.remoteRoot, 'multi-one');
  remote2 = join(sshd2.remoteRoot, 'multi-two');
  hooks1 = join(s.sshd.remoteRoot, 'hooks');
  hooks2 = join(sshd2.remoteRoot, 'hooks');
});

afterEach(() => {
  assert.deepEqual(s.pageErrors.splice(0), [], 'no uncaught error in the page');
});

after(async () => {
  await sshd2?.dispose();
  await s?.close();
});

describe("a folder's servers in Chromium", () => {
  test('the add dialog sets a command on the server and canary; the card counts files; the run is listed', async () => {
    const { page, sshd } = s;
    await page.locator('button.add-folder').first().click();
    const dialog = page.locator('dialog.add-dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Local folder').fill(local);
    await dialog.getByLabel('Server (host or ssh alias)').fill('127.0.0.1');
    await dialog.getByLabel('User').fill(sshd.user);
    await dialog.getByRole('radio', { name: 'Key file' }).check();
    await dialog.getByLabel('Private key file').fill(sshd.clientKeyPath);
    await dialog.getByLabel('Folder on the server').fill(remote1);
    await dialog.locator('details.advanced summary').click();
    await dialog.getByLabel('Port').fill(String(sshd.port));
    await dialog
      .getByLabel('Command on the server after sync')
      .fill(`echo deployed one; echo "$FERRY_CHANGED" >> ${hooks1}/one.log`);
    await dialog.getByLabel('Canary rollout', { exact: false }).check();
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-button').scrollIntoViewIfNeeded();
    await checkAndShoot(page, '40-add-remote-command-canary');
    await dialog.locator('.add-button').click();
    await dialog.locator('.preview').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-button').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(read(join(remote1, 'sub', 'b.txt')), 'beta beta\n');
    // Saved and run by the engine: the command ran on the server, given the two changed paths.
    assert.equal(entry().canary, true);
    assert.equal(settingsFolder()?.canary, true);
    assert.match(settingsFolder()?.remoteAfterSync ?? '', /^echo deployed one;/);
    await eventually(() => /^[1-9]\d*\n$/.test(read(join(hooks1, 'one.log')) ?? ''), 'the command on the server');
    const run = page.locator('.activity-list li.hook-run', { hasText: 'deployed one' }).first();
    await run.waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(
      await run.innerText(),
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d(?: [AP]M)? Multi · 127\\.0\\.0\\.1:${sshd.port} · on the server ran “echo deployed one;.*” — exit status 0 \\(\\d+\\.\\d s\\)`,
      ),
    );
    assert.equal(await run.getAttribute('class'), 'hook-run ok');
    // The card's count and size, from the local side's scan (2 files, 6 + 10 bytes).
    const count = card().locator('.card-totals');
    assert.equal(await count.innerText(), '2 files · 16 B');
    assert.equal(entry().status.localFiles, 2);
    assert.equal(entry().status.localBytes, 16);
    writeFileSync(join(local, 'sub', 'c.txt'), 'x'.repeat(2000));
    await eventually(() => read(join(remote1, 'sub', 'c.txt'))?.length === 2000, 'c.txt on the server');
    await count.filter({ hasText: '3 files · 2.0 KiB' }).waitFor({ timeout: SYNC_TIMEOUT });
    // One server: a transfer row names no server. The list's heading covers command runs too.
    const upload = page.locator('.activity-list li.ok', { hasText: 'sub/c.txt' }).first();
    await upload.waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(await upload.innerText(), /^\S+(?: [AP]M)? Multi · Uploaded sub\/c\.txt$/);
    assert.equal(await page.locator('.activity .recent-title').innerText(), 'Recent activity');
    await checkAndShoot(page, '41-card-totals-hook-run');
  });

  test('Add server with its own command; with canary, a failing first server holds the second', async () => {
    const { page } = s;
    await card().getByRole('button', { name: 'Add server' }).click();
    const dialog = page.locator('dialog.add-target-dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Server (host or ssh alias)').fill('127.0.0.1');
    await dialog.getByLabel('User').fill(sshd2.user);
    await dialog.getByLabel('Port').fill(String(sshd2.port));
    await dialog.getByLabel('Private key file').fill(sshd2.clientKeyPath);
    await dialog.getByLabel('Folder on the server').fill(remote2);
    await dialog
      .getByLabel('Command on the server after sync')
      .fill(`echo deployed two; echo "$FERRY_CHANGED" >> ${hooks2}/two.log`);
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    await checkAndShoot(page, '42-add-server-command');
    const sent: { target?: string; path: string }[] = [];
    s.manager.on('fileActivity', (a) => sent.push({ ...(a.target ? { target: a.target } : {}), path: a.outcome.path }));
    await dialog.locator('.add-target-button').click();
    await dialog.waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    await eventually(() => /^[1-9]\d*\n$/.test(read(join(hooks2, 'two.log')) ?? ''), "the second server's own command");
    assert.equal(read(join(remote2, 'a.txt')), 'alpha\n');
    assert.match(settingsFolder()?.moreTargets?.[0]?.remoteAfterSync ?? '', /^echo deployed two;/);
    await row(sshd2).and(page.locator('[data-state="in-sync"]')).waitFor({ timeout: SYNC_TIMEOUT });
    // Two servers: each transfer row (and the event behind it) names the server it went to.
    const name2 = (await row(sshd2).getAttribute('data-remote')) ?? '';
    await page
      .locator('.activity-list li.ok', { hasText: `Multi · 127.0.0.1:${sshd2.port} · Uploaded a.txt` })
      .waitFor({ timeout: SYNC_TIMEOUT });
    assert.ok(
      sent.some((a) => a.target === name2 && a.path === 'a.txt'),
      JSON.stringify(sent),
    );

    // The first server's command now fails: with canary on, the second server waits.
    await card().getByRole('button', { name: 'Edit…' }).click();
    const edit = page.locator('dialog.add-dialog');
    await edit.waitFor();
    assert.ok(await edit.getByLabel('Canary rollout', { exact: false }).isChecked(), 'the edit shows canary on');
    await edit.getByLabel('Command on the server after sync').fill('echo broken deploy >&2; exit 4');
    await edit.locator('.add-button').click();
    await edit.waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    await card().locator('.target-row[data-state="in-sync"]').nth(1).waitFor({ timeout: SYNC_TIMEOUT });
    writeFileSync(join(local, 'd.txt'), 'held back from two\n');
    await eventually(() => read(join(remote1, 'd.txt')) === 'held back from two\n', 'd.txt on the canary');
    await row(sshd2).and(page.locator('[data-state="held"]')).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(read(join(remote2, 'd.txt')), undefined, 'the follower waits for the canary');
    // The card says who waits for whom and why, with the command's output; so does the header.
    const [one, two] = [`127.0.0.1:${s.sshd.port}`, `127.0.0.1:${sshd2.port}`];
    const problem = card().locator('.problem');
    assert.equal(
      await problem.locator('.held-text').innerText(),
      `Held: waiting for ${one}’s commands to pass — last run failed: exit status 4`,
    );
    assert.equal(await problem.locator('pre').innerText(), 'broken deploy');
    assert.equal(await problem.locator('.held-who').innerText(), `${two} get the change once ${one} passes.`);
    assert.equal(await card().getAttribute('data-state'), 'held');
    assert.equal(await card().locator('.state-text').innerText(), 'Held');
    assert.equal(await page.locator('.overall').innerText(), '■ Held back: a canary check failed');
    assert.equal(entry().status.targets?.[1]?.held?.failed, true, 'the engine says the canary failed');
    assert.equal(entry().status.targets?.[0]?.hookFailed?.exitCode, 4);
    const failed = page.locator('.activity-list li.hook-run.failed').first();
    await failed.waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(
      await failed.innerText(),
      new RegExp(
        `Multi · 127\\.0\\.0\\.1:${s.sshd.port} · on the server ran “echo broken deploy >&2; exit 4” — Failed: exit status 4 \\(\\d+\\.\\d s\\)`,
      ),
    );
    await failed.locator('summary').click();
    assert.equal(await failed.locator('pre').innerText(), 'broken deploy');
    await checkAndShoot(page, '43-hook-failed-canary-holds');

    // Fixed from the held panel (the canary's commands): the next change reaches it, then the follower.
    await problem.getByRole('button', { name: `Edit ${one}’s commands…` }).click();
    const commands = page.locator('dialog.target-commands-dialog');
    await commands.waitFor();
    const onServer = commands.getByLabel('Command on the server after sync');
    assert.equal(await onServer.inputValue(), 'echo broken deploy >&2; exit 4');
    await onServer.fill('echo fixed deploy');
    await commands.getByRole('button', { name: 'Save and restart' }).click();
    await commands.waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    assert.equal(settingsFolder()?.remoteAfterSync, 'echo fixed deploy', "the first server's are the folder's own");
    writeFileSync(join(local, 'e.txt'), 'after the fix\n');
    await eventually(
      () =>
        read(join(remote2, 'd.txt')) === 'held back from two\n' && read(join(remote2, 'e.txt')) === 'after the fix\n',
      'd.txt and e.txt on the follower',
    );
    assert.equal(
      await page.locator('.activity-list li.hook-run.failed details[open] pre').first().innerText(),
      'broken deploy',
      'an opened output fold stays open as new rows arrive',
    );
  });

  test("Commands… on a server's row sets its command here and on it after it was added", async () => {
    const { page } = s;
    const localLog = join(s.tmp, 'two-here.log');
    await row(sshd2)
      .getByRole('button', { name: `Commands after sync for 127.0.0.1:${sshd2.port}…` })
      .click();
    const dialog = page.locator('dialog.target-commands-dialog');
    await dialog.waitFor();
    const here = dialog.getByLabel('Command after sync', { exact: true });
    const there = dialog.getByLabel('Command on the server after sync');
    assert.equal(await here.inputValue(), '');
    assert.match(await there.inputValue(), /^echo deployed two;/, 'the command set when it was added');
    await here.fill(`echo "$FERRY_CHANGED" >> ${localLog}`);
    await there.fill(`echo redeployed two; echo "$FERRY_CHANGED" >> ${hooks2}/two-edited.log`);
    await checkAndShoot(page, '47-server-commands');
    await dialog.getByRole('button', { name: 'Save and restart' }).click();
    await dialog.waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    const more = settingsFolder()?.moreTargets?.[0] as { afterSync?: string; remoteAfterSync?: string } | undefined;
    assert.equal(more?.afterSync, `echo "$FERRY_CHANGED" >> ${localLog}`);
    assert.match(more?.remoteAfterSync ?? '', /^echo redeployed two;/);
    assert.equal(settingsFolder()?.remoteAfterSync, 'echo fixed deploy', "the first server's stay as they were");
    // The engine runs both for that server only, on the next change.
    writeFileSync(join(local, 'h.txt'), 'after the new commands\n');
    await eventually(() => read(join(hooks2, 'two-edited.log')) === '1\n', 'the new command on the second server');
    await eventually(() => read(localLog) === '1\n', "the second server's command here");
    await page
      .locator('.activity-list li.hook-run.ok', { hasText: `127.0.0.1:${sshd2.port} · here ran` })
      .waitFor({ timeout: SYNC_TIMEOUT });
    await row(sshd2).and(page.locator('[data-state="in-sync"]')).waitFor({ timeout: SYNC_TIMEOUT });
  });

  test('Pause on one server: a new file reaches the other only; Resume sends it', async () => {
    const { page } = s;
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    const remote2Name = await row(sshd2).getAttribute('data-remote');
    await row(sshd2)
      .getByRole('button', { name: `Pause 127.0.0.1:${sshd2.port}` })
      .click();
    await row(sshd2).and(page.locator('[data-state="paused"]')).waitFor({ timeout: SYNC_TIMEOUT });
    // Partly paused, not paused: the card, the header and ferry status (control-targets.test.ts) agree.
    await page.locator('.card[data-state="partly-paused"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(await card().locator('.state-text').innerText(), 'Paused on 1 of 2 servers');
    assert.equal(await page.locator('.overall').innerText(), 'Ⅱ Paused on 1 of 2 servers');
    assert.equal(await page.locator('.overall').getAttribute('data-state'), 'partly-paused');
    assert.equal(entry().status.state, 'idle', 'the engine: the folder syncs to the other server');
    const resume = row(sshd2).getByRole('button', { name: `Resume 127.0.0.1:${sshd2.port}` });
    assert.ok(
      await resume.evaluate((el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement),
      'focus stays on the row: Pause became Resume in place',
    );
    assert.deepEqual(settingsFolder()?.pausedTargets, [remote2Name]);
    assert.equal(await card().locator('.pause-button').innerText(), 'Pause', 'the folder as a whole is not paused');
    writeFileSync(join(local, 'f.txt'), 'only to one while two is paused\n');
    await eventually(() => read(join(remote1, 'f.txt')) === 'only to one while two is paused\n', 'f.txt on one');
    await row(s.sshd).and(page.locator('[data-state="in-sync"]')).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(read(join(remote2, 'f.txt')), undefined, 'the paused server got nothing');
    await checkAndShoot(page, '44-one-server-paused');
    await resume.click();
    await eventually(() => read(join(remote2, 'f.txt')) === 'only to one while two is paused\n', 'f.txt on two');
    await row(sshd2).and(page.locator('[data-state="in-sync"]')).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(settingsFolder()?.pausedTargets, undefined);
  });

  test('Remove on one server asks first, then the folder syncs to the other only; nothing on it changes', async () => {
    const { page } = s;
    const name2 = (await row(sshd2).getAttribute('data-remote')) ?? '';
    const stateDir2 = folderStateDir(join(s.tmp, 'state'), folderId(local, name2));
    assert.ok(existsSync(join(stateDir2, 'index.json')), "the second server's index");
    const removeButton = row(sshd2).getByRole('button', { name: `Remove 127.0.0.1:${sshd2.port}…` });
    await removeButton.click();
    const confirm = page.getByRole('alertdialog');
    await confirm.waitFor();
    assert.equal(await confirm.locator('h2').innerText(), `Stop syncing Multi to 127.0.0.1:${sshd2.port}?`);
    assert.match(await confirm.locator('p').innerText(), /Nothing on 127\.0\.0\.1:\d+ is touched.*stays on disk/s);
    await checkAndShoot(page, '45-remove-server-confirm');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await card().locator('.target-row').count(), 2, 'Cancel keeps both servers');

    await removeButton.click();
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Remove server' }).click();
    await card().locator('.target-rows').waitFor({ state: 'hidden', timeout: SYNC_TIMEOUT });
    await page.locator('.message', { hasText: `Multi no longer syncs to 127.0.0.1:${sshd2.port}.` }).waitFor();
    assert.ok(
      await card()
        .locator('.add-server-button')
        .evaluate((el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement),
      'focus lands on the card’s Add server button',
    );
    assert.equal(entry().moreTargets, undefined, 'saved with one server');
    assert.equal(entry().status.targets, undefined, 'the engine runs one lane');
    assert.match(entry().status.remote, new RegExp(`:${s.sshd.port}/`));
    assert.ok(existsSync(join(stateDir2, 'index.json')), "the removed server's state stays on disk");
    assert.equal(read(join(remote2, 'a.txt')), 'alpha\n', 'the removed server keeps its copy');
    writeFileSync(join(local, 'g.txt'), 'after the removal\n');
    await eventually(() => read(join(remote1, 'g.txt')) === 'after the removal\n', 'g.txt on the remaining server');
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(read(join(remote2, 'g.txt')), undefined, 'nothing goes to the removed server');
    const t = totals(local);
    await card()
      .locator('.card-totals')
      .filter({ hasText: `${t.files} files · ` })
      .waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(entry().status.localBytes, t.bytes);
    await checkAndShoot(page, '46-server-removed');
  });
});
