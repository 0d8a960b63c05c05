/**
 * `ferry service install|uninstall` (the unit checked by systemd-analyze where it exists) and
 * `ferry daemon` reloading its config on SIGHUP: added folders start, removed ones stop,
 * changed ones restart, a broken config is refused and the running set kept. Off a terminal
 * the daemon's stderr has one line per event and no progress redraws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { FERRY_BIN, eventually, runFerry, targetOf, waitForSameTree, writeTree } from '../harness/trees.ts';
import { onLines } from '../harness/lines.ts';

const harness = sshdForFile();
const scope = harness.scope;

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test('ferry service install writes a unit that runs ferry daemon; uninstall removes it', async (t) => {
  const dir = scope.dir('unit');
  const config = join(dir, 'ferry.json');
  writeFileSync(config, JSON.stringify({ folders: [{ local: dir, target: 'h:/x' }] }));
  const r = await runFerry(['service', 'install', '--config', config, '--unit-dir', join(dir, 'units')]);
  assert.equal(r.code, 0, r.stderr);
  const unit = join(dir, 'units', 'ferry.service');
  assert.match(r.stdout, new RegExp(`Wrote ${unit}`));
  assert.match(r.stdout, /systemctl daemon-reload\n {2}systemctl enable --now ferry\.service/);
  const text = readFileSync(unit, 'utf8');
  assert.match(text, new RegExp(`^ExecStart=\\S+ \\S+ferry\\S* daemon --config ${config}$`, 'm'));
  assert.match(text, /^Restart=on-failure$/m);
  assert.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(text, /^WantedBy=multi-user\.target$/m);

  const user = await runFerry(['service', 'install', '--user', '--config', config], {
    env: { FERRY_SYSTEMD_UNIT_DIR: join(dir, 'user-units') },
  });
  assert.equal(user.code, 0, user.stderr);
  assert.match(readFileSync(join(dir, 'user-units', 'ferry.service'), 'utf8'), /^WantedBy=default\.target$/m);
  assert.match(user.stdout, /systemctl --user enable --now ferry\.service/);

  await t.test(
    'systemd-analyze verify accepts the unit',
    { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed' },
    () => {
      const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.doesNotMatch(v.stderr, /ferry\.service/, v.stderr);
    },
  );

  writeFileSync(config, JSON.stringify({ folders: [{ local: dir }] }));
  const bad = await runFerry(['service', 'install', '--config', config, '--unit-dir', join(dir, 'bad')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /folders\[0\]\.target/);
  assert.equal(existsSync(join(dir, 'bad', 'ferry.service')), false);

  const un = await runFerry(['service', 'uninstall', '--unit-dir', join(dir, 'units')]);
  assert.equal(un.code, 0, un.stderr);
  assert.match(un.stdout, /Removed .*ferry\.service/);
  assert.equal(existsSync(unit), false);
});

test('SIGHUP reloads the daemon config; a broken config is refused and the running set kept', async () => {
  const state = scope.dir('hup-state');
  const [a, b] = ['hup-a', 'hup-b'].map((n) => scope.dir(n)) as [string, string];
  writeTree(a, { 'a.txt': 'a' });
  writeTree(b, { 'b.txt': 'b', 'b.log': 'ignored later' });
  const folder = (local: string, name: string, extra: object = {}) => ({
    local,
    target: targetOf(harness.sshd, join(harness.sshd.remoteRoot, name)),
    identity: harness.sshd.clientKeyPath,
    knownHosts: harness.sshd.knownHostsPath,
    ...extra,
  });
  const config = join(state, 'ferry.json');
  const write = (folders: object[]) =>
    writeFileSync(config, JSON.stringify({ stateDir: state, sshConfig: '/dev/null', folders }));
  write([folder(a, 'hup-a')]);

  // Human output on a pipe, as under systemd: stderr is not a terminal.
  const child = spawn(process.execPath, [FERRY_BIN, 'daemon', '--config', config], {
    env: { ...process.env, SSH_AUTH_SOCK: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let raw = '';
  child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
  onLines(child.stderr, (l) => lines.push(l));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const saw = (re: RegExp, what: string) =>
    eventually(
      () => lines.some((l) => re.test(l)),
      30_000,
      () => `${what}: ${lines.join('\n')}`,
    );
  const folders = async () => {
    const r = await runFerry(['status', '--json', '--state-dir', state]);
    const p = JSON.parse(r.stdout) as { processes?: { folders: { localRoot: string }[] }[] };
    return (p.processes ?? []).flatMap((x) => x.folders.map((f) => f.localRoot)).sort();
  };
  try {
    await saw(/In sync: .*hup-a/, 'first sync of a');
    await eventually(() => existsSync(join(state, 'control')));
    for (let i = 0; (await folders()).length !== 1; i++) {
      assert.ok(i < 100, 'the daemon answers on its control socket');
      await new Promise((r) => setTimeout(r, 100));
    }

    write([folder(a, 'hup-a'), folder(b, 'hup-b')]);
    child.kill('SIGHUP');
    await saw(/Config reloaded: 1 folder\(s\) started, 0 stopped, 0 restarted/, 'reload adding b');
    await waitForSameTree(b, join(harness.sshd.remoteRoot, 'hup-b'));
    assert.deepEqual(await folders(), [a, b].sort());

    writeFileSync(config, JSON.stringify({ stateDir: state, folders: [{ local: a }] }));
    child.kill('SIGHUP');
    await saw(/Reload refused; the 2 running folder\(s\) carry on unchanged\..*/, 'refused reload');
    assert.ok(
      lines.some((l) => /folders\[0\]\.target/.test(l)),
      `the refusal names the key: ${lines.join('\n')}`,
    );
    assert.deepEqual(await folders(), [a, b].sort());

    write([folder(b, 'hup-b', { ignore: ['*.log'] })]);
    child.kill('SIGHUP');
    await saw(/Config reloaded: 0 folder\(s\) started, 1 stopped, 1 restarted/, 'reload removing a, changing b');
    assert.deepEqual(await folders(), [b]);
    const why = await runFerry(['why', join(b, 'b.log'), '--state-dir', state]);
    assert.match(why.stdout, /ignored by the rule "\*\.log" from --ignore/, 'the restarted folder runs the new config');
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, raw);
  assert.doesNotMatch(raw, /[\r\x1b]/, 'no progress redraws off a terminal');
});
