/**
 * The single-file `ferry` for servers (`npm run build:cli`, issue 18 item 4): builds the Node
 * single executable application into a temp directory, copies it alone into another one (as
 * onto a server) and runs it with a PATH holding no Node: a `node` there that only records
 * being called, plus `ssh` and `rsync`, which the rsync transport runs. Then `--help`,
 * `--version`, `sync --once` against the test sshd over SFTP and over rsync, and watch mode
 * (chokidar, bundled) until SIGTERM.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCliExecutable } from '../../main/build/build-cli.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { onLines } from '../harness/lines.ts';
import { diffTrees, eventually, readTree, sshFlags, targetOf, waitForSameTree, writeTree } from '../harness/trees.ts';

const file = sshdForFile();
const { scope } = file;

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** `which`, without relying on a `which` binary. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}
const tools = { ssh: onPath('ssh'), rsync: onPath('rsync') };

const unsupported = process.platform === 'linux' ? false : `the executable is built for Linux, not ${process.platform}`;

let exe = '';
let binDir = '';
let home = '';
let nodeMarker = '';
before(async () => {
  if (unsupported) return;
  const built = await buildCliExecutable(scope.dir('cli-build'));
  exe = join(scope.dir('cli-server'), 'ferry');
  copyFileSync(built, exe);
  chmodSync(exe, 0o755);
  binDir = scope.dir('cli-path');
  home = scope.dir('cli-home');
  nodeMarker = join(home, 'node-was-called');
  writeFileSync(join(binDir, 'node'), `#!/bin/sh\necho "$@" >> '${nodeMarker}'\nexit 127\n`, { mode: 0o755 });
  for (const [name, path] of Object.entries(tools)) if (path) symlinkSync(path, join(binDir, name));
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the copied executable itself (no shell, no node) with an environment as bare as `env -i`. */
function runExe(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { env: { PATH: binDir, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertNodeNeverRan(): void {
  assert.equal(existsSync(nodeMarker), false, 'the executable ran `node` from PATH');
}

describe('the single-file ferry executable', { skip: unsupported }, () => {
  test('is one ELF executable that needs no Node on PATH', () => {
    assert.deepEqual([...readFileSync(exe).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    // The PATH it runs with: the only `node` on it is the stand-in that records calls.
    assert.match(readFileSync(join(binDir, 'node'), 'utf8'), /node-was-called/);
    assertNodeNeverRan();
  });

  test('--help lists the commands', async () => {
    const r = await runExe(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: ferry/);
    assert.match(r.stdout, /\bsync\b/);
    assert.match(r.stdout, /\bdaemon\b/);
    assert.equal(r.stderr, '');
    assertNodeNeverRan();
  });

  test('--version prints the package version (no package.json beside it)', async () => {
    const r = await runExe(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
    assertNodeNeverRan();
  });

  for (const transport of ['sftp', 'rsync'] as const) {
    const missing = transport === 'rsync' && !(tools.rsync && tools.ssh) ? 'rsync or ssh is not installed' : false;
    test(`sync --once over ${transport} makes the server's tree match`, { skip: missing }, async () => {
      const sshd = file.sshd;
      const local = scope.dir(`cli-${transport}-local`);
      const state = scope.dir(`cli-${transport}-state`);
      const remote = join(sshd.remoteRoot, `cli-single-file-${transport}`);
      writeTree(local, {
        'index.html': '<h1>hello</h1>',
        'css/site.css': 'body { margin: 0 }',
        'img/blob.bin': Buffer.alloc(300 * 1024, 9),
        'empty-dir': null,
        '.htaccess': 'Deny from all',
      });
      chmodSync(join(local, 'index.html'), 0o640);
      symlinkSync('css/site.css', join(local, 'style-link'));

      const r = await runExe([
        'sync',
        '--once',
        '--json',
        '--transport',
        transport,
        ...sshFlags(sshd, state),
        local,
        targetOf(sshd, remote),
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
      assert.equal(readFileSync(join(remote, 'index.html'), 'utf8'), '<h1>hello</h1>');
      assertNodeNeverRan();

      // A second pass after an edit and a delete: the index the executable wrote works.
      writeFileSync(join(local, 'index.html'), '<h1>hello again</h1>');
      writeTree(local, { 'css/extra.css': 'p {}' });
      rmSync(join(local, 'img'), { recursive: true });
      const again = await runExe([
        'sync',
        '--once',
        '--transport',
        transport,
        ...sshFlags(sshd, state),
        local,
        targetOf(sshd, remote),
      ]);
      assert.equal(again.code, 0, again.stderr + again.stdout);
      assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
      assert.equal(existsSync(join(remote, 'img')), false);
      assertNodeNeverRan();
    });
  }
  test('sync (watch mode) pushes a new file, then stops cleanly on SIGTERM', async () => {
    const sshd = file.sshd;
    const local = scope.dir('cli-watch-local');
    const state = scope.dir('cli-watch-state');
    const remote = join(sshd.remoteRoot, 'cli-single-file-watch');
    writeTree(local, { 'a.txt': 'first' });
    const child = spawn(exe, ['sync', '--json', ...sshFlags(sshd, state), local, targetOf(sshd, remote)], {
      env: { PATH: binDir, HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const events: Record<string, unknown>[] = [];
    let stderr = '';
    onLines(child.stdout, (line) => events.push(JSON.parse(line) as Record<string, unknown>));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await eventually(
        () => events.some((e) => e.event === 'state' && e.state === 'idle' && e.inSync === true),
        30_000,
        () => `no idle, in-sync state; stderr: ${stderr}; events: ${JSON.stringify(events.slice(-5))}`,
      );
      writeTree(local, { 'b/new.txt': 'written while watching' });
      await waitForSameTree(local, remote);
      assert.equal(readFileSync(join(remote, 'b/new.txt'), 'utf8'), 'written while watching');
    } finally {
      child.kill('SIGTERM');
    }
    const hung = setTimeout(() => child.kill('SIGKILL'), 20_000); // fails the assertion below
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
    clearTimeout(hung);
    assertNodeNeverRan();
  });
});
