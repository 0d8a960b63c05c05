/**
 * Which uploads of a `--transport auto` pass go through rsync, end to end against the real
 * sshd: a bulky pass (at least `--bulk-threshold` uploads, or `--bulk-bytes` over at least
 * 16 files) sends every file in one rsync run; a mixed pass sends the files of at least
 * `--delta-threshold` bytes through rsync and the rest over SFTP. The thresholds are lowered
 * with their flags so the passes stay small.
 *
 * The route is seen, not inferred from the final tree (which SFTP alone would produce as
 * well): an `rsync` wrapper first on the PATH records each run's arguments and the names it
 * reads on stdin (`--files-from=-`), then runs the real rsync on them. Upload runs are the
 * ones with `--ignore-times` (rsync-upload.ts); listings carry `--dry-run`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

interface RsyncRun {
  argv: string;
  /** The relative names rsync read on stdin, without the `./`. */
  files: string[];
}

/** A PATH directory whose `rsync` records every run in `log` and then runs the real rsync. */
function rsyncRecorder(): { path: string; runs: () => RsyncRun[] } {
  const binDir = fx.scope.dir('rsync-recorder');
  const log = join(binDir, 'runs');
  const real = ['/usr/bin/rsync', '/bin/rsync', '/usr/local/bin/rsync'].find((p) => existsSync(p));
  assert.ok(real, 'rsync is installed');
  // $$ is the shell's pid, which exec hands on to rsync: unique among the runs alive at once.
  writeFileSync(
    join(binDir, 'rsync'),
    [
      '#!/bin/sh',
      `mkdir -p '${log}'`,
      `printf '%s\\n' "$*" > '${log}'/$$.argv`,
      `cat > '${log}'/$$.files`,
      `exec '${real}' "$@" < '${log}'/$$.files`,
      '',
    ].join('\n'),
  );
  chmodSync(join(binDir, 'rsync'), 0o755);
  return {
    path: `${binDir}:${process.env.PATH ?? ''}`,
    runs: () =>
      existsSync(log)
        ? readdirSync(log)
            .filter((n) => n.endsWith('.argv'))
            .map((n) => ({
              argv: readFileSync(join(log, n), 'utf8').trim(),
              files: readFileSync(join(log, n.replace(/\.argv$/, '.files')), 'latin1')
                .split('\0')
                .filter((f) => f !== '')
                .map((f) => f.replace(/^\.\//, '')),
            }))
        : [],
  };
}

const uploadRuns = (runs: RsyncRun[]) => runs.filter((r) => /(^| )--ignore-times( |$)/.test(r.argv));

function folder(name: string) {
  const local = fx.scope.dir(`${name}-local`);
  const state = fx.scope.dir(`${name}-state`);
  const remote = join(fx.sshd.remoteRoot, name);
  const rsync = rsyncRecorder();
  const once = async (...flags: string[]) => {
    const r = await runFerry(
      ['sync', '--once', '--json', ...sshFlags(fx.sshd, state), ...flags, local, targetOf(fx.sshd, remote)],
      { env: { PATH: rsync.path } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
    return r;
  };
  return { local, remote, rsync, once };
}

/** The paths of the pass's successful uploads, sorted. */
const uploaded = (events: Record<string, unknown>[]) =>
  events
    .filter((e) => e.event === 'file' && e.op === 'upload' && e.ok === true)
    .map((e) => String(e.path))
    .sort();

function smallFiles(n: number, dir: string, size = 100): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (let i = 0; i < n; i++) out[`${dir}/f${String(i).padStart(3, '0')}.txt`] = randomBytes(size);
  return out;
}

test('--bulk-threshold 20: a pass of 30 uploads sends them all in one rsync run; 19 uploads go over SFTP', async () => {
  const f = folder('bulk-count');
  const files = smallFiles(30, 'many');
  writeTree(f.local, files);
  const first = await f.once('--bulk-threshold', '20');
  const paths = Object.keys(files).sort();
  assert.deepEqual(uploaded(first.events), paths);
  const runs = uploadRuns(f.rsync.runs());
  assert.equal(runs.length, 1, `one rsync upload run: ${JSON.stringify(runs)}`);
  assert.deepEqual(runs[0]?.files.slice().sort(), paths);

  // Below the threshold the same kind of pass stays on SFTP: no rsync upload run at all.
  const fewer = smallFiles(19, 'fewer');
  writeTree(f.local, fewer);
  const second = await f.once('--bulk-threshold', '20');
  assert.deepEqual(uploaded(second.events), Object.keys(fewer).sort());
  assert.equal(uploadRuns(f.rsync.runs()).length, 1, "still the first pass's run only");
});

test('--bulk-bytes: 20 files adding up to the limit go in one rsync run; 15 of them (under 16 files) do not', async () => {
  const f = folder('bulk-bytes');
  const files = smallFiles(20, 'heavy', 1000);
  writeTree(f.local, files);
  const first = await f.once('--bulk-bytes', String(20 * 1000));
  const paths = Object.keys(files).sort();
  assert.deepEqual(uploaded(first.events), paths);
  const runs = uploadRuns(f.rsync.runs());
  assert.equal(runs.length, 1, `one rsync upload run: ${JSON.stringify(runs)}`);
  assert.deepEqual(runs[0]?.files.slice().sort(), paths);

  // Fifteen files over the byte limit are no bulk: one big pass needs at least 16 files.
  const few = smallFiles(15, 'few', 3000);
  writeTree(f.local, few);
  const second = await f.once('--bulk-bytes', String(20 * 1000));
  assert.deepEqual(uploaded(second.events), Object.keys(few).sort());
  assert.equal(uploadRuns(f.rsync.runs()).length, 1, "still the first pass's run only");
});

test('--delta-threshold: one pass sends the large files through rsync and the small ones over SFTP', async () => {
  const f = folder('mixed');
  const big = { 'big/one.bin': randomBytes(300_000), 'big/two.bin': randomBytes(200_000) };
  const small = { 'a.txt': 'a', 'd/b.txt': 'b', 'd/c.txt': randomBytes(50_000) };
  writeTree(f.local, { ...big, ...small });
  const threshold = ['--delta-threshold', String(100_000)];
  const first = await f.once(...threshold);
  assert.deepEqual(uploaded(first.events), [...Object.keys(big), ...Object.keys(small)].sort());
  const runs = uploadRuns(f.rsync.runs());
  assert.deepEqual(
    runs.map((r) => r.files.slice().sort()),
    [Object.keys(big).sort()],
    'one rsync run, with the large files only',
  );

  // A modified large file (rsync's delta) and an edited small file in the same pass.
  const fd = openSync(join(f.local, 'big/one.bin'), 'r+');
  writeSync(fd, randomBytes(4096), 0, 4096, 100_000);
  closeSync(fd);
  writeFileSync(join(f.local, 'd/b.txt'), 'b, edited');
  const second = await f.once(...threshold);
  assert.deepEqual(uploaded(second.events), ['big/one.bin', 'd/b.txt']);
  assert.deepEqual(
    uploadRuns(f.rsync.runs())
      .map((r) => r.files.slice().sort().join(' '))
      .sort(),
    [Object.keys(big).sort().join(' '), 'big/one.bin'].sort(),
    'the second pass ran rsync for the large file only',
  );
});
