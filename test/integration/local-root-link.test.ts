/**
 * A local folder given through a symbolic link (`./site -> /data/www`) against a real sshd:
 * it syncs once and while watching (the watcher works on the real directory), the config
 * keeps the path as given, and a link that breaks halts the folder with a message naming the
 * link's target, without touching the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, eventually, readTree, runFerry, sshFlags, targetOf, writeTree } from '../harness/trees.ts';

const harness = sshdForFile();
const scope = harness.scope;

/** A real folder holding `spec`, and a link to it in another directory. */
function linkedFolder(name: string, spec: Record<string, string | null>) {
  const real = join(scope.dir(`${name}-real`), 'www');
  writeTree(real, spec);
  const link = join(scope.dir(`${name}-link`), 'site');
  symlinkSync(real, link);
  return { real, link, state: scope.dir(`${name}-state`), remote: join(harness.sshd.remoteRoot, name) };
}

test('--once through a symlinked root syncs the folder it points to, and the status keeps the link', async () => {
  const f = linkedFolder('link-once', { 'index.html': '<h1>hi</h1>', 'css/site.css': 'body{}' });
  const r = await runFerry([
    'sync',
    '--once',
    '--json',
    ...sshFlags(harness.sshd, f.state),
    f.link,
    targetOf(harness.sshd, f.remote),
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(diffTrees(readTree(f.real), readTree(f.remote)), []);
  const synced = r.events.find((e) => e.event === 'state' && e.inSync === true) as { status: { localRoot: string } };
  assert.equal(synced.status.localRoot, f.link, 'the folder is shown as the user gave it');
});

test('watching through a symlinked root follows edits, and a broken link halts with its target named', async () => {
  const f = linkedFolder('link-watch', { 'a.txt': 'a' });
  const ferry = scope.watch([
    '--poll-interval',
    '1',
    ...sshFlags(harness.sshd, f.state),
    f.link,
    targetOf(harness.sshd, f.remote),
  ]);
  const first = (await ferry.waitFor((e) => e.event === 'state' && e.inSync === true, 30_000, 'first sync')) as {
    status: { watcher: string };
  };
  assert.equal(first.status.watcher, 'live', 'the watcher works on the real directory (no fallback to polling)');
  assert.equal(readFileSync(join(f.remote, 'a.txt'), 'utf8'), 'a');

  // An edit in the real directory is seen: the watcher watches it, not the link.
  writeFileSync(join(f.real, 'b.txt'), 'written in the real folder');
  await eventually(
    () => existsSync(join(f.remote, 'b.txt')),
    20_000,
    () => `b.txt never reached the server: ${ferry.stderr()}`,
  );

  // The link now points at nothing.
  renameSync(f.real, `${f.real}.moved-away`);
  const halted = (await ferry.waitFor((e) => e.event === 'state' && e.state === 'halted', 30_000, 'halted state')) as {
    status: { halt: { reason: string; message: string } };
  };
  assert.equal(halted.status.halt.reason, 'root-missing');
  assert.match(halted.status.halt.message, /is a symbolic link to .*www, which is missing/);
  assert.ok(existsSync(join(f.remote, 'a.txt')) && existsSync(join(f.remote, 'b.txt')), 'the server keeps everything');

  // Back where the link points: the halt clears by itself and syncing goes on.
  renameSync(`${f.real}.moved-away`, f.real);
  writeFileSync(join(f.real, 'c.txt'), 'after the halt');
  await eventually(
    () => existsSync(join(f.remote, 'c.txt')),
    30_000,
    () => `c.txt never reached the server: ${ferry.stderr()}`,
  );
  await scope.stop(ferry);
});

test('a link to nothing given as the folder is refused, naming the link target', async () => {
  const link = join(scope.dir('link-broken'), 'site');
  symlinkSync('/nonexistent/ferry-www', link);
  const r = await runFerry([
    'sync',
    '--once',
    ...sshFlags(harness.sshd, scope.dir('link-broken-state')),
    link,
    targetOf(harness.sshd, join(harness.sshd.remoteRoot, 'link-broken')),
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is a symbolic link to \/nonexistent\/ferry-www, which is missing or not a folder/);
});
