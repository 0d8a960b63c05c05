/**
 * The app's login prompts (app-core/prompt-broker.ts) and their IPC command: a pending id is
 * answered once with one string per prompt; unknown, late and wrong-count answers are
 * refused; Cancel fails the login with "cancelled by you"; a login given up withdraws the
 * request. The answers never appear in an event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PromptBroker } from '../../main/app-core/prompt-broker.ts';
import type { LoginPrompt, LoginPromptClosed } from '../../main/ipc/contract.ts';
import { validateArgs } from '../../main/ipc/validate.ts';
import { PromptUnansweredError, type KeyboardInteractiveRequest } from '../../main/ssh/connect.ts';

const request: KeyboardInteractiveRequest = {
  host: '127.0.0.1',
  port: 2222,
  user: 'u',
  name: 'Two-factor authentication',
  instructions: '',
  prompts: [{ prompt: 'Verification code: ', echo: false }],
};

function broker() {
  const b = new PromptBroker();
  const shown: LoginPrompt[] = [];
  const closed: LoginPromptClosed[] = [];
  const events: string[] = [];
  b.on('loginPrompt', (p) => (shown.push(p), events.push(JSON.stringify(p))));
  b.on('loginPromptClosed', (c) => (closed.push(c), events.push(JSON.stringify(c))));
  return { b, shown, closed, events };
}

test('a pending prompt is announced, answered once, and closed; the answer is in no event', async () => {
  const { b, shown, closed, events } = broker();
  const answer = b.answerer('/home/me/site')(request, { signal: new AbortController().signal });
  assert.equal(shown.length, 1);
  const p = shown[0]!;
  assert.match(p.requestId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(
    { ...p, requestId: 'x' },
    {
      requestId: 'x',
      server: 'u@127.0.0.1:2222',
      folder: '/home/me/site',
      name: 'Two-factor authentication',
      instructions: '',
      prompts: [{ prompt: 'Verification code: ', echo: false }],
    },
  );
  assert.deepEqual(b.pending(), [p]);
  assert.throws(() => b.answer(p.requestId, ['1', '2']), {
    message: 'The login to u@127.0.0.1:2222 asks 1 question(s); 2 answer(s) were given.',
  });
  b.answer(p.requestId, ['271828']);
  assert.deepEqual(await answer, ['271828']);
  assert.deepEqual(closed, [{ requestId: p.requestId, reason: 'answered' }]);
  assert.deepEqual(b.pending(), []);
  // Late (already answered) and unknown ids are refused.
  for (const id of [p.requestId, '0b9e2c53-7d4e-4c1a-9f55-2f1d7e6a3b10'])
    assert.throws(() => b.answer(id, ['271828']), {
      message: 'Ferry is no longer waiting for that answer: the login was answered, cancelled or given up already.',
    });
  assert.equal(
    events.some((e) => e.includes('271828')),
    false,
  );
});

test('Cancel fails the login with "cancelled by you", a PromptUnansweredError', async () => {
  const { b, shown, closed } = broker();
  const answer = b.answerer()(request, { signal: new AbortController().signal });
  const id = shown[0]!.requestId;
  assert.equal(shown[0]!.folder, undefined, 'a connection test has no folder');
  b.answer(id, null);
  await assert.rejects(answer, (err) => {
    assert.ok(err instanceof PromptUnansweredError);
    assert.equal(err.kind, 'auth');
    assert.equal(
      err.message,
      'Logging in to u@127.0.0.1:2222 was cancelled by you (the server asks "Verification code:"). Use Retry now to be asked again.',
    );
    return true;
  });
  assert.deepEqual(closed, [{ requestId: id, reason: 'cancelled' }]);
});

test('a login given up withdraws its prompt; answering it then is refused', async () => {
  const { b, shown, closed } = broker();
  const login = new AbortController();
  const answer = b.answerer('/f')(request, { signal: login.signal });
  const id = shown[0]!.requestId;
  login.abort();
  await assert.rejects(answer, {
    message: 'Logging in to u@127.0.0.1:2222 was given up before the prompt was answered.',
  });
  assert.deepEqual(closed, [{ requestId: id, reason: 'withdrawn' }]);
  assert.throws(() => b.answer(id, ['1']), /no longer waiting/);
});

test('answerLoginPrompt arguments: a UUID and a list of 1-16 strings, or null', () => {
  const id = '0b9e2c53-7d4e-4c1a-9f55-2f1d7e6a3b10';
  assert.deepEqual(validateArgs('answerLoginPrompt', [id, ['123456']]), [id, ['123456']]);
  assert.deepEqual(validateArgs('answerLoginPrompt', [id, null]), [id, null]);
  const refused: [unknown[], string][] = [
    [['not-an-id', ['1']], 'argument 1: the login prompt id must be a UUID'],
    [[id, []], 'argument 2: the answers are empty'],
    [[id, [5]], 'argument 2 (0): each answer must be text'],
    [[id, 'code'], 'argument 2: the answers must be a list of text, or null to cancel'],
    [[id, ['x'.repeat(1025)]], 'argument 2 (0): an answer is longer than 1024 characters'],
  ];
  for (const [args, problem] of refused)
    assert.throws(() => validateArgs('answerLoginPrompt', args), {
      message: `Ferry refused the request "answerLoginPrompt": ${problem}.`,
    });
});
