/**
 * The window's view of engine features beyond one plain target, in a real Chromium against
 * the real IPC handlers, engine and sshd (test/ui/harness.ts): the server trash (turned on in
 * the add dialog, listed on the card, one version restored) and Retry of one failed item.
 * Every state is checked by axe-core and for page exceptions; screenshots at 980x680, light.
 */
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { checkAndShoot, eventually, startStand, SYNC_TIMEOUT, type UiStand } from './harness.ts';

let s: UiStand;
let local: string;
let remote: string;
let sshd2: TestSshd | undefined;

const card = () => s.page.locator('.card', { hasText: local }).first();
const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

before(async () => {
  s = await startStand();
  local = join(s.tmp, 'Site');
  mkdirSync(local, { recursive: true });
  writeFileSync(join(local, 'a.txt'), 'version one\n');
  writeFileSync(join(local, 'b.txt'), 'stays as it is\n');
  remote = join(s.sshd.remoteRoot, 'site');
  mkdirSync(remote, { recursive: true });
  s.sshd.own(remote);
});

afterEach(() => {
  assert.deepEqual(s.pageErrors.splice(0), [], 'no uncaught error in the page');
});

after(async () => {
  await sshd2?.dispose();
  await s?.close();
});

describe('server trash and per-item retry in Chromium', () => {
  test('the add dialog turns the server trash on, and the folder saves it', async () => {
    const { page, sshd } = s;
    await page.locator('button.add-folder').first().click();
    const dialog = page.locator('dialog.add-dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Local folder').fill(local);
    await dialog.getByLabel('Server (host or ssh alias)').fill('127.0.0.1');
    await dialog.getByLabel('User').fill(sshd.user);
    await dialog.getByRole('radio', { name: 'Key file' }).check();
    await dialog.getByLabel('Private key file').fill(sshd.clientKeyPath);
    await dialog.getByLabel('Folder on the server').fill(remote);
    await dialog.locator('details.advanced summary').click();
    await dialog.getByLabel('Port').fill(String(sshd.port));
    const days = dialog.getByLabel('Days the trash keeps them');
    assert.ok(await days.isDisabled(), 'the days field waits for the trash to be turned on');
    await dialog.getByLabel('Keep deleted and overwritten server files in a trash').check();
    assert.ok(await days.isEnabled());
    await days.fill('0');
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-button').click();
    assert.match(await dialog.locator('.connection-result').innerText(), /from 1 to 365 days/);
    await days.fill('14');
    await checkAndShoot(page, '20-add-with-trash');
    await dialog.locator('.add-button').click();
    await dialog.locator('.preview').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-button').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(read(join(remote, 'a.txt')), 'version one\n');
    const [entry] = s.manager.list();
    assert.equal(entry?.trashDays, 14);
    const saved = JSON.parse(readFileSync(join(s.tmp, 'settings.json'), 'utf8')) as {
      folders: { trashDays?: number }[];
    };
    assert.equal(saved.folders[0]?.trashDays, 14);
    assert.ok(await card().locator('details.trash').isVisible(), 'a folder with a trash shows the fold');
  });

  test('an overwritten server file is listed in the trash and restored from it', async () => {
    const { page } = s;
    writeFileSync(join(local, 'a.txt'), 'version two, which is longer\n');
    await eventually(() => read(join(remote, 'a.txt')) === 'version two, which is longer\n', 'the upload of v2');
    const trash = card().locator('details.trash');
    await trash.locator('summary').click();
    await trash.locator('[data-loaded="true"], .trash-item').first().waitFor({ timeout: SYNC_TIMEOUT });
    const item = trash.locator('.trash-item[data-path="a.txt"]');
    await item.waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(await trash.locator('.trash-item[data-path="b.txt"]').count(), 0, 'only what was overwritten');
    assert.match(await item.innerText(), /a\.txt.*kept/s);
    await checkAndShoot(page, '21-server-trash-listed');
    const stamp = await item.getAttribute('data-stamp');
    assert.match(stamp ?? '', /^\d{8}-\d{6}$/);
    await item.getByRole('button', { name: `Restore: a.txt (${stamp})` }).click();
    const toast = page.locator('.message.info', { hasText: 'Restored a.txt' });
    await toast.waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(await toast.innerText(), /previous version is in the trash as \.ferry-trash\/\d{8}-\d{6}\/a\.txt/);
    assert.equal(read(join(local, 'a.txt')), 'version one\n', 'the local file is the restored version');
    // The local file differed from the version restored, so it was kept as a conflict copy.
    const copy = /local version was kept as (a\.ferry-conflict-\d{8}-\d{6}\.txt)/.exec(await toast.innerText())?.[1];
    assert.equal(read(join(local, copy ?? 'missing')), 'version two, which is longer\n');
    assert.equal(read(join(remote, 'a.txt')), 'version one\n', 'so is the server');
    // The fold reloads: version two is now the one kept (as a.txt, or a.txt.~N when the
    // restore ran within the second of the overwrite and so shares its stamp).
    const kept = trash.locator('.trash-item[data-path^="a.txt"]', { hasText: '29 B' });
    await kept.first().waitFor();
    assert.equal('version two, which is longer\n'.length, 29);
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(read(join(remote, 'a.txt')), 'version one\n', 'the sync after the restore kept it');
    await checkAndShoot(page, '22-server-trash-restored');
  });

  test('Retry on one failed item asks for that path only and syncs it once the server allows', async (t: TestContext) => {
    const { page, sshd } = s;
    if (sshd.uid === 0) return t.skip('the server logs in as root, which ignores permissions: nothing can fail');
    // Two directories the server knows, then made read-only there: new files in them fail.
    for (const d of ['lockA', 'lockB']) {
      mkdirSync(join(local, d));
      writeFileSync(join(local, d, 'first.txt'), `${d}\n`);
    }
    await eventually(
      () =>
        read(join(remote, 'lockA', 'first.txt')) === 'lockA\n' &&
        read(join(remote, 'lockB', 'first.txt')) === 'lockB\n',
      'the two directories on the server',
    );
    for (const d of ['lockA', 'lockB']) chmodSync(join(remote, d), 0o555);
    writeFileSync(join(local, 'lockA', 'x.txt'), 'x\n');
    writeFileSync(join(local, 'lockB', 'y.txt'), 'y\n');
    const failed = card().locator('details.failed');
    await failed.locator('.failed-item[data-path="lockA/x.txt"]').waitFor({ state: 'attached', timeout: SYNC_TIMEOUT });
    await failed.locator('.failed-item[data-path="lockB/y.txt"]').waitFor({ state: 'attached', timeout: SYNC_TIMEOUT });
    await failed.locator('summary').click();
    await checkAndShoot(page, '23-failed-items');
    chmodSync(join(remote, 'lockA'), 0o755);
    s.calls.splice(0);
    await failed.getByRole('button', { name: 'Retry: lockA/x.txt' }).click();
    await eventually(() => s.calls.some(([n]) => n === 'retryPath'), 'the retryPath call');
    const id = s.manager.list()[0]?.id;
    assert.deepEqual(
      s.calls.filter(([n]) => n.startsWith('retry')),
      [['retryPath', [id, 'lockA/x.txt']]],
      'the row retries its own path, not every failed item',
    );
    await eventually(() => read(join(remote, 'lockA', 'x.txt')) === 'x\n', 'lockA/x.txt on the server');
    await failed.locator('.failed-item[data-path="lockA/x.txt"]').waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    assert.equal(await failed.locator('.failed-item[data-path="lockB/y.txt"]').count(), 1, 'the other still fails');
    assert.equal(read(join(remote, 'lockB', 'y.txt')), undefined);
    await checkAndShoot(page, '24-failed-item-retried');
    chmodSync(join(remote, 'lockB'), 0o755);
  });

  test('a folder with two targets shows one row per target, and a failed command after sync', async () => {
    const { page } = s;
    // Settled first (the retry test unlocked lockB), so no real status replaces the one sent here.
    if (existsSync(join(local, 'lockB')))
      await eventually(() => read(join(remote, 'lockB', 'y.txt')) === 'y\n', 'lockB/y.txt on the server');
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    const entry = s.manager.list()[0];
    assert.ok(entry);
    const web1 = {
      ...entry.status,
      remote: 'ssh://deploy@web1.example:22/srv/site',
      state: 'idle',
      inSync: true,
      failedItems: [],
    };
    const web2 = {
      ...entry.status,
      remote: 'ssh://deploy@web2.example:22/srv/site',
      state: 'error',
      inSync: false,
      lastError: 'Could not connect to web2.example:22: connection refused.',
      hookFailed: {
        target: 'ssh://deploy@web2.example:22/srv/site',
        where: 'remote',
        command: 'systemctl reload site',
        ok: false,
        exitCode: 3,
        durationMs: 1250,
        changed: 2,
        output: ['reloading site', 'Job for site.service failed.'],
        at: new Date().toISOString(),
      },
    };
    // The status the engine sends for a folder with two targets (this folder's id).
    const both = { ...entry.status, targets: [web1, web2] };
    await page.evaluate(
      ([p]) => (globalThis as unknown as { __ferryEmit(n: string, p: unknown): void }).__ferryEmit('folderStatus', p),
      [both],
    );
    const rows = card().locator('.target-row');
    await rows.nth(1).waitFor();
    assert.deepEqual(await rows.allInnerTexts().then((r) => r.map((x) => x.split('\n')[0])), [
      'web1.example · In sync',
      'web2.example · Error — Could not connect to web2.example:22: connection refused.',
    ]);
    const hook = rows.nth(1).locator('.hook-failed');
    assert.match(await hook.innerText(), /“systemctl reload site” failed \(exit status 3, 1\.3 s\)/);
    assert.match(await hook.locator('pre').innerText(), /Job for site\.service failed\./);
    await checkAndShoot(page, '25-two-targets');
    // One target again: no rows.
    await page.evaluate(
      ([p]) => (globalThis as unknown as { __ferryEmit(n: string, p: unknown): void }).__ferryEmit('folderStatus', p),
      [entry.status],
    );
    await card().locator('.target-rows').waitFor({ state: 'hidden' });
  });

  test('a command after sync set in the edit dialog that fails shows its exit status and output', async () => {
    const { page } = s;
    const save = async (command: string) => {
      await card().getByRole('button', { name: 'Edit…' }).click();
      const dialog = page.locator('dialog.add-dialog');
      await dialog.waitFor();
      await dialog.getByLabel('Command after sync').fill(command);
      await dialog.locator('.add-button').click();
      await dialog.waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    };
    await save('echo reloading site; exit 3');
    assert.equal(s.manager.list()[0]?.afterSync, 'echo reloading site; exit 3');
    writeFileSync(join(local, 'd.txt'), 'makes the command run\n');
    const hook = card().locator('.hook-failed');
    await hook.waitFor({ timeout: SYNC_TIMEOUT });
    assert.match(await hook.innerText(), /“echo reloading site; exit 3” failed \(exit status 3, \d+\.\d s\)/);
    assert.match(await hook.locator('pre').innerText(), /^reloading site$/);
    assert.equal(read(join(remote, 'd.txt')), 'makes the command run\n', 'the sync itself stands');
    await checkAndShoot(page, '26-after-sync-failed');
    await save('');
    assert.equal(s.manager.list()[0]?.afterSync, undefined);
  });

  test('Add server confirms the new host key, then the card shows both servers; one stopped shows an error', async () => {
    const { page } = s;
    sshd2 = await startSshd();
    const remote2 = join(sshd2.remoteRoot, 'site2');
    mkdirSync(remote2, { recursive: true });
    sshd2.own(remote2);
    await card().getByRole('button', { name: 'Add server' }).click();
    const dialog = page.locator('dialog.add-target-dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Server (host or ssh alias)').fill('127.0.0.1');
    await dialog.getByLabel('User').fill(sshd2.user);
    await dialog.getByLabel('Port').fill(String(sshd2.port));
    await dialog.getByLabel('Private key file').fill(sshd2.clientKeyPath);
    await dialog.getByLabel('Folder on the server').fill(remote2);
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await dialog.locator('.hostkey-confirm').waitFor({ timeout: SYNC_TIMEOUT });
    assert.ok(await dialog.locator('.add-target-button').isDisabled(), 'no adding before the key is confirmed');
    await checkAndShoot(page, '27-add-server-host-key');
    await dialog.locator('.trust-button').click();
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-target-button').click();
    await dialog.waitFor({ state: 'detached', timeout: SYNC_TIMEOUT });
    await eventually(() => read(join(remote2, 'a.txt')) === 'version one\n', 'the folder on the second server');
    const rows = card().locator('.target-row');
    const first = rows.filter({ hasText: `127.0.0.1:${s.sshd.port}` });
    const second = rows.filter({ hasText: `127.0.0.1:${sshd2.port}` });
    await page
      .locator('.card[data-state="in-sync"]', { hasText: local })
      .locator(`.target-row[data-state="in-sync"]`)
      .nth(1)
      .waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(await rows.count(), 2);
    assert.match(await first.innerText(), /In sync/);
    assert.match(await second.innerText(), /In sync/);
    assert.equal(s.manager.list()[0]?.moreTargets?.length, 1, 'the second server is saved');
    await checkAndShoot(page, '28-two-servers-in-sync');
    await sshd2.stop();
    writeFileSync(join(local, 'c.txt'), 'after the second server went away\n');
    await card().locator(`.target-row[data-state="error"]`).waitFor({ timeout: SYNC_TIMEOUT });
    assert.match((await second.getAttribute('data-state')) ?? '', /error/);
    await eventually(() => read(join(remote, 'c.txt')) === 'after the second server went away\n', 'c.txt on the first');
    await first.and(page.locator('[data-state="in-sync"]')).waitFor({ timeout: SYNC_TIMEOUT });
    await checkAndShoot(page, '29-second-server-down');
  });
});
