/**
 * `ferry sync` asking a one-time code on the terminal (cli/terminal-prompt.ts), driven with
 * streams: the repo has no pseudo-terminal driver, so the "terminal" is a PassThrough that
 * says it is a TTY and records raw-mode switches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { terminalAnswerer } from '../../main/cli/terminal-prompt.ts';
import { PromptUnansweredError, type KeyboardInteractiveRequest } from '../../main/ssh/connect.ts';

function terminal(tty = true) {
  const input = Object.assign(new PassThrough(), {
    isTTY: tty,
    rawModes: [] as boolean[],
    setRawMode(raw: boolean) {
      input.rawModes.push(raw);
      return input;
    },
  });
  const output = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => (written += String(d)));
  let interrupts = 0;
  const ask = terminalAnswerer({ input, output, onInterrupt: () => interrupts++ });
  return { input, ask, written: () => written, interrupts: () => interrupts };
}

const request = (
  prompts: KeyboardInteractiveRequest['prompts'],
  extra: Partial<KeyboardInteractiveRequest> = {},
): KeyboardInteractiveRequest => ({
  host: 'build.example.org',
  port: 2222,
  user: 'deploy',
  name: 'Two-factor authentication',
  instructions: '',
  prompts,
  ...extra,
});
const code = [{ prompt: 'Verification code: ', echo: false }];
const signal = () => new AbortController().signal;
/** Lets the answerer reach its read before typing. */
const tick = () => new Promise((r) => setImmediate(r));

test('echo off: raw mode while typing, backspace edits, nothing of the code is written', async () => {
  const t = terminal();
  const answer = t.ask(request(code), { signal: signal() });
  await tick();
  t.input.write('3141X\u007f');
  t.input.write('59\r');
  assert.deepEqual(await answer, ['314159']);
  assert.equal(t.written(), 'Two-factor authentication\n(deploy@build.example.org:2222) Verification code: \n');
  assert.deepEqual(t.input.rawModes, [true, false], 'raw mode on for the code, restored after');
});

test('echo on: the terminal echoes (no raw mode); two prompts of one round read from one chunk', async () => {
  const t = terminal();
  const answer = t.ask(
    request(
      [
        { prompt: 'Token serial: ', echo: true },
        { prompt: 'Code: ', echo: false },
      ],
      { name: '', instructions: 'Use your hardware token.', port: 22 },
    ),
    { signal: signal() },
  );
  await tick();
  t.input.write('ab-12\r\n7788\n');
  assert.deepEqual(await answer, ['ab-12', '7788']);
  assert.equal(
    t.written(),
    // The terminal itself echoes "ab-12" and its Enter.
    'Use your hardware token.\n(deploy@build.example.org) Token serial: (deploy@build.example.org) Code: \n',
  );
  assert.deepEqual(t.input.rawModes, [true, false], 'raw mode only for the echo-off prompt');
});

test('Ctrl-C cancels the login, stops Ferry as Ctrl-C does, and restores the terminal', async () => {
  const t = terminal();
  const answer = t.ask(request(code), { signal: signal() });
  await tick();
  t.input.write('12\u0003');
  await assert.rejects(answer, (err) => {
    assert.ok(err instanceof PromptUnansweredError);
    assert.equal(err.message, 'Logging in to deploy@build.example.org:2222 was cancelled by you.');
    return true;
  });
  assert.equal(t.interrupts(), 1);
  assert.deepEqual(t.input.rawModes, [true, false]);
});

test('a login that no longer needs the answer withdraws the question', async () => {
  const t = terminal();
  const abort = new AbortController();
  const answer = t.ask(request(code), { signal: abort.signal });
  await tick();
  abort.abort();
  await assert.rejects(answer, {
    message: 'Logging in to deploy@build.example.org:2222 was given up before the prompt was answered.',
  });
  assert.equal(t.input.listenerCount('data'), 0, 'no longer reading the terminal');
  assert.deepEqual(t.input.rawModes, [true, false]);
});

test('rounds of targets connecting at once are asked one after the other', async () => {
  const t = terminal(false);
  const first = t.ask(request(code), { signal: signal() });
  const second = t.ask(request(code, { host: 'web.example.org', name: '' }), { signal: signal() });
  await tick();
  assert.equal(t.written().includes('web.example.org'), false, 'the second waits for the first');
  t.input.write('111111\n');
  assert.deepEqual(await first, ['111111']);
  await tick();
  t.input.write('222222\n');
  assert.deepEqual(await second, ['222222']);
  assert.equal(
    t.written(),
    'Two-factor authentication\n(deploy@build.example.org:2222) Verification code: \n(deploy@web.example.org:2222) Verification code: \n',
  );
  assert.deepEqual(t.input.rawModes, [], 'not a terminal: no raw mode');
});
