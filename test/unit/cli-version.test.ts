/**
 * `ferry --version` and `ferry -V` print package.json's version on stdout and exit 0
 * (the version is imported from package.json, so a release bump needs no other edit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ferry = fileURLToPath(new URL('../../main/cli/ferry.ts', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

for (const flag of ['--version', '-V']) {
  test(`ferry ${flag} prints the package version and exits 0`, async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [ferry, flag]);
    assert.equal(stdout, `${version}\n`);
    assert.equal(stderr, '');
  });
}

test('--version is listed in the help', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [ferry, '--help']);
  assert.match(stdout, /-V, --version/);
});
