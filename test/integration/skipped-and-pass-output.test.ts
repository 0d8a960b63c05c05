/**
 * Against a real sshd: sockets and FIFOs in a folder are skipped and said once, not failed
 * (`--once` exits 0), and a path that becomes a regular file syncs; watch mode's human output
 * is a line per pass that changed something, nothing with `--quiet`, a line per file with
 * `--verbose`; `--json` has a `pass` event. No timings are asserted. (readTree lists regular
 * files, directories and links only, so the specials drop out of local trees by themselves.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import {
  diffTrees,
  eventually,
  readTree,
  runFerry,
  sshFlags,
  startFerry,
  targetOf,
  writeTree,
  type FerryProcess,
} from '../harness/trees.ts';

const harness = sshdForFile();
const scope = harness.scope;

/** A folder with regular files, a FIFO `pipe` and a listening socket `dev.sock` in `run/`. */
async function folderWithSpecials(name: string) {
  const local = scope.dir(`${name}-local`);
  writeTree(local, { 'index.html': 'hello', 'run/keep.txt': 'kept' });
  execFileSync('mkfifo', [join(local, 'pipe')]);
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(join(local, 'run', 'dev.sock'), resolve));
  return {
    local,
    state: scope.dir(`${name}-state`),
    remote: join(harness.sshd.remoteRoot, name),
    closeSocket: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('--once skips a FIFO and a socket, says so once each, syncs the rest and exits 0', async () => {
  const f = await folderWithSpecials('specials-once');
  try {
    const once = () =>
      runFerry([
        'sync',
        '--once',
        '--json',
        ...sshFlags(harness.sshd, f.state),
        f.local,
        targetOf(harness.sshd, f.remote),
      ]);
    const r = await once();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    const skipped = r.events.filter((e) => e.event === 'skipped').map((e) => `${String(e.path)}: ${String(e.reason)}`);
    assert.deepEqual(skipped.sort(), ['pipe: a FIFO (named pipe)', 'run/dev.sock: a socket']);
    const last = r.events.findLast((e) => e.event === 'state') as { status: { failedItems: unknown[] } };
    assert.deepEqual(last.status.failedItems, [], 'skipped is not failed');
    const pass = r.events.find((e) => e.event === 'pass');
    assert.ok(pass, JSON.stringify(r.events));
    assert.equal(pass.full, true);
    assert.equal(pass.uploaded, 2);
    assert.equal(pass.bytes, 'hello'.length + 'kept'.length);
    assert.equal(pass.skipped, 2);
    assert.equal(typeof pass.durationMs, 'number');

    // The FIFO becomes a regular file: the next run syncs it like any other.
    rmSync(join(f.local, 'pipe'));
    writeFileSync(join(f.local, 'pipe'), 'a regular file now');
    const again = await once();
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
    assert.ok(existsSync(join(f.remote, 'pipe')));
    assert.deepEqual(
      again.events.filter((e) => e.event === 'skipped').map((e) => e.path),
      ['run/dev.sock'],
    );
  } finally {
    await f.closeSocket();
  }
});

/** Waits until `ferry`'s stderr holds a line matching `re`. */
async function waitForLine(ferry: FerryProcess, re: RegExp, what: string): Promise<void> {
  await eventually(
    () =>
      ferry
        .stderr()
        .split('\n')
        .some((l) => re.test(l)),
    30_000,
    () => `no ${what} line; stderr:\n${ferry.stderr()}`,
  );
}

function watchHuman(f: { local: string; state: string; remote: string }, ...extra: string[]): FerryProcess {
  return startFerry(['sync', ...extra, ...sshFlags(harness.sshd, f.state), f.local, targetOf(harness.sshd, f.remote)]);
}

async function stop(ferry: FerryProcess): Promise<void> {
  ferry.child.kill('SIGTERM');
  assert.deepEqual(await ferry.exited, { code: 0, signal: null }, ferry.stderr());
}

test('watch mode: a summary line per pass that changed something, skipped files said once', async () => {
  const f = await folderWithSpecials('specials-watch');
  // A full pass every second: passes that change nothing must print nothing.
  const ferry = watchHuman(f, '--rescan-interval', '1');
  try {
    await waitForLine(ferry, /^In sync: /, 'In sync');
    writeFileSync(join(f.local, 'new.txt'), 'twelve bytes');
    await waitForLine(ferry, /^\u2191 1 file, 12 B, /, 'upload summary');
    rmSync(join(f.local, 'index.html'));
    await waitForLine(ferry, /^1 removed, /, 'removal summary');
    // The FIFO becomes a regular file while watching: it syncs.
    rmSync(join(f.local, 'pipe'));
    writeFileSync(join(f.local, 'pipe'), 'now a file');
    await waitForLine(ferry, /^\u2191 1 file, 10 B, /, 'former FIFO summary');
    assert.ok(existsSync(join(f.remote, 'pipe')));
    await stop(ferry);
    const lines = ferry.stderr().split('\n').filter(Boolean);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('Skipping')),
      ['Skipping non-regular file: pipe (a FIFO (named pipe))', 'Skipping non-regular file: run/dev.sock (a socket)'],
      'each skipped path said once, however many passes ran',
    );
    assert.equal(lines.filter((l) => l.startsWith('In sync')).length, 1, 'In sync is said once, not after every pass');
    const summaries = lines.filter((l) => /^(\u2191|\d+ removed)/.test(l));
    assert.equal(
      summaries.length,
      4,
      `initial sync, upload, removal, the former FIFO; no line for passes that changed nothing:\n${lines.join('\n')}`,
    );
    assert.match(summaries[0]!, /^\u2191 2 files, 9 B, /, 'the initial sync');
    assert.match(summaries[3]!, /^\u2191 1 file, 10 B, /, 'the former FIFO');
  } finally {
    await f.closeSocket();
  }
});

test('--quiet prints nothing for successful passes; --verbose prints each file', async () => {
  const q = {
    local: scope.dir('quiet-local'),
    state: scope.dir('quiet-state'),
    remote: join(harness.sshd.remoteRoot, 'quiet'),
  };
  writeTree(q.local, { 'a.txt': 'a' });
  const quiet = watchHuman(q, '--quiet');
  await eventually(
    () => existsSync(join(q.remote, 'a.txt')),
    30_000,
    () => quiet.stderr(),
  );
  writeFileSync(join(q.local, 'b.txt'), 'b');
  await eventually(
    () => existsSync(join(q.remote, 'b.txt')),
    30_000,
    () => quiet.stderr(),
  );
  await stop(quiet);
  assert.equal(quiet.stderr(), '', 'nothing but errors and halts');

  const v = {
    local: scope.dir('verbose-local'),
    state: scope.dir('verbose-state'),
    remote: join(harness.sshd.remoteRoot, 'verbose'),
  };
  writeTree(v.local, { 'a.txt': 'a' });
  const verbose = watchHuman(v, '--verbose');
  await waitForLine(verbose, /^In sync: /, 'In sync');
  writeFileSync(join(v.local, 'b.txt'), 'b');
  await waitForLine(verbose, /^upload b\.txt$/, 'per-file');
  await waitForLine(verbose, /^\u2191 1 file, 1 B, /, 'summary');
  await stop(verbose);
  assert.ok(verbose.stderr().split('\n').includes('upload a.txt'), verbose.stderr());
});
