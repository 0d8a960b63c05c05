import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPasswordPrompt } from '../../main/ssh/connect.ts';

/** Which keyboard-interactive prompts get the stored password; everything else needs a person. */
test('password prompts are told from one-time codes and visible questions', () => {
  const table: [string, boolean, boolean][] = [
    ['Password: ', false, true],
    ["ferry@host's password: ", false, true],
    ['Enter passphrase for key: ', false, true],
    ['(user@host) Password:', false, true],
    ['Password: ', true, false], // echoed: not a secret the server would ask for so
    ['Verification code: ', false, false],
    ["One-time password (OATH) for `u': ", false, false],
    ['OTP password: ', false, false],
    ['Passcode or option (1-3): ', false, false],
    ['Token: ', false, false],
    ['Username: ', true, false],
  ];
  for (const [prompt, echo, expected] of table)
    assert.equal(isPasswordPrompt({ prompt, echo }), expected, JSON.stringify({ prompt, echo }));
});
