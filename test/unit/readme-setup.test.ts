/**
 * The README's test set-up line is run, with `apt-get`, `npm` and `sudo` replaced by
 * recording stubs on a PATH that holds nothing else: it must work in a root shell without
 * sudo (a bare container) and as a user with sudo, and it must stay the command .ci/run
 * ends with, installing no package .ci/run would not install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const ciRun = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');

/** The first line of the sh block after "**Run the tests**" in the README. */
function testCommand(): string {
  const block = /\*\*Run the tests\*\*[\s\S]*?```sh\n([^\n]+)\n/.exec(readme)?.[1];
  assert.ok(block, 'README has a "Run the tests" sh block');
  return block;
}

/** Runs `command` with only `sh` and recording stubs on PATH; returns the stubs' calls. */
function runWithStubs(command: string, withSudo: boolean): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-readme-'));
  try {
    const log = join(dir, 'calls.log');
    const stub = (name: string, then = '') => {
      const file = join(dir, name);
      writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> '${log}'\n${then}`);
      chmodSync(file, 0o755);
    };
    symlinkSync('/bin/sh', join(dir, 'sh'));
    stub('apt-get');
    stub('npm');
    if (withSudo) stub('sudo', 'exec "$@"\n');
    execFileSync('/bin/sh', ['-c', command], { env: { PATH: dir, HOME: dir }, stdio: 'pipe' });
    return readFileSync(log, 'utf8').trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const packages = () => /apt-get install -y ([a-z0-9 .+-]+)/.exec(testCommand())?.[1]?.trim().split(/\s+/) ?? [];

for (const withSudo of [false, true]) {
  test(`the README's test set-up runs ${withSudo ? 'with sudo' : 'as root without sudo'}`, () => {
    const calls = runWithStubs(testCommand(), withSudo);
    const apt = [`apt-get update`, `apt-get install -y ${packages().join(' ')}`];
    const sudo = withSudo ? [`sudo sh -c ${/sh -c '([^']+)'/.exec(testCommand())?.[1]}`] : [];
    assert.deepEqual(calls, [...sudo, ...apt, 'npm ci', 'npm test']);
  });
}

test('.ci/run ends with the README test command, and installs every package it names', () => {
  const lastLine = ciRun.trim().split('\n').at(-1) ?? '';
  assert.ok(testCommand().endsWith(` && ${lastLine}`), `README's line ends with .ci/run's "${lastLine}"`);
  const ciPackages = new Set([...ciRun.matchAll(/need\+=\(([^)]+)\)/g)].map((m) => m[1]));
  assert.ok(packages().length > 0);
  for (const p of packages()) assert.ok(ciPackages.has(p), `.ci/run installs ${p} when missing`);
});
