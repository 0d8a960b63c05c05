/**
 * A login that asks for a one-time code, in a real Chromium against the real IPC handlers
 * and engine (test/ui/harness.ts), the server being the in-process ssh2 fault server with a
 * two-factor login (password, then "Verification code:" with echo off): OpenSSH with PAM
 * cannot easily be given an OTP module here.
 *
 * - Adding a folder: the connection test, the preview and the folder's own connection each
 *   log in, so each shows the code dialog (server, folder, prompt, a password input focused);
 *   typing the code goes on, and the folder syncs: the file arrives on the server.
 * - Escape cancels: the folder shows the "cancelled by you" error and does not ask again
 *   by itself; Retry now asks again.
 * - Every dialog state passes axe-core (WCAG 2.1 AA); screenshots at 980x680.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import type { FerryApi } from '../../main/ipc/contract.ts';
import { startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import { checkAndShoot, startStand, SYNC_TIMEOUT, type UiStand } from './harness.ts';

const CODE = '424242';
let s: UiStand;
let server: FaultSftpServer;

before(async () => {
  s = await startStand();
  const root = join(s.tmp, 'otp-server');
  mkdirSync(root, { recursive: true });
  server = await startFaultSftpServer({ root, oneTimeCode: CODE });
  // The stand's known_hosts already trusts its sshd; trust the code server as well.
  appendFileSync(s.sshd.knownHostsPath, `${server.knownHostsLine}\n`);
});

afterEach(() => {
  assert.deepEqual(s.pageErrors.splice(0), [], 'no uncaught error in the page');
});

after(async () => {
  await s?.close();
  await server?.close();
});

const codeDialog = () => s.page.locator('dialog.login-prompt-dialog');
const serverName = () => `u@127.0.0.1:${server.port}`;

/** Waits for the code dialog, checks what it says and where focus is, and types `code`. */
async function answer(code: string, folder: string | undefined, shot?: string): Promise<void> {
  const dialog = codeDialog();
  await dialog.waitFor({ timeout: SYNC_TIMEOUT });
  assert.equal(await dialog.getByRole('heading').innerText(), `Sign-in code for ${serverName()}`);
  const text = await dialog.innerText();
  assert.ok(
    text.includes(folder ? `The server asks this to log in for ${folder}.` : 'The server asks this to log in.'),
    text,
  );
  assert.ok(text.includes('Two-factor authentication'), 'the server title is shown');
  const input = dialog.getByLabel('Verification code:');
  assert.equal(await input.getAttribute('type'), 'password', 'echo off: the code is not shown');
  assert.equal(
    await input.evaluate((el) => el === el.ownerDocument.activeElement),
    true,
    'focus lands in the first input',
  );
  if (shot) await checkAndShoot(s.page, shot);
  await input.fill(code);
  await dialog.getByRole('button', { name: 'Submit' }).click();
  await dialog.waitFor({ state: 'detached' });
}

async function fillAddDialog(dialog: Locator, local: string, remote: string): Promise<void> {
  await dialog.getByLabel('Local folder').fill(local);
  await dialog.getByLabel('Server (host or ssh alias)').fill('127.0.0.1');
  await dialog.getByLabel('User').fill(server.user);
  await dialog.getByRole('radio', { name: 'Password' }).check();
  await dialog.locator('input[name="password"]').fill(server.password);
  await dialog.getByLabel('Folder on the server').fill(remote);
  await dialog.locator('details.advanced summary').click();
  await dialog.getByLabel('Port').fill(String(server.port));
}

describe('one-time codes in the window', () => {
  test('adding a folder asks the code for each login, and the folder syncs', async () => {
    const { page } = s;
    const local = join(s.tmp, 'Coded');
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'hello.txt'), 'through two factors\n');
    const remote = join(server.root, 'coded');
    mkdirSync(remote);
    await page.locator('button.add-folder').first().click();
    const dialog = page.locator('dialog.add-dialog');
    await dialog.waitFor();
    await fillAddDialog(dialog, local, remote);
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    await answer(CODE, undefined, '60-login-code-test');
    await dialog.locator('.ok-text').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-button').click();
    await answer(CODE, local);
    await dialog.locator('.preview').waitFor({ timeout: SYNC_TIMEOUT });
    await dialog.locator('.add-button').click();
    await answer(CODE, local, '61-login-code-folder');
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(readFileSync(join(remote, 'hello.txt'), 'utf8'), 'through two factors\n');
    const answered = s.calls.filter(([name]) => name === 'answerLoginPrompt');
    assert.equal(answered.length, 3);
    await checkAndShoot(page, '62-login-code-synced');
  });

  test('Escape cancels: a clear error, no new prompt by itself, Retry now asks again', async () => {
    const { page } = s;
    const local = join(s.tmp, 'Cancelled');
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'never.txt'), 'stays local\n');
    const remote = join(server.root, 'cancelled');
    mkdirSync(remote);
    // Added through the IPC handlers (the dialog flow is the test above): the folder's own
    // connection asks for the code.
    const adding = page.evaluate(
      ([l, r, port, pw]) =>
        (globalThis as unknown as { ferry: FerryApi }).ferry.addFolder({
          localPath: l as string,
          host: '127.0.0.1',
          user: 'u',
          port: port as number,
          auth: { kind: 'password', password: pw as string },
          remotePath: r as string,
          mode: 'push',
          ignore: [],
        }),
      [local, remote, server.port, server.password] as const,
    );
    const dialog = codeDialog();
    await dialog.waitFor({ timeout: SYNC_TIMEOUT });
    await adding;
    const asked = server.codesAsked;
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const card = page.locator('.card[data-state="error"]', { hasText: local });
    await card.waitFor({ timeout: SYNC_TIMEOUT });
    const error = card.locator('.error-text');
    assert.equal(
      await error.innerText(),
      `Logging in to ${serverName()} was cancelled by you (the server asks "Verification code:"). Use Retry now to be asked again.`,
    );
    await checkAndShoot(page, '63-login-code-cancelled');
    // The folder waits for the user instead of logging in again within seconds.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await codeDialog().count(), 0, 'no new code dialog by itself');
    assert.equal(server.codesAsked, asked, 'no new login by itself');
    assert.equal(existsSync(join(remote, 'never.txt')), false);
    await card.getByRole('button', { name: 'Retry now' }).click();
    await answer(CODE, local);
    await page.locator('.card[data-state="in-sync"]', { hasText: local }).waitFor({ timeout: SYNC_TIMEOUT });
    assert.equal(readFileSync(join(remote, 'never.txt'), 'utf8'), 'stays local\n');
  });
});
