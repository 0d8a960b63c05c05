/**
 * `kill -9` of a watch-mode `ferry sync` in the middle of a burst: the server never shows a
 * half-written file under a final name (uploads land through temp names and a rename), and
 * the next `ferry sync --once` finishes the job and clears the leftover temp files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import {
  diffTrees,
  ferryTempFiles,
  readTree,
  runFerry,
  sshFlags,
  startFerry,
  targetOf,
  tempDir,
  type FerryProcess,
} from '../harness/trees.ts';

const MiB = 1024 * 1024;
const SMALL = 500;
const BIG = 2;
const BIG_SIZE = 20 * MiB;

let sshd: TestSshd;
let local: string;
let staging: string;
let state: string;
let ferry: FerryProcess | undefined;

before(async () => {
  sshd = await startSshd();
  local = tempDir('crash-local');
  state = tempDir('crash-state');
  // Same file system as `local`, so moving a finished file in is one atomic rename.
  staging = tempDir('crash-staging');
});

after(async () => {
  if (ferry && ferry.child.exitCode === null && ferry.child.signalCode === null) {
    ferry.child.kill('SIGKILL');
    await ferry.exited;
  }
  await sshd?.dispose();
  for (const d of [local, state, staging]) if (d) rmSync(d, { recursive: true, force: true });
});

/** Polls `check` every few milliseconds (a burst over loopback is quick). */
async function pollFast(check: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met in time. ${describe()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return lstatSync(path).size;
  } catch {
    return undefined; // renamed or removed while we looked
  }
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * Regular files on the server (temp names aside) whose content differs from the local file
 * of the same relative path. Files missing on either side are fine here: only a wrong or
 * partial file under a final name is a failure.
 */
function serverFilesDifferingFromLocal(remote: string): string[] {
  const bad: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(remote, rel) : remote)) {
      if (name.startsWith('.ferry-tmp-')) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(remote, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) {
        let localSha: string;
        try {
          localSha = sha(join(local, r));
        } catch {
          continue; // not a local file
        }
        if (sha(join(remote, r)) !== localSha) bad.push(`${r} (server ${st.size} bytes)`);
      }
    }
  };
  walk('');
  return bad;
}

test('kill -9 mid-burst leaves no partial file under a final name; --once then completes and cleans up', async () => {
  const remote = join(sshd.remoteRoot, 'crash');
  writeFileSync(join(local, 'seed.txt'), 'synced before the burst');
  ferry = startFerry([
    'sync',
    '--json',
    '--transport',
    'sftp',
    ...sshFlags(sshd, state),
    local,
    targetOf(sshd, remote),
  ]);
  await ferry.waitFor(
    (e) => e.event === 'state' && e.state === 'idle' && e.inSync === true,
    30_000,
    'the first idle/in-sync state',
  );

  // Build the burst outside the folder, then move each piece in whole: Ferry only ever sees
  // finished local files, so any server file that differs from its local twin is Ferry's doing.
  for (let i = 0; i < BIG; i++) writeFileSync(join(staging, `big${i}.bin`), randomBytes(BIG_SIZE));
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(staging, 'many', `d${d}`), { recursive: true });
    for (let i = d; i < SMALL; i += 10)
      writeFileSync(join(staging, 'many', `d${d}`, `f${i}.txt`), `small file ${i}\n`.repeat(1 + (i % 50)));
  }
  renameSync(join(staging, 'many'), join(local, 'many'));
  for (let i = 0; i < BIG; i++) renameSync(join(staging, `big${i}.bin`), join(local, `big${i}.bin`));

  // Upload outcomes are reported per batch, so watch the server instead: kill once a big
  // file is partly written (by a correct Ferry, under a temp name).
  let partial = '';
  await pollFast(
    () => {
      for (const n of readdirSync(remote)) {
        const size = sizeOf(join(remote, n));
        if (size !== undefined && size >= MiB && size < BIG_SIZE) partial = `${n} (${size} bytes)`;
      }
      return partial !== '';
    },
    30_000,
    () => `no big file was seen in flight; events: ${JSON.stringify(ferry?.events.slice(-3))}`,
  );
  ferry.child.kill('SIGKILL');
  const exit = await ferry.exited;
  assert.equal(exit.signal, 'SIGKILL');

  assert.deepEqual(
    serverFilesDifferingFromLocal(remote),
    [],
    'every file under a final name on the server is complete',
  );

  const r = await runFerry([
    'sync',
    '--once',
    '--json',
    '--transport',
    'sftp',
    ...sshFlags(sshd, state),
    local,
    targetOf(sshd, remote),
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(diffTrees(readTree(local), readTree(remote)), []);
  assert.deepEqual(ferryTempFiles(remote), []);
  assert.deepEqual(
    r.events.filter((e) => e.event === 'conflict'),
    [],
    'files the killed run already placed are adopted, not treated as conflicts',
  );
  const uploads = r.events.filter((e) => e.event === 'file' && e.op === 'upload').map((e) => String(e.path));
  assert.ok(
    uploads.some((p) => p.startsWith('big')),
    `the run after the kill finished the interrupted big upload (${partial} was in flight)`,
  );
});
