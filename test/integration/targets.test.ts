/**
 * Several targets per folder, commands after sync and canary rollout, against real OpenSSH
 * servers (two of them where a server is stopped): one local scan feeds every target, a
 * stopped server never holds the other back and catches up once it is back, commands after
 * sync get hostile names exactly on standard input and never in a shell, a command that
 * runs too long is ended, and a failing canary holds the other targets (`--once` exits 5).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellCanaries } from '../harness/shell-canary.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, readTree, runFerry, startFerry, targetOf, tempDir, writeTree } from '../harness/trees.ts';

let a: TestSshd;
let b: TestSshd;
let knownHosts: string;
before(async () => {
  a = await startSshd();
  b = await startSshd();
  const dir = tempDir('targets-kh');
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, readFileSync(a.knownHostsPath, 'utf8') + readFileSync(b.knownHostsPath, 'utf8'));
});
after(async () => {
  await a?.dispose();
  await b?.dispose();
});

/** Flags for both servers: both keys, one known_hosts pinning both. */
function flags(state: string): string[] {
  return ['-i', a.clientKeyPath, '-i', b.clientKeyPath, '--known-hosts', knownHosts, '--state-dir', state];
}

function fixture(name: string) {
  const local = tempDir(`${name}-local`);
  const state = tempDir(`${name}-state`);
  return { local, state, cleanup: () => [local, state].forEach((d) => rmSync(d, { recursive: true, force: true })) };
}

const same = (x: string, y: string) => assert.deepEqual(diffTrees(readTree(x), readTree(y)), []);

describe('several targets', () => {
  test('three targets converge from one local scan, each with its own state directory', async () => {
    const f = fixture('fan');
    writeTree(f.local, { 'index.html': 'hi', 'css/site.css': 'body{}', 'img/logo.svg': '<svg/>' });
    const remotes = ['fan1', 'fan2', 'fan3'].map((d) => join(a.remoteRoot, d));
    const run = await runFerry([
      'sync',
      '--once',
      '--json',
      ...flags(f.state),
      f.local,
      ...remotes.map((r) => targetOf(a, r)),
    ]);
    assert.equal(run.code, 0, run.stderr);
    for (const r of remotes) same(f.local, r);
    const passes = run.events.filter((e) => e.event === 'pass');
    assert.deepEqual(
      passes.map((e) => String(e.target).replace(/^.*:\d+/, '')).sort(),
      remotes,
      'one pass per target, each named',
    );
    assert.ok(
      passes.every((e) => e.localScans === 1),
      `one local scan for all: ${JSON.stringify(passes)}`,
    );
    assert.equal(readTree(join(f.state, 'folders')).size >= 3 + 3, true, 'one state directory per target');
    f.cleanup();
  });

  test('a stopped server does not hold the other back, and catches up once it is back', async () => {
    const f = fixture('down');
    writeTree(f.local, { 'a.txt': 'A' });
    const ra = join(a.remoteRoot, 'down-a');
    const rb = join(b.remoteRoot, 'down-b');
    const ferry = startFerry(['sync', '--json', ...flags(f.state), f.local, targetOf(a, ra), targetOf(b, rb)]);
    try {
      const synced = (remote: string) => (e: Record<string, unknown>) =>
        e.event === 'state' && e.inSync === true && String(e.target).endsWith(remote);
      await ferry.waitFor(synced(ra), 30_000, 'a in sync');
      await ferry.waitFor(synced(rb), 30_000, 'b in sync');
      await b.stop();
      const before = ferry.events.length;
      writeFileSync(join(f.local, 'b.txt'), 'B');
      await ferry.waitFor(
        (e) =>
          ferry.events.indexOf(e) >= before &&
          e.event === 'file' &&
          e.path === 'b.txt' &&
          String(e.target).endsWith(ra),
        30_000,
        'b.txt on a while b is down',
      );
      assert.equal(existsSync(join(rb, 'b.txt')), false);
      await ferry.waitFor(
        (e) =>
          ferry.events.indexOf(e) >= before &&
          e.event === 'state' &&
          e.state === 'error' &&
          String(e.target).endsWith(rb),
        30_000,
        'b in error',
      );
      await b.start();
      await ferry.waitFor((e) => ferry.events.indexOf(e) >= before && synced(rb)(e), 60_000, 'b caught up');
      same(f.local, rb);
      same(f.local, ra);
    } finally {
      ferry.child.kill('SIGTERM');
      await ferry.exited;
      f.cleanup();
    }
  });
});

describe('commands after sync', () => {
  test('get hostile names exactly on standard input, NUL-terminated, and none reaches a shell', async () => {
    const f = fixture('hooks');
    const canaries = shellCanaries('hooks');
    const names = [...canaries.names, 'new\nline.txt', ' lead space', 'ünï €.txt'];
    writeTree(f.local, Object.fromEntries(names.map((n) => [n, n])));
    const out = tempDir('hooks-out');
    const remoteOut = join(a.remoteRoot, 'hooks-out');
    mkdirSync(remoteOut, { recursive: true });
    a.own(remoteOut);
    const remote = join(a.remoteRoot, "dep'loy $(x) dir");
    const run = await runFerry([
      'sync',
      '--once',
      '--json',
      ...flags(f.state),
      '--after-sync',
      `cat > ${out}/stdin; pwd > ${out}/pwd; env | grep ^FERRY_ | sort > ${out}/env`,
      '--remote-after-sync',
      `cat > ${remoteOut}/stdin; pwd > ${remoteOut}/pwd; echo "$FERRY_CHANGED" > ${remoteOut}/count`,
      f.local,
      targetOf(a, remote),
    ]);
    assert.equal(run.code, 0, run.stderr);
    const expected = [...names].sort();
    const listed = (file: string) => {
      const raw = readFileSync(file, 'utf8');
      assert.ok(raw.endsWith('\0'), 'every path is NUL-terminated');
      return raw.slice(0, -1).split('\0').sort();
    };
    assert.deepEqual(listed(join(out, 'stdin')), expected);
    assert.deepEqual(listed(join(remoteOut, 'stdin')), expected);
    assert.equal(readFileSync(join(out, 'pwd'), 'utf8').trim(), f.local);
    assert.equal(readFileSync(join(remoteOut, 'pwd'), 'utf8').trim(), remote);
    assert.equal(readFileSync(join(remoteOut, 'count'), 'utf8').trim(), String(names.length));
    const env = readFileSync(join(out, 'env'), 'utf8');
    assert.match(env, new RegExp(`^FERRY_CHANGED=${names.length}$`, 'm'));
    assert.match(env, /^FERRY_REMOTE_PATH=.*dep'loy \$\(x\) dir$/m);
    const hooks = run.events.filter((e) => e.event === 'hook');
    assert.deepEqual(
      hooks.map((h) => [h.where, h.ok, h.exitCode]),
      [
        ['local', true, 0],
        ['remote', true, 0],
      ],
    );
    assert.deepEqual(canaries.found(), [], 'no name reached a shell');
    // Nothing changed: the commands do not run again.
    const again = await runFerry([
      'sync',
      '--once',
      '--json',
      ...flags(f.state),
      '--after-sync',
      'exit 9',
      f.local,
      targetOf(a, remote),
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.events.filter((e) => e.event === 'hook').length, 0);
    rmSync(out, { recursive: true, force: true });
    f.cleanup();
  });

  test('a command that runs too long is ended, and the sync stands (exit 6)', async () => {
    const f = fixture('timeout');
    writeTree(f.local, { 'a.txt': 'A' });
    const remote = join(a.remoteRoot, 'timeout');
    const run = await runFerry([
      'sync',
      '--once',
      '--json',
      ...flags(f.state),
      '--hook-timeout',
      '1',
      '--remote-after-sync',
      'echo started; sleep 60',
      f.local,
      targetOf(a, remote),
    ]);
    assert.equal(run.code, 6, run.stderr);
    same(f.local, remote);
    const hook = run.events.find((e) => e.event === 'hook');
    assert.equal(hook?.timedOut, true);
    assert.equal(hook?.ok, false);
    assert.deepEqual(hook?.output, ['started']);
    f.cleanup();
  });
});

describe('canary rollout', () => {
  test('a failing canary holds the other target (exit 5); once healthy, the next run releases it', async () => {
    const f = fixture('canary');
    writeTree(f.local, { 'app.js': 'v1' });
    const canary = join(a.remoteRoot, 'canary-1');
    const web = join(b.remoteRoot, 'canary-web');
    const healthy = join(a.remoteRoot, 'canary-healthy');
    const once = () =>
      runFerry([
        'sync',
        '--once',
        '--json',
        '--canary',
        ...flags(f.state),
        '--remote-after-sync',
        `test -e ${healthy} || { echo "health check failed"; exit 1; }`,
        f.local,
        targetOf(a, canary),
        targetOf(b, web),
      ]);
    const held = await once();
    assert.equal(held.code, 5, held.stderr);
    same(f.local, canary);
    assert.equal(existsSync(web), false, 'the other target got nothing');
    const state = held.events.find((e) => e.event === 'state' && e.state === 'held');
    assert.deepEqual((state?.status as { held?: { output?: string[] } }).held?.output, ['health check failed']);

    writeFileSync(join(f.local, 'app.js'), 'v2');
    writeFileSync(healthy, '');
    a.own(healthy);
    const released = await once();
    assert.equal(released.code, 0, released.stderr);
    same(f.local, canary);
    same(f.local, web);
    f.cleanup();
  });
});
