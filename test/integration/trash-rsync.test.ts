/**
 * `--trash` on the rsync path, against the real sshd: with `--transport rsync` (rsync alone,
 * its `--backup-dir` is the trash stamp) and `--transport auto` (rsync carries the upload,
 * SFTP settles its backup directory into the trash), an overwritten and a deleted file each
 * land in `.ferry-trash/<stamp>/<path>`, and a server edit made after the scan still becomes
 * a logged conflict copy, not trash.
 *
 * The server edit is made by an `rsync` first on ferry's PATH that edits the server file
 * (the sshd's remote root is on this machine) right before handing over to the real rsync,
 * on the first run that backs entries up: after the scan and the plan, before the run that
 * replaces the file.
 *
 * Before the fix, both transports deleted the matching backups: the trash stayed empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();
const REAL_RSYNC = execFileSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).trim();

/**
 * A directory holding an `rsync` that, while `sentinel` exists, writes the sentinel's
 * `{ path, content, mtimeSec }` into that server file on the first run with `--backup-dir`
 * (and removes the sentinel), then runs the real rsync.
 */
function editingRsync(dir: string, sentinel: string): string {
  const script = `#!${process.execPath}
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
const sentinel = ${JSON.stringify(sentinel)};
if (args.some((a) => a.startsWith('--backup-dir=')) && fs.existsSync(sentinel)) {
  const edit = JSON.parse(fs.readFileSync(sentinel, 'utf8'));
  fs.rmSync(sentinel);
  fs.writeFileSync(edit.path, edit.content); // the same inode: its owner stays the server's user
  fs.utimesSync(edit.path, edit.mtimeSec, edit.mtimeSec);
}
const r = spawnSync(${JSON.stringify(REAL_RSYNC)}, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
`;
  writeFileSync(join(dir, 'rsync'), script);
  chmodSync(join(dir, 'rsync'), 0o755);
  return dir;
}

function folder(name: string, transport: 'rsync' | 'auto') {
  const local = fx.scope.dir(`${name}-local`);
  const state = fx.scope.dir(`${name}-state`);
  const bin = fx.scope.dir(`${name}-bin`);
  const sentinel = join(fx.scope.dir(`${name}-edit`), 'edit.json');
  editingRsync(bin, sentinel);
  const remote = join(fx.sshd.remoteRoot, name);
  // auto: every modified file goes through rsync's delta transfer (removals stay on SFTP).
  const route = transport === 'auto' ? ['--delta-threshold', '1'] : [];
  const once = () =>
    runFerry(
      [
        'sync',
        '--once',
        '--json',
        '--trash',
        '--transport',
        transport,
        ...route,
        ...sshFlags(fx.sshd, state),
        local,
        targetOf(fx.sshd, remote),
      ],
      { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } },
    );
  /** The next run that backs entries up finds `rel` on the server edited to `content`. */
  const editDuringRun = (rel: string, content: string) =>
    writeFileSync(sentinel, JSON.stringify({ path: join(remote, rel), content, mtimeSec: 1_700_000_500 }));
  return { local, remote, once, editDuringRun, edited: () => !existsSync(sentinel) };
}

/** The files below the trash, by stamp-relative path, with their content. */
function trashFiles(remote: string): Map<string, string> {
  const out = new Map<string, string>();
  const trash = join(remote, '.ferry-trash');
  if (!existsSync(trash)) return out;
  for (const stamp of readdirSync(trash)) {
    assert.match(stamp, /^\d{8}-\d{6}$/);
    for (const [p, e] of readTree(join(trash, stamp)))
      if (e.kind === 'file') out.set(p, readFileSync(join(trash, stamp, p), 'utf8'));
  }
  return out;
}

for (const transport of ['rsync', 'auto'] as const) {
  test(`--transport ${transport}: an overwritten and a deleted file land in the trash`, async () => {
    const f = folder(`trash-${transport}-basic`, transport);
    writeTree(f.local, { 'a.txt': 'a v1', 'b.txt': 'b v1', 'keep.txt': 'k' });
    const first = await f.once();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    writeFileSync(join(f.local, 'a.txt'), 'a v2, longer');
    rmSync(join(f.local, 'b.txt'));
    const r = await f.once();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(f.remote, 'a.txt'), 'utf8'), 'a v2, longer');
    assert.equal(existsSync(join(f.remote, 'b.txt')), false);
    assert.deepEqual(
      trashFiles(f.remote),
      new Map([
        ['a.txt', 'a v1'],
        ['b.txt', 'b v1'],
      ]),
    );
    assert.deepEqual(
      readdirSync(f.remote).sort(),
      ['.ferry-trash', 'a.txt', 'keep.txt'],
      'no backup directory left over',
    );
    const again = await f.once();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(existsSync(join(f.local, '.ferry-trash')), false, 'the trash is never synced back');
  });

  test(`--transport ${transport}: a server edit after the scan becomes a logged conflict copy, not trash`, async () => {
    const f = folder(`trash-${transport}-edit`, transport);
    writeTree(f.local, { 'doc.txt': 'v1', 'old.txt': 'o' });
    const first = await f.once();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    writeFileSync(join(f.local, 'doc.txt'), 'v2 local');
    utimesSync(join(f.local, 'doc.txt'), 1_700_000_900, 1_700_000_900);
    rmSync(join(f.local, 'old.txt'));
    f.editDuringRun('doc.txt', 'edited on the server after the scan');
    const r = await f.once();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(f.edited(), 'the server edit was made during the run');
    assert.equal(readFileSync(join(f.remote, 'doc.txt'), 'utf8'), 'v2 local');
    const copies = readdirSync(f.remote).filter((n) => /^doc\.ferry-conflict-\d{8}-\d{6}(-\d+)?\.txt$/.test(n));
    assert.equal(copies.length, 1, readdirSync(f.remote).join(', '));
    assert.equal(readFileSync(join(f.remote, copies[0] as string), 'utf8'), 'edited on the server after the scan');
    const conflicts = r.events.filter((e) => e.event === 'conflict');
    assert.equal(conflicts.length, 1, r.stdout);
    assert.equal(conflicts[0]?.path, 'doc.txt');
    assert.equal(conflicts[0]?.conflictCopyPath, copies[0]);
    // What the plan expected (old.txt, deleted) is trash; the edit is not.
    assert.deepEqual(trashFiles(f.remote), new Map([['old.txt', 'o']]));
    assert.deepEqual(readdirSync(f.remote).sort(), ['.ferry-trash', copies[0], 'doc.txt'].sort());
  });
}
